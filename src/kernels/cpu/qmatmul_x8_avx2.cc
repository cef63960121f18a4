// AVX2 quantized-activation MatMul for Q4_0 and Q8_0 repacked by eight
// (WeightLayout::kQ4_0x8, kQ8_0x8, kernels/cpu/repack.h), compiled with
// -mavx2 -mfma -mf16c. Arithmetic as fixed in qmatmul.h: per weight row and
// block, the exact integer dot D_b, then acc = fma(float(D_b), d_w * d_x,
// acc) block by block. Each vector holds one quantity for the eight rows of
// a group, so a block of eight rows costs one 32-byte load per chunk (four
// for Q4_0 with their nibble unpacking, eight for Q8_0) and one vcvtph2ps,
// then per x row a few integer ops per chunk, one conversion and one fma;
// the result is stored as eight floats with no horizontal sum.
//
// Batch invariance: an x row's outputs never depend on which other x rows
// share its tile, or on the tile shape (the integers are exact, the float
// steps are the same per row). Pure functions: thread-safe.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "base/check.h"
#include "kernels/cpu/qmatmul.h"
#include "kernels/cpu/repack.h"

namespace pagoda::avx2 {

namespace {

#define PAGODA_X8_UNROLL _Pragma("GCC unroll 16")

constexpr int kRows = 8;  // weight rows per group, in both layouts
static_assert(cpu::kQ4_0x8Rows == kRows && cpu::kQ8_0x8Rows == kRows);

// The x rows a tile reads.
struct X8Rows {
  const int8_t* q[4];
  const float* d[4];
  const int32_t* corr32[4];
};

X8Rows RowsAt(const cpu::QuantizedActs& qa, int64_t m, int count) {
  X8Rows x{};
  for (int r = 0; r < count; ++r) {
    x.q[r] = qa.q_row(m + r);
    x.d[r] = qa.d_row(m + r);
    x.corr32[r] = qa.corr32_row(m + r);
  }
  return x;
}

// Four x bytes broadcast to every 32-bit lane (one vpbroadcastd from memory).
inline __m256i Broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// kQ4_0x8: Dots puts block b's integer dots, for G groups x R x rows, into
// dot[g][r] (lane r: row r of the group), and Finish(dot[g][r], x, r, b)
// turns one of them into D_b (int32), as each layout defines them.
//
// The block's integer dot for eight rows is summed in int16 before one madd
// widens it: each maddubs lane is n_a * q_a + n_b * q_b with nibbles in
// [0, 15] and |q| <= 127 (the quantizer never makes -128), so |.| <= 3810,
// and eight of them (4 chunks x low/high nibbles) stay within
// 8 x 2 x 15 x 127 = 30480 < 32767 (30720 even with -128): no saturation,
// every partial sum exact.
// The madd then adds the lane's two int16 halves: lane r is row r's
// sum over all 32 elements of nibble * q, and 8 * sum(q) (corr32) takes the
// nibbles' + 8 back off.
struct Q4_0x8 {
  static constexpr size_t kBlockBytes = cpu::kQ4_0x8BlockBytes;
  // Decode: one group per tile, its blocks prefetched two groups ahead
  // (see the tile shapes below).
  static constexpr int kDecodeAhead = 2;
  template <int G, int R>
  static void Dots(const uint8_t* const* groups, const X8Rows& x, int64_t b, __m256i (&dot)[G][R]) {
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    __m256i (&dot16)[G][R] = dot;
    PAGODA_X8_UNROLL
    for (int j = 0; j < 4; ++j) {
      __m256i lo[G], hi[G];
      PAGODA_X8_UNROLL
      for (int g = 0; g < G; ++g) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(groups[g] + b * kBlockBytes + 16 + 32 * j));
        lo[g] = _mm256_and_si256(v, low4);
        hi[g] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
      }
      PAGODA_X8_UNROLL
      for (int r = 0; r < R; ++r) {
        const int8_t* q = x.q[r] + b * 32 + 4 * j;
        const __m256i xl = Broadcast4(q), xh = Broadcast4(q + 16);
        PAGODA_X8_UNROLL
        for (int g = 0; g < G; ++g) {
          const __m256i t = _mm256_add_epi16(_mm256_maddubs_epi16(lo[g], xl), _mm256_maddubs_epi16(hi[g], xh));
          dot16[g][r] = j == 0 ? t : _mm256_add_epi16(dot16[g][r], t);
        }
      }
    }
  }
  // D_b from Dots' int16 sums, right before its conversion (widening all
  // of them inside Dots made the batch tile ~5% slower).
  static __m256i Finish(__m256i dot16, const X8Rows& x, int r, int64_t b) {
    return _mm256_sub_epi32(_mm256_madd_epi16(dot16, _mm256_set1_epi16(1)), _mm256_set1_epi32(x.corr32[r][b]));
  }
};

