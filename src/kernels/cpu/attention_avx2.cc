// AVX2/FMA/F16C attention tile (compiled with -mavx2 -mfma -mf16c),
// arithmetic as fixed in attention.h, and the float16 cache write.
//
// One body serves both cache element types: a float16 cache's rows are read
// in place, eight halves at a time, and widened in registers (vcvtph2ps,
// exact) where a float32 cache's rows are loaded, so everything after the
// load is the same code.
//
// Scores: eight positions at a time. Their K rows are transposed once into
// [head_dim][8] so each lane carries one position's fma chain over d, and
// every query of the tile reuses the transposed block: no horizontal sums.
// Output: per position, e_p * V row accumulated into registers that hold a
// slice of head_dim for every query of the tile, so each V row is loaded
// once per tile.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/exp_avx2.h"

namespace pagoda::avx2 {

namespace {

#define PAGODA_AUNROLL _Pragma("GCC unroll 16")

constexpr int kMaxHeadDim = 512;

// Prefetches the cache lines of n elements at p.
template <class T>
inline void Prefetch(const T* p, int n) {
  const char* c = reinterpret_cast<const char*>(p);
  const int bytes = n * static_cast<int>(sizeof(T));
  for (int i = 0; i < bytes; i += 64) _mm_prefetch(c + i, _MM_HINT_T0);
}

// Eight cached elements as floats.
inline __m256 Load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 Load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline void Transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// Scores of queries [i0, i0 + I) for the 8 positions whose transposed K is
// kt: lane j of query i is s_{p0 + j}.
template <int I, class T>
void ScoreBlock(const cpu::AttentionTile<T>& t, const float* kt, int i0, int p0) {
  __m256 acc[I];
  PAGODA_AUNROLL
  for (int i = 0; i < I; ++i) acc[i] = _mm256_setzero_ps();
  for (int d = 0; d < t.head_dim; ++d) {
    const __m256 k = _mm256_load_ps(kt + 8 * d);
    PAGODA_AUNROLL
    for (int i = 0; i < I; ++i) acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(t.q[i0 + i][d]), k, acc[i]);
  }
  const __m256 scale = _mm256_set1_ps(t.scale);
  PAGODA_AUNROLL
  for (int i = 0; i < I; ++i) {
    _mm256_storeu_ps(t.scores + (i0 + i) * t.scores_stride + p0, _mm256_mul_ps(acc[i], scale));
  }
}

// Output slice [d0, d0 + 8W) of all N queries.
template <int N, int W, class T>
void OutputSlice(const cpu::AttentionTile<T>& t, int d0, const float* inv) {
  __m256 acc[N][W];
  PAGODA_AUNROLL
  for (int i = 0; i < N; ++i) {
    PAGODA_AUNROLL
    for (int w = 0; w < W; ++w) acc[i][w] = _mm256_setzero_ps();
  }
  auto step = [&](int p, bool masked) {
    const T* v = t.V(p) + d0;
    if (p + 8 <= t.max_pos) Prefetch(t.V(p + 8) + d0, 8 * W);
    __m256 vv[W];
    PAGODA_AUNROLL
    for (int w = 0; w < W; ++w) vv[w] = Load8(v + 8 * w);
    PAGODA_AUNROLL
    for (int i = 0; i < N; ++i) {
      if (masked && p > t.pos[i]) continue;
      const __m256 e = _mm256_set1_ps(t.scores[i * t.scores_stride + p]);
      PAGODA_AUNROLL
      for (int w = 0; w < W; ++w) acc[i][w] = _mm256_fmadd_ps(e, vv[w], acc[i][w]);
    }
  };
  for (int p = 0; p <= t.min_pos; ++p) step(p, false);
  for (int p = t.min_pos + 1; p <= t.max_pos; ++p) step(p, true);
  PAGODA_AUNROLL
  for (int i = 0; i < N; ++i) {
    const __m256 s = _mm256_set1_ps(inv[i]);
    PAGODA_AUNROLL
    for (int w = 0; w < W; ++w) _mm256_storeu_ps(t.out[i] + d0 + 8 * w, _mm256_mul_ps(acc[i][w], s));
  }
}

template <int N, class T>
void Attend(const cpu::AttentionTile<T>& t) {
  const int hd = t.head_dim;
  alignas(32) float kt[kMaxHeadDim * 8];
  // Scores, eight positions at a time. Lanes past the end of the context
  // (or past a query's own position) use a repeated valid row; nothing
  // reads those scores.
  for (int p0 = 0; p0 <= t.max_pos; p0 += 8) {
    const int last = std::min(7, t.max_pos - p0);
    const T* rows[8];
    for (int j = 0; j < 8; ++j) rows[j] = t.K(p0 + std::min(j, last));
    // A kv head's rows are 128-256 bytes out of every slot's K row (all heads):
    // a strided walk the hardware prefetcher follows poorly. Fetch the
    // block after next ahead.
    if (p0 + 16 <= t.max_pos) {
      for (int j = 0; j < 8; ++j) Prefetch(t.K(p0 + 16 + j), hd);
    }
    for (int d0 = 0; d0 < hd; d0 += 8) {
      __m256 r[8];
      PAGODA_AUNROLL
      for (int j = 0; j < 8; ++j) r[j] = Load8(rows[j] + d0);
      Transpose8(r);
      PAGODA_AUNROLL
      for (int j = 0; j < 8; ++j) _mm256_store_ps(kt + 8 * (d0 + j), r[j]);
    }
    if constexpr (N >= 4) {
      ScoreBlock<4, T>(t, kt, 0, p0);
      if constexpr (N == 8) ScoreBlock<4, T>(t, kt, 4, p0);
      if constexpr (N > 4 && N < 8) ScoreBlock<N - 4, T>(t, kt, 4, p0);
    } else {
      ScoreBlock<N, T>(t, kt, 0, p0);
    }
  }
  // Softmax weights, in place, eight positions at a time. Padding the row
  // to a multiple of 8 with -inf adds exact zeros to the lane sums.
  float inv[N];
  for (int i = 0; i < N; ++i) {
    float* s = t.scores + i * t.scores_stride;
    const int end = (t.pos[i] + 8) / 8 * 8;
    for (int p = t.pos[i] + 1; p < end; ++p) s[p] = -INFINITY;
    __m256 mv = _mm256_set1_ps(-INFINITY);
    for (int p = 0; p < end; p += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(s + p));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const __m256 m = _mm256_set1_ps(_mm_cvtss_f32(m4));
    __m256 lanes = _mm256_setzero_ps();
    for (int p = 0; p < end; p += 8) {
      const __m256 e = Exp(_mm256_sub_ps(_mm256_loadu_ps(s + p), m));
      _mm256_storeu_ps(s + p, e);
      lanes = _mm256_add_ps(lanes, e);
    }
    __m128 l4 = _mm_add_ps(_mm256_castps256_ps128(lanes), _mm256_extractf128_ps(lanes, 1));
    l4 = _mm_add_ps(l4, _mm_movehl_ps(l4, l4));
    l4 = _mm_add_ss(l4, _mm_movehdup_ps(l4));
    inv[i] = 1.0f / _mm_cvtss_f32(l4);
  }
  // Weighted sum of V: N * W accumulators stay within 16 registers.
  constexpr int W = N <= 2 ? 8 : (N <= 4 ? 4 : 2);
  int d0 = 0;
  for (; d0 + 8 * W <= hd; d0 += 8 * W) OutputSlice<N, W, T>(t, d0, inv);
  for (; d0 < hd; d0 += 8) OutputSlice<N, 1, T>(t, d0, inv);
}

template <class T>
void AttendAny(const cpu::AttentionTile<T>& t) {
  CHECK(t.head_dim % 8 == 0 && t.head_dim <= kMaxHeadDim) << "AttendTile: head_dim " << t.head_dim;
  switch (t.num_queries) {
    case 1: Attend<1, T>(t); return;
    case 2: Attend<2, T>(t); return;
    case 3: Attend<3, T>(t); return;
    case 4: Attend<4, T>(t); return;
    case 5: Attend<5, T>(t); return;
    case 6: Attend<6, T>(t); return;
    case 7: Attend<7, T>(t); return;
    case 8: Attend<8, T>(t); return;
    default: CHECK(false) << "AttendTile: " << t.num_queries << " queries";
  }
}

}  // namespace

void AttendTile(const cpu::AttentionTile<float>& t) { AttendAny(t); }
void AttendTile(const cpu::AttentionTile<uint16_t>& t) { AttendAny(t); }

void RoundToFp16(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
  for (; i < n; ++i) dst[i] = F32ToFp16(src[i]);  // the same rounding, scalar
}

}  // namespace pagoda::avx2
