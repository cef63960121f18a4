// PagedAttention with an explicit instruction set, for tests and benchmarks.
// Reentrant: thread-safe.
#pragma once

#include "kernels/cpu/isa.h"
#include "kernels/ops.h"

namespace pagoda::cpu {

void PagedAttentionOn(Isa isa, const float* q, const float* k_cache, const float* v_cache,
                      const AttentionMetadata& meta, int num_heads, int num_kv_heads,
                      int head_dim, float scale, float* out, ThreadPool* pool);

}  // namespace pagoda::cpu