// kQ8_0x8: the same for signed weight bytes. maddubs wants one unsigned
// operand: |w| (vpabsb; a weight of -128, which files may hold though
// ggml's quantizer never writes it, reads as unsigned 128 and is right),
// with w's sign moved onto x (vpsignb(x, w): -x where w < 0, 0 where w is
// 0). Negating x is exact because |q| <= 127: q = round-half-even(x * id)
// with |x| <= amax and id = fl(127 / amax), so |x * id| <= 127 (1 + 2^-24)^2
// < 127.5 (this holds for every finite x row whose block amax is 0 or at
// least 127 / FLT_MAX, where id is finite; blocks of smaller or non-finite
// values are outside every path's exactness, file order's too). Each int16
// lane of the maddubs is then |w_a| q_a' + |w_b| q_b' with |.| <= 2 x 128 x
// 127 = 32512 < 32767: no saturation. Two chunks' lanes could overflow
// int16, so each chunk is widened by a madd with ones (lane r: row r's four
// elements) and the eight chunks add in int32 (|D_b| <= 32 x 128 x 127).
struct Q8_0x8 {
  static constexpr size_t kBlockBytes = cpu::kQ8_0x8BlockBytes;
  // Decode: one group per tile and no software prefetch (below).
  static constexpr int kDecodeAhead = 0;
  template <int G, int R>
  static void Dots(const uint8_t* const* groups, const X8Rows& x, int64_t b, __m256i (&dot)[G][R]) {
    const __m256i ones = _mm256_set1_epi16(1);
    PAGODA_X8_UNROLL
    for (int j = 0; j < 8; ++j) {
      __m256i w[G], aw[G];
      PAGODA_X8_UNROLL
      for (int g = 0; g < G; ++g) {
        w[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(groups[g] + b * kBlockBytes + 16 + 32 * j));
        aw[g] = _mm256_abs_epi8(w[g]);
      }
      PAGODA_X8_UNROLL
      for (int r = 0; r < R; ++r) {
        const __m256i xq = Broadcast4(x.q[r] + b * 32 + 4 * j);
        PAGODA_X8_UNROLL
        for (int g = 0; g < G; ++g) {
          const __m256i t = _mm256_madd_epi16(_mm256_maddubs_epi16(aw[g], _mm256_sign_epi8(xq, w[g])), ones);
          dot[g][r] = j == 0 ? t : _mm256_add_epi32(dot[g][r], t);
        }
      }
    }
  }
  static __m256i Finish(__m256i dot, const X8Rows&, int, int64_t) { return dot; }  // already D_b
};

