// AVX2 MatMul for the K-quant super-blocks (Q4_K, Q5_K, Q6_K), which GGUF
// files use for the output and embedding matrices — often the largest
// matrix of a small model. Each 8-element chunk is dequantized in registers
// with the same two roundings as DequantizeRow (sub-block scale first, then
// scale * q - min), so results match the reference up to summation order,
// and the tiles of tile_avx2.h keep the products batch invariant.
#include <immintrin.h>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/quant.h"
#include "kernels/cpu/tile_avx2.h"

namespace pagoda::avx2 {

namespace {

using cpu::BlockQ4K;
using cpu::BlockQ5K;
using cpu::BlockQ6K;
using tile::Columns;
using tile::HalfToFloat;

// Sub-block j's 6-bit scale and min of a Q4_K / Q5_K block (see quant_k.cc).
inline void ScaleMin(int j, const uint8_t* q, int* scale, int* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// 8 bytes -> 8 floats of nibble `hi` (0 low, 1 high).
inline __m256i Nibbles(const uint8_t* p, int hi) {
  __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  q = _mm_srl_epi16(q, _mm_cvtsi32_si128(4 * hi));
  return _mm256_cvtepu8_epi32(_mm_and_si128(q, _mm_set1_epi8(0x0f)));
}

struct KState {
  const uint8_t* block;
  float scale[16];  // per sub-block: d * sc
  float min[16];    // per sub-block: dmin * m (Q4_K / Q5_K)
};

// Chunk sub (0..31) = elements [8 sub, 8 sub + 8): group g = sub / 8 uses
// qs[32 g ..], nibble (sub / 4) % 2, bytes 8 (sub % 4) ..; sub-block sub / 4.
struct Q4KFormat {
  static constexpr int kBlock = kQK_K;
  static constexpr size_t kBlockBytes = sizeof(BlockQ4K);
  using State = KState;
  static State Prepare(const uint8_t* bytes) {
    const auto* b = reinterpret_cast<const BlockQ4K*>(bytes);
    State s;
    s.block = bytes;
    const float d = HalfToFloat(b->d), dmin = HalfToFloat(b->dmin);
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      ScaleMin(j, b->scales, &sc, &m);
      s.scale[j] = d * static_cast<float>(sc);
      s.min[j] = dmin * static_cast<float>(m);
    }
    return s;
  }
  static __m256 Chunk(const State& s, int sub) {
    const auto* b = reinterpret_cast<const BlockQ4K*>(s.block);
    const __m256i q = Nibbles(b->qs + 32 * (sub / 8) + 8 * (sub % 4), (sub / 4) % 2);
    const int j = sub / 4;
    return _mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps(s.scale[j]), _mm256_cvtepi32_ps(q)),
                         _mm256_set1_ps(s.min[j]));
  }
  static float Scalar(const uint8_t*, int64_t) { return 0.0f; }
};

// Q4_K plus a fifth bit: bit (sub / 4) of qh[8 (sub % 4) ..] adds 16.
struct Q5KFormat {
  static constexpr int kBlock = kQK_K;
  static constexpr size_t kBlockBytes = sizeof(BlockQ5K);
  using State = KState;
  static State Prepare(const uint8_t* bytes) {
    const auto* b = reinterpret_cast<const BlockQ5K*>(bytes);
    State s;
    s.block = bytes;
    const float d = HalfToFloat(b->d), dmin = HalfToFloat(b->dmin);
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      ScaleMin(j, b->scales, &sc, &m);
      s.scale[j] = d * static_cast<float>(sc);
      s.min[j] = dmin * static_cast<float>(m);
    }
    return s;
  }
  static __m256 Chunk(const State& s, int sub) {
    const auto* b = reinterpret_cast<const BlockQ5K*>(s.block);
    const int j = sub / 4, l0 = 8 * (sub % 4);
    const __m256i lo = Nibbles(b->qs + 32 * (sub / 8) + l0, j % 2);
    const __m256i h = _mm256_cvtepu8_epi32(
        _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b->qh + l0)));
    const __m256i bit = _mm256_and_si256(_mm256_srl_epi32(h, _mm_cvtsi32_si128(j)),
                                         _mm256_set1_epi32(1));
    const __m256i q = _mm256_or_si256(lo, _mm256_slli_epi32(bit, 4));
    return _mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps(s.scale[j]), _mm256_cvtepi32_ps(q)),
                         _mm256_set1_ps(s.min[j]));
  }
  static float Scalar(const uint8_t*, int64_t) { return 0.0f; }
};

// Chunk sub: half h = sub / 16, group i = (sub / 4) % 4, l0 = 8 (sub % 4);
// low nibble i / 2 of ql[64 h + l0 + 32 (i % 2) ..], bits 2i of
// qh[32 h + l0 ..], value (q - 32) * (d * scales[sub / 2]).
struct Q6KFormat {
  static constexpr int kBlock = kQK_K;
  static constexpr size_t kBlockBytes = sizeof(BlockQ6K);
  using State = KState;
  static State Prepare(const uint8_t* bytes) {
    const auto* b = reinterpret_cast<const BlockQ6K*>(bytes);
    State s;
    s.block = bytes;
    const float d = HalfToFloat(b->d);
    for (int j = 0; j < 16; ++j) s.scale[j] = d * static_cast<float>(b->scales[j]);
    return s;
  }
  static __m256 Chunk(const State& s, int sub) {
    const auto* b = reinterpret_cast<const BlockQ6K*>(s.block);
    const int h = sub / 16, i = (sub / 4) % 4, l0 = 8 * (sub % 4);
    const __m256i lo = Nibbles(b->ql + 64 * h + l0 + 32 * (i % 2), i / 2);
    const __m256i qh = _mm256_cvtepu8_epi32(
        _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b->qh + 32 * h + l0)));
    const __m256i hi = _mm256_and_si256(_mm256_srl_epi32(qh, _mm_cvtsi32_si128(2 * i)),
                                        _mm256_set1_epi32(3));
    const __m256i q = _mm256_sub_epi32(_mm256_or_si256(lo, _mm256_slli_epi32(hi, 4)),
                                       _mm256_set1_epi32(32));
    return _mm256_mul_ps(_mm256_set1_ps(s.scale[sub / 2]), _mm256_cvtepi32_ps(q));
  }
  static float Scalar(const uint8_t*, int64_t) { return 0.0f; }
};

template <class Fmt>
void Direct(const WeightMatrix& w, const float* x, int64_t num_rows, float* y, int64_t n_begin,
            int64_t n_end) {
  auto row_at = [&](int64_t n) { return w.data + n * w.row_bytes; };
  // Decoding a K-quant chunk costs more than the FMAs it feeds: from 8 rows
  // of x up, decode each row once into scratch instead (same bits).
  if (num_rows >= 8) {
    tile::ColumnsViaScratch<Fmt>(row_at, x, num_rows, w.cols, y, w.rows, n_begin, n_end);
  } else {
    Columns<Fmt>(row_at, x, num_rows, w.cols, y, w.rows, n_begin, n_end);
  }
}

}  // namespace

bool MatMulRangeKQuant(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                       int64_t n_begin, int64_t n_end) {
  switch (w.dtype) {
    case DType::kQ4_K: Direct<Q4KFormat>(w, x, num_rows, y, n_begin, n_end); return true;
    case DType::kQ5_K: Direct<Q5KFormat>(w, x, num_rows, y, n_begin, n_end); return true;
    case DType::kQ6_K: Direct<Q6KFormat>(w, x, num_rows, y, n_begin, n_end); return true;
    default: return false;
  }
}

}  // namespace pagoda::avx2
