// EngineConfig: every option of an engine instance, grouped as vLLM groups
// them, validated once (Resolve) and then passed around as const&.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "sched/scheduler.h"
#include "tensor/dtype.h"

namespace pagoda {

class Model;

struct ModelOptions {
  std::string model;         // GGUF file or Hugging Face folder
  std::string tokenizer;     // defaults to `model`
  int threads = 0;           // <= 0: all cores
  int64_t max_model_len = 0; // 0: the model's own context length
};

// --kv-cache-dtype, vLLM's flag. kAuto: float16 unless every layer matrix of
// the model is float32 (then float32, so a float32 model's results stay
// those of float32 arithmetic throughout).
enum class KvCacheDtype { kAuto, kFloat16, kFloat32 };

// Reads a --kv-cache-dtype value: auto; float16, fp16 or half; float32 or
// fp32. Anything else (vLLM's fp8 values included) is InvalidArgument with
// a one-line message naming the supported values.
StatusOr<KvCacheDtype> ParseKvCacheDtype(std::string_view name);

// The help text the commands show for --kv-cache-dtype.
extern const char kKvCacheDtypeHelp[];

struct CacheOptions {
  int block_size = 16;
  KvCacheDtype cache_dtype = KvCacheDtype::kAuto;
  // What the cache stores, kF16 or kF32: set by Resolve() from cache_dtype
  // and the model.
  DType kv_cache_dtype = DType::kF16;
  int64_t num_kv_blocks = 0;           // 0: derived from kv_cache_memory_bytes
  int64_t kv_cache_memory_bytes = int64_t{1} << 30;
  bool enable_prefix_caching = true;
};

struct EngineConfig {
  ModelOptions model;
  CacheOptions cache;
  SchedulerConfig scheduler;
  // Fills the derived values (max_model_len, kv_cache_dtype, num_kv_blocks,
  // scheduler limits) from the loaded model and checks they are consistent.
  Status Resolve(const Model& model);
};

}  // namespace pagoda
