#include "engine/engine_config.h"

#include <algorithm>

#include "model/kv_cache.h"
#include "model/model.h"

namespace pagoda {

Status EngineConfig::Resolve(const Model& m) {
  const ModelConfig& mc = m.config();
  if (cache.block_size <= 0 || cache.block_size > 1024) {
    return InvalidArgument("--block-size must be in [1, 1024]");
  }
  if (model.max_model_len <= 0) model.max_model_len = mc.max_position_embeddings;
  if (model.max_model_len <= 1) return InvalidArgument("--max-model-len must be at least 2");
  if (cache.num_kv_blocks <= 0) {
    const size_t per_block =
        KvCache::BytesPerBlock(mc.num_layers, cache.block_size, mc.num_kv_heads, mc.head_dim);
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
