// PagedAttention internals: the op with an explicit instruction set, the
// per-ISA kernel for one tile of queries, and the KV cache write. Every
// function is a template on the cache element type T: float (a float32
// cache) or uint16_t (a float16 cache, IEEE half bits), with one kernel body
// for both. Reentrant: thread-safe.
//
// The arithmetic of one query row (position `pos`, head h, its kv head's
// keys k_p and values v_p read in place from the paged cache, each element
// widened exactly to float when T is uint16_t) is fixed:
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

#include "base/fp16.h"
#include "kernels/cpu/isa.h"
#include "kernels/ops.h"

namespace pagoda::cpu {

// A cached element as float: exact for both element types.
inline float KvToFloat(float x) { return x; }
inline float KvToFloat(uint16_t h) { return Fp16ToF32(h); }

// T = float or uint16_t (explicitly instantiated in attention.cc).
template <class T>
void PagedAttentionOn(Isa isa, const float* q, const T* k_cache, const T* v_cache,
                      const AttentionMetadata& meta, int num_heads, int num_kv_heads,
                      int head_dim, float scale, float* out, ThreadPool* pool);

// WriteKvCache (kernels/ops.h) on a chosen path: float32 values are
// copied, float16 values rounded by F16C (kAvx2) or base/fp16.h
// (kPortable), which give the same bits.
template <class T>
void WriteKvCacheOn(Isa isa, const float* k, const float* v, const int64_t* slot_mapping,
                    int64_t num_tokens, int num_kv_heads, int head_dim, int block_size,
                    T* k_cache, T* v_cache);

// Up to kMaxTileQueries query rows that read the same kv head of one
// sequence: a few consecutive tokens times the heads of one GQA group. They
// share every K/V load.
constexpr int kMaxTileQueries = 8;

template <class T>
struct AttentionTile {
  int num_queries = 0;
  const float* q[kMaxTileQueries];
  float* out[kMaxTileQueries];
  int pos[kMaxTileQueries];  // each query attends to positions 0 .. pos
  int max_pos = 0;           // max of pos
  int min_pos = 0;           // min of pos
  // The cache layout of kernels/ops.h: this kv head's part of block b is
  // head_dim * block_size contiguous elements in each cache, at
  // block_table[b] * block_elems + head_block_off; K holds it transposed
  // (KBlock(b)[d * block_size + o], positions fastest), V as rows
  // (V(p)[d]).
  const T* k_cache = nullptr;
  const T* v_cache = nullptr;
  const int32_t* block_table = nullptr;
  int block_size = 16;
  int64_t block_elems = 0;     // num_kv_heads * head_dim * block_size
  int64_t head_block_off = 0;  // kv_head * head_dim * block_size
  int head_dim = 0;
  float scale = 1.0f;
  // Scratch for num_queries rows of scores, scores_stride >= max_pos + 9
  // (room to pad each row to a multiple of 8).
  float* scores = nullptr;
  int64_t scores_stride = 0;

  int64_t BlockOff(int b) const {
    return static_cast<int64_t>(block_table[b]) * block_elems + head_block_off;
  }
  const T* KBlock(int b) const { return k_cache + BlockOff(b); }
  const T* VBlock(int b) const { return v_cache + BlockOff(b); }
  const T* V(int p) const {
    return VBlock(p / block_size) + static_cast<int64_t>(p % block_size) * head_dim;
  }
};

template <class T>
void AttendTilePortable(const AttentionTile<T>& tile);

}  // namespace pagoda::cpu

namespace pagoda::avx2 {

// Same contract (attention_avx2.cc); head_dim must be a multiple of 8, any
// block_size works (multiples of 8 read K in place, others gather it).
void AttendTile(const cpu::AttentionTile<float>& tile);
void AttendTile(const cpu::AttentionTile<uint16_t>& tile);

// dst[i] = F32ToFp16(src[i]) for n elements, with vcvtps2ph (round to
// nearest-even): bit-identical to the scalar conversion.
void RoundToFp16(const float* src, uint16_t* dst, int64_t n);

}  // namespace pagoda::avx2