// G groups of eight weight rows against R x rows, in layout K. `prefetch`
// (bytes, 0 for none) is added to each group's block address and the
// block's cache lines are fetched into L2.
template <class K, int G, int R>
void Tile(const uint8_t* const* groups, const X8Rows& x, int64_t blocks, float* y,
          int64_t y_stride, int64_t prefetch) {
  constexpr size_t kBlock = K::kBlockBytes;
  __m256 acc[G][R];
  PAGODA_X8_UNROLL
  for (int g = 0; g < G; ++g) {
    PAGODA_X8_UNROLL
    for (int r = 0; r < R; ++r) acc[g][r] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < blocks; ++b) {
    if (prefetch != 0) {
      PAGODA_X8_UNROLL
      for (int g = 0; g < G; ++g) {
        const char* p = reinterpret_cast<const char*>(groups[g] + b * kBlock + prefetch);
        PAGODA_X8_UNROLL
        for (size_t line = 0; line < kBlock; line += 64) _mm_prefetch(p + line, _MM_HINT_T2);
      }
    }
    __m256i dot[G][R];
    K::template Dots<G, R>(groups, x, b, dot);
    __m256 dw[G];
    PAGODA_X8_UNROLL
    for (int g = 0; g < G; ++g) {
      dw[g] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(groups[g] + b * kBlock)));
    }
    PAGODA_X8_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m256 dx = _mm256_set1_ps(x.d[r][b]);
      PAGODA_X8_UNROLL
      for (int g = 0; g < G; ++g) {
        const __m256i d = K::Finish(dot[g][r], x, r, b);
        acc[g][r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_mul_ps(dw[g], dx), acc[g][r]);
      }
    }
  }
  PAGODA_X8_UNROLL
  for (int r = 0; r < R; ++r) {
    PAGODA_X8_UNROLL
    for (int g = 0; g < G; ++g) _mm256_storeu_ps(y + r * y_stride + 8 * g, acc[g][r]);
  }
}

// The groups [g_begin, g_end) of w against all rows of qa.
struct X8Job {
  const uint8_t* data;
  size_t group_bytes;
  int64_t blocks;
  const cpu::QuantizedActs* qa;
  float* y;
  int64_t y_stride;
  int64_t n_begin;
  int64_t groups;  // in the whole matrix
  const uint8_t* group(int64_t g) const { return data + g * group_bytes; }
  float* out(int64_t m, int64_t g) const { return y + m * y_stride + (g * kRows - n_begin); }
};

// One x row (decode): G groups per tile share each x broadcast, and each
// tile prefetches the groups `ahead` tiles further on, block by block, when
// `ahead` > 0 (the hardware prefetcher alone does not keep G > 1
// interleaved streams fed: measured without it, two groups per tile ran at
// half the speed).
template <class K, int G>
void Decode(const X8Job& job, int64_t g_begin, int64_t g_end, int ahead) {
  const X8Rows x = RowsAt(*job.qa, 0, 1);
  const int64_t distance = ahead * G * static_cast<int64_t>(job.group_bytes);
  int64_t g = g_begin;
  for (; g + G <= g_end; g += G) {
    const uint8_t* gs[G];
    for (int i = 0; i < G; ++i) gs[i] = job.group(g + i);
    // Past the slice's end too (the next slice's groups, another thread's):
    // stopping early would leave this slice's last tiles unprefetched.
    const bool inside = g + (ahead + 1) * G <= job.groups;
    Tile<K, G, 1>(gs, x, job.blocks, job.out(0, g), job.y_stride, inside ? distance : 0);
  }
  for (; g < g_end; ++g) {
    const uint8_t* gs[1] = {job.group(g)};
    Tile<K, 1, 1>(gs, x, job.blocks, job.out(0, g), job.y_stride, 0);
  }
}

// Tile shapes, as measured on the 2-core Zen 4 EPYC. Decode: one group per
// tile, so a thread's slice is a single contiguous stream. Over the
// benchmark model's 24 layers of products, alternated in one process with
// a read probe (fractions of the probe, fast / slow memory): kQ8_0x8 84% /
// 96% without software prefetch, 62% / 86% prefetching two groups ahead,
// 65% / 87% with two groups per tile prefetching two tiles ahead (the
// earlier shape, from kQ4_0x8), 51% / 79% with two groups and no prefetch;
// kQ4_0x8, which spends more instructions per byte, 67% / 87% with one
// group prefetching two ahead, 61% / 89% without prefetch, 65% / 82% with
// the earlier shape. Batches: one group against four x rows (other shapes
// measured the same within the noise, with kQ4_0x8; kQ8_0x8 takes them
// too). Every tile fits the 16 registers (G x R accumulators and as many
// int32 dots, G weight chunks and their |w|, the x broadcast, the ones: at
// most 12).
constexpr int kBatchGroups = 1;
constexpr int kBatchRows = 4;

