#include "engine/engine_config.h"

#include <algorithm>

#include "model/kv_cache.h"
#include "model/model.h"

namespace pagoda {

const char kKvCacheDtypeHelp[] =
    "KV cache element type: auto (default: float16, or float32 when the model's matrices are "
    "float32), float16 (fp16, half: half the memory and the bytes attention reads, K/V rounded "
    "to nearest-even) or float32 (fp32: exact)";

StatusOr<KvCacheDtype> ParseKvCacheDtype(std::string_view name) {
  if (name == "auto") return KvCacheDtype::kAuto;
  if (name == "float16" || name == "fp16" || name == "half") return KvCacheDtype::kFloat16;
  if (name == "float32" || name == "fp32") return KvCacheDtype::kFloat32;
  const std::string what = "--kv-cache-dtype '" + std::string(name) + "' is not supported";
  const std::string supported = "use auto, float16 (fp16, half) or float32 (fp32)";
  if (name.substr(0, 3) == "fp8") {
    return InvalidArgument(what + ": pagoda has no fp8 KV cache on CPU; " + supported);
  }
  return InvalidArgument(what + "; " + supported);
}

namespace {

// auto: float16, unless the model is float32 through and through.
DType AutoKvCacheDtype(const Model& m) {
  for (const LayerWeights& l : m.weights().layers) {
    for (const WeightMatrix* w : {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj,
                                  &l.up_proj, &l.down_proj}) {
      if (w->dtype != DType::kF32) return DType::kF16;
    }
  }
  return DType::kF32;
}

}  // namespace

Status EngineConfig::Resolve(const Model& m) {
  const ModelConfig& mc = m.config();
  if (cache.block_size <= 0 || cache.block_size > 1024) {
    return InvalidArgument("--block-size must be in [1, 1024]");
  }
  if (model.max_model_len <= 0) model.max_model_len = mc.max_position_embeddings;
  if (model.max_model_len <= 1) return InvalidArgument("--max-model-len must be at least 2");
  switch (cache.cache_dtype) {
    case KvCacheDtype::kAuto: cache.kv_cache_dtype = AutoKvCacheDtype(m); break;
    case KvCacheDtype::kFloat16: cache.kv_cache_dtype = DType::kF16; break;
    case KvCacheDtype::kFloat32: cache.kv_cache_dtype = DType::kF32; break;
  }
  if (cache.num_kv_blocks <= 0) {
    const size_t per_block = KvCache::BytesPerBlock(mc.num_layers, cache.block_size, mc.num_kv_heads,
                                                    mc.head_dim, cache.kv_cache_dtype);
    cache.num_kv_blocks = std::max<int64_t>(2, cache.kv_cache_memory_bytes / static_cast<int64_t>(per_block));
  }
  const int64_t blocks_per_seq = (model.max_model_len + cache.block_size - 1) / cache.block_size;
  // Block 0 is the scheduler's reserved null block, hence the + 1.
  if (cache.num_kv_blocks < blocks_per_seq + 1) {
    // Not an error for short requests, but one full-length request must fit.
    return InvalidArgument("the KV cache holds " + std::to_string(cache.num_kv_blocks - 1) +
                           " blocks of " + std::to_string(cache.block_size) +
                           " tokens, fewer than one sequence of --max-model-len " +
                           std::to_string(model.max_model_len) +
                           " needs; raise the KV cache size or lower --max-model-len");
  }
  scheduler.max_model_len = static_cast<int>(model.max_model_len);
  if (scheduler.max_num_seqs <= 0) return InvalidArgument("--max-num-seqs must be positive");
  if (scheduler.max_num_batched_tokens <= 0) {
    return InvalidArgument("--max-num-batched-tokens must be positive");
  }
  if (!scheduler.enable_chunked_prefill &&
      scheduler.max_num_batched_tokens < scheduler.max_model_len) {
    // Without chunking a whole prompt must fit one step, as vLLM requires.
    scheduler.max_num_batched_tokens = scheduler.max_model_len;
  }
  return Status::Ok();
}

}  // namespace pagoda
