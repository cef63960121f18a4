// AVX2/FMA/F16C attention tile (compiled with -mavx2 -mfma -mf16c),
// arithmetic as fixed in attention.h, and the float16 cache write.
//
// One body serves both cache element types: a float16 cache's rows are read
// in place, eight halves at a time, and widened in registers (vcvtph2ps,
// exact) where a float32 cache's rows are loaded, so everything after the
// load is the same code.
//
// Scores: eight positions at a time, one lane per position, so each lane
// carries its position's fma chain over d and no horizontal sums are needed.
// The cache keeps K transposed per block ([head_dim][block_size] for one kv
// head, positions fastest; kernels/ops.h), so for blocks that are whole
// multiples of 8 positions, the eight keys' element d is one load straight
// from the cache. Several groups of eight run side by side so the
// accumulators' fma chains overlap (decode has only 1-2 queries per tile).
// Other block sizes gather each group's keys into a [head_dim][8] copy first.
// Output: per position, e_p * V row accumulated into registers that hold a
// slice of head_dim for every query of the tile, so each V row is loaded
// once per tile.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/check.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/exp_avx2.h"

namespace pagoda::avx2 {

namespace {

#define PAGODA_AUNROLL _Pragma("GCC unroll 16")

constexpr int kMaxHeadDim = 512;

// Prefetches the cache lines of n elements at p, into L1 (kHint =
// _MM_HINT_T0) or L2 (_MM_HINT_T1).
template <int kHint = _MM_HINT_T0, class T>
inline void Prefetch(const T* p, int n) {
  const char* c = reinterpret_cast<const char*>(p);
  const int bytes = n * static_cast<int>(sizeof(T));
  for (int i = 0; i < bytes; i += 64) _mm_prefetch(c + i, static_cast<_mm_hint>(kHint));
}

// Eight cached elements as floats.
inline __m256 Load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 Load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Scores of all N queries for G groups of eight consecutive positions:
// lane j of group g has key element d at k[g][d * stride + j] (in place in
// the cache with stride = block_size, or a gathered copy with stride 8), and
// its score for query i goes to scores[i * scores_stride + p0[g] + j].
template <int N, int G, class T>
void ScoreGroups(const cpu::AttentionTile<T>& t, const T* const* k, int64_t stride,
                 const int* p0) {
  __m256 acc[N][G];
  PAGODA_AUNROLL
  for (int i = 0; i < N; ++i) {
    PAGODA_AUNROLL
    for (int g = 0; g < G; ++g) acc[i][g] = _mm256_setzero_ps();
  }
  for (int d = 0; d < t.head_dim; ++d) {
    __m256 kv[G];
    PAGODA_AUNROLL
    for (int g = 0; g < G; ++g) kv[g] = Load8(k[g] + d * stride);
    PAGODA_AUNROLL
    for (int i = 0; i < N; ++i) {
      const __m256 q = _mm256_set1_ps(t.q[i][d]);
      PAGODA_AUNROLL
      for (int g = 0; g < G; ++g) acc[i][g] = _mm256_fmadd_ps(q, kv[g], acc[i][g]);
    }
  }
  const __m256 scale = _mm256_set1_ps(t.scale);
  PAGODA_AUNROLL
  for (int i = 0; i < N; ++i) {
    PAGODA_AUNROLL
    for (int g = 0; g < G; ++g) {
      _mm256_storeu_ps(t.scores + i * t.scores_stride + p0[g], _mm256_mul_ps(acc[i][g], scale));
    }
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
  auto step = [&](int p, const T* v, bool masked) {
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
  // Block by block: a block's V rows are head_dim apart, so the block
  // table is read once per block, not (with a division) once per position.
  // Each block fetches the next one's rows of this slice into L1 (the score
  // pass brought them to L2).
  const int bs = t.block_size, hd = t.head_dim;
  for (int b = 0, p = 0; p <= t.max_pos; ++b) {
    const int end = std::min(t.max_pos, p + bs - 1);
    if (end < t.max_pos) {
      const T* next = t.VBlock(b + 1) + d0;
      const int rows = std::min(bs, t.max_pos - end);
      for (int o = 0; o < rows; ++o) Prefetch(next + static_cast<int64_t>(o) * hd, 8 * W);
    }
    const T* v = t.VBlock(b) + d0;
    for (; p <= end; ++p, v += hd) {
      if (p <= t.min_pos) {
        step(p, v, false);
      } else {
        step(p, v, true);
      }
    }
  }
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
  const int bs = t.block_size;
  // Groups of eight positions scored together: N * G accumulators and G
  // key vectors stay within 16 registers.
  constexpr int G = N <= 2 ? 4 : (N <= 4 ? 2 : 1);
  // A group of eight lies inside one block when blocks are multiples of 8;
  // lanes past max_pos then read the rest of that (allocated) block, and
  // the softmax below overwrites their scores with -inf before any use.
  const bool in_place = bs % 8 == 0;
  const int64_t stride = in_place ? bs : 8;
  thread_local std::vector<T> gathered;  // G copies of [head_dim][8]
  if (!in_place && gathered.size() < static_cast<size_t>(G * hd * 8)) gathered.resize(G * hd * 8);
  // The next group's keys: in place (the groups walk the blocks in steps
  // of 8, with no division per group), or gathered into copy g with lanes
  // past max_pos repeating the last valid position.
  int block = 0, offset = 0;  // of the next group's first position
  auto keys = [&](int p0, int g) -> const T* {
    if (in_place) {
      const T* k = t.KBlock(block) + offset;
      if ((offset += 8) == bs) {
        offset = 0;
        ++block;
      }
      return k;
    }
    T* dst = gathered.data() + static_cast<size_t>(g) * hd * 8;
    const int last = std::min(7, t.max_pos - p0);
    for (int j = 0; j < 8; ++j) {
      const int p = p0 + std::min(j, last);
      const T* src = t.KBlock(p / bs) + p % bs;
      for (int d = 0; d < hd; ++d) dst[d * 8 + j] = src[static_cast<int64_t>(d) * bs];
    }
    return dst;
  };
  // One kv head's K (and V) of a block is head_dim * block_size contiguous
  // elements, but consecutive blocks are anywhere, which the hardware
  // prefetchers do not foresee: fetch whole K blocks into L1
  // kPrefetchAhead positions ahead of the groups being scored, and the
  // same blocks' V into L2 for the output pass, which is then fed from L2
  // rather than memory (a decode's cache mostly comes from memory).
  constexpr int kPrefetchAhead = 128;
  const int last_block = t.max_pos / bs;
  int next_prefetch = 0;  // first block not yet prefetched
  auto prefetch_to = [&](int p) {
    for (const int end = std::min(last_block, p / bs); next_prefetch <= end; ++next_prefetch) {
      Prefetch(t.KBlock(next_prefetch), hd * bs);
      Prefetch<_MM_HINT_T1>(t.VBlock(next_prefetch), hd * bs);
    }
  };
  const int num_groups = t.max_pos / 8 + 1;
  for (int g0 = 0; g0 < num_groups; g0 += G) {
    prefetch_to(8 * (g0 + G) + kPrefetchAhead);
    const T* k[G];
    int p0[G];
    const int n = std::min(G, num_groups - g0);
    for (int g = 0; g < n; ++g) {
      p0[g] = 8 * (g0 + g);
      k[g] = keys(p0[g], g);
    }
    if (n == G) {
      ScoreGroups<N, G, T>(t, k, stride, p0);
    } else {
      for (int g = 0; g < n; ++g) ScoreGroups<N, 1, T>(t, k + g, stride, p0 + g);
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
  // Weighted sum of V, 8 * W dims at a time: N * W accumulators. For 1-3
  // queries (decode) they, the W row vectors and the weight fit the 16
  // registers; 4-8 queries (prefill) measured fastest at W = 2.
  constexpr int W = N == 1 ? 8 : (N <= 3 ? 4 : 2);
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