// Several x rows: G groups x R rows per tile, so each unpacked chunk serves
// R rows. The rows go in blocks of kRowBlock, whose quantized data stays in
// L2 while every weight group of the slice passes over them.
constexpr int64_t kRowBlock = 64;

template <class K, int G, int R>
void Batch(const X8Job& job, int64_t g_begin, int64_t g_end) {
  const cpu::QuantizedActs& qa = *job.qa;
  auto all_rows = [&]<int GG>(int64_t g, int64_t m0, int64_t m1) {
    const uint8_t* gs[GG];
    for (int i = 0; i < GG; ++i) gs[i] = job.group(g + i);
    int64_t m = m0;
    for (; m + R <= m1; m += R) Tile<K, GG, R>(gs, RowsAt(qa, m, R), job.blocks, job.out(m, g), job.y_stride, 0);
    static_assert(R <= 4, "the remainder below handles up to 3 rows");
    switch (m1 - m) {
      case 3: Tile<K, GG, 3>(gs, RowsAt(qa, m, 3), job.blocks, job.out(m, g), job.y_stride, 0); break;
      case 2: Tile<K, GG, 2>(gs, RowsAt(qa, m, 2), job.blocks, job.out(m, g), job.y_stride, 0); break;
      case 1: Tile<K, GG, 1>(gs, RowsAt(qa, m, 1), job.blocks, job.out(m, g), job.y_stride, 0); break;
      default: break;
    }
  };
  for (int64_t m0 = 0; m0 < qa.num_rows; m0 += kRowBlock) {
    const int64_t m1 = std::min(qa.num_rows, m0 + kRowBlock);
    int64_t g = g_begin;
    for (; g + G <= g_end; g += G) all_rows.template operator()<G>(g, m0, m1);
    for (; g < g_end; ++g) all_rows.template operator()<1>(g, m0, m1);
  }
}

// Either layout: decode tiles for one x row, batch tiles for several.
template <class K>
void RunX8(const WeightMatrix& w, const cpu::QuantizedActs& qa, float* y, int64_t y_stride,
           int64_t n_begin, int64_t n_end) {
  CHECK(n_begin % kRows == 0 && n_end % kRows == 0) << "repacked by eight: partial group";
  const X8Job job{w.data, static_cast<size_t>(w.cols / 32) * K::kBlockBytes, qa.blocks_per_row(), &qa, y,
                  y_stride, n_begin, w.rows / kRows};
  const int64_t g_begin = n_begin / kRows, g_end = n_end / kRows;
  if (qa.num_rows == 1) {
    Decode<K, 1>(job, g_begin, g_end, K::kDecodeAhead);
  } else {
    Batch<K, kBatchGroups, kBatchRows>(job, g_begin, g_end);
  }
}

}  // namespace

void QMatMulQ4_0x8Range(const WeightMatrix& w, const cpu::QuantizedActs& qa, float* y,
                        int64_t y_stride, int64_t n_begin, int64_t n_end) {
  CHECK(w.layout == WeightLayout::kQ4_0x8 && qa.format == cpu::ActFormat::kBlock32);
  RunX8<Q4_0x8>(w, qa, y, y_stride, n_begin, n_end);
}

void QMatMulQ8_0x8Range(const WeightMatrix& w, const cpu::QuantizedActs& qa, float* y,
                        int64_t y_stride, int64_t n_begin, int64_t n_end) {
  CHECK(w.layout == WeightLayout::kQ8_0x8 && qa.format == cpu::ActFormat::kBlock32);
  RunX8<Q8_0x8>(w, qa, y, y_stride, n_begin, n_end);
}

}  // namespace pagoda::avx2
