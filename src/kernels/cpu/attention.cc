// Paged attention over the block-table KV cache, reading K/V in place (never
// gathering a copy). One task per (query token, head); each task runs a
// two-pass softmax in float: scores with the running max, then exp-weights
// and the weighted sum of V. A task's arithmetic depends only on its own
// sequence, so results are batch invariant.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/check.h"
#include "kernels/cpu/vec.h"

namespace pagoda::cpu {

namespace {

struct VecOps {
  float (*dot)(const float*, const float*, int64_t);
  void (*axpy)(float, const float*, float*, int64_t);
};

float* ScratchScores(int64_t n) {
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

}  // namespace

void PagedAttentionOn(Isa isa, const float* q, const float* k_cache, const float* v_cache,
                      const AttentionMetadata& meta, int num_heads, int num_kv_heads,
                      int head_dim, float scale, float* out, ThreadPool* pool) {
  CHECK_GT(num_kv_heads, 0);
  CHECK_EQ(num_heads % num_kv_heads, 0);
  if (meta.num_seqs <= 0) return;
  const VecOps ops = isa == Isa::kAvx2 ? VecOps{avx2::Dot, avx2::Axpy}
                                       : VecOps{DotPortable, AxpyPortable};
  const int group = num_heads / num_kv_heads;
  const int64_t kv_width = static_cast<int64_t>(num_kv_heads) * head_dim;
  const int64_t num_tokens = meta.query_start_loc[meta.num_seqs];

  // Which sequence each query token belongs to.
  std::vector<int32_t> seq_of(static_cast<size_t>(num_tokens));
  for (int s = 0; s < meta.num_seqs; ++s) {
    for (int32_t t = meta.query_start_loc[s]; t < meta.query_start_loc[s + 1]; ++t) seq_of[t] = s;
  }

  auto task = [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t t = idx / num_heads;
      const int h = static_cast<int>(idx % num_heads);
      const int s = seq_of[t];
      const int q_len = meta.query_start_loc[s + 1] - meta.query_start_loc[s];
      const int pos = meta.seq_lens[s] - q_len + static_cast<int>(t - meta.query_start_loc[s]);
      const int32_t* table = meta.block_tables + static_cast<int64_t>(s) * meta.max_blocks_per_seq;
      const int64_t head_off = static_cast<int64_t>(h / group) * head_dim;
      const float* qv = q + (t * num_heads + h) * head_dim;
      float* o = out + (t * num_heads + h) * head_dim;

      float* scores = ScratchScores(pos + 1);
      float max_score = -INFINITY;
      for (int p = 0; p <= pos; ++p) {
        const int64_t slot =
            static_cast<int64_t>(table[p / meta.block_size]) * meta.block_size + p % meta.block_size;
        scores[p] = ops.dot(qv, k_cache + slot * kv_width + head_off, head_dim) * scale;
        max_score = std::max(max_score, scores[p]);
      }
      for (int d = 0; d < head_dim; ++d) o[d] = 0.0f;
      float denom = 0.0f;
      for (int p = 0; p <= pos; ++p) {
        const float e = std::exp(scores[p] - max_score);
        denom += e;
        const int64_t slot =
            static_cast<int64_t>(table[p / meta.block_size]) * meta.block_size + p % meta.block_size;
        ops.axpy(e, v_cache + slot * kv_width + head_off, o, head_dim);
      }
      const float inv = 1.0f / denom;
      for (int d = 0; d < head_dim; ++d) o[d] *= inv;
    }
  };
  const int64_t num_tasks = num_tokens * num_heads;
  if (pool == nullptr) {
    task(0, num_tasks);
  } else {
    pool->ParallelFor(num_tasks, task, 1);
  }
}

}  // namespace pagoda::cpu
