// EngineConfig: every option of an engine instance, grouped as vLLM groups
// them, validated once (Resolve) and then passed around as const&.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "sched/scheduler.h"

namespace pagoda {

class Model;

struct ModelOptions {
  std::string model;         // GGUF file or Hugging Face folder
  std::string tokenizer;     // defaults to `model`
  int threads = 0;           // <= 0: all cores
  int64_t max_model_len = 0; // 0: the model's own context length
};

struct CacheOptions {
  int block_size = 16;
  int64_t num_kv_blocks = 0;           // 0: derived from kv_cache_memory_bytes
  int64_t kv_cache_memory_bytes = int64_t{1} << 30;
  bool enable_prefix_caching = true;
};

struct EngineConfig {
  ModelOptions model;
  CacheOptions cache;
  SchedulerConfig scheduler;
  // Fills the derived values (max_model_len, num_kv_blocks, scheduler
  // limits) from the loaded model and checks they are consistent.
  Status Resolve(const Model& model);
};

}  // namespace pagoda
