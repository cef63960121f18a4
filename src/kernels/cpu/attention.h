// PagedAttention internals: the op with an explicit instruction set, and the
// per-ISA kernel for one tile of queries. Reentrant: thread-safe.
//
// The arithmetic of one query row (position `pos`, head h, its kv head's
// K/V rows k_p, v_p read in place from the paged cache) is fixed:
//   s_p = (fma chain over d = 0 .. head_dim-1 of q[d] * k_p[d], from 0) * scale
//   m = max_p s_p;  e_p = Exp(s_p - m) (kernels/cpu/exp.h)
//   denom: eight lane sums a_l = sum of e_p over p = l mod 8 (in order of
//     p), then ((a_0 + a_4) + (a_2 + a_6)) + ((a_1 + a_5) + (a_3 + a_7))
//   o[d] = fma chain over p = 0 .. pos of e_p * v_p[d], from 0;  o[d] *= 1 / denom
// Every path computes exactly this, so they agree bit for bit, and a row's
// result never depends on which other rows share its tile: prefill chunks,
// whole prompts and single-token decodes give the same bits.
#pragma once

#include <cstdint>

#include "kernels/cpu/isa.h"
#include "kernels/ops.h"

namespace pagoda::cpu {

void PagedAttentionOn(Isa isa, const float* q, const float* k_cache, const float* v_cache,
                      const AttentionMetadata& meta, int num_heads, int num_kv_heads,
                      int head_dim, float scale, float* out, ThreadPool* pool);

// Up to kMaxTileQueries query rows that read the same kv head of one
// sequence: a few consecutive tokens times the heads of one GQA group. They
// share every K/V load.
constexpr int kMaxTileQueries = 8;

struct AttentionTile {
  int num_queries = 0;
  const float* q[kMaxTileQueries];
  float* out[kMaxTileQueries];
  int pos[kMaxTileQueries];  // each query attends to positions 0 .. pos
  int max_pos = 0;           // max of pos
  int min_pos = 0;           // min of pos
  // Row p of the kv head: k_cache + Slot(p) * kv_width + head_off.
  const float* k_cache = nullptr;
  const float* v_cache = nullptr;
  const int32_t* block_table = nullptr;
  int block_size = 16;
  int64_t kv_width = 0;
  int64_t head_off = 0;
  int head_dim = 0;
  float scale = 1.0f;
  // Scratch for num_queries rows of scores, scores_stride >= max_pos + 9
  // (room to pad each row to a multiple of 8).
  float* scores = nullptr;
  int64_t scores_stride = 0;

  const float* K(int p) const { return k_cache + Slot(p) * kv_width + head_off; }
  const float* V(int p) const { return v_cache + Slot(p) * kv_width + head_off; }
  int64_t Slot(int p) const {
    return static_cast<int64_t>(block_table[p / block_size]) * block_size + p % block_size;
  }
};

void AttendTilePortable(const AttentionTile& tile);

}  // namespace pagoda::cpu

namespace pagoda::avx2 {

// Same contract (attention_avx2.cc); head_dim must be a multiple of 8.
void AttendTile(const cpu::AttentionTile& tile);

}  // namespace pagoda::avx2
