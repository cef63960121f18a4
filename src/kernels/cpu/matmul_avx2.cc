// AVX2/FMA/F16C MatMul kernels (compiled with -mavx2 -mfma -mf16c).
//
// One register tile computes y for R rows of x times C rows of w. Every
// output element owns one 8-lane accumulator that takes, for k = 0, 8, 16,
// ..., acc = fma(w[k..k+8), x[k..k+8), acc); then a fixed horizontal sum and
// the k % 8 tail in order with scalar FMAs. That sequence depends only on k,
// so any tile shape (R, C) — chosen from the batch size — yields the same
// bits: the kernel is batch invariant by construction. Tiles share each
// weight load across the R rows of x, which is what makes prefill faster
// than R separate products.
//
// Quantized blocks are dequantized in registers exactly as DequantizeRow does
// (float(q) * d), so they match the reference up to summation order. K-quant
// rows are dequantized into a scratch buffer first and then take the F32
// tiles.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/quant.h"

namespace pagoda::avx2 {

namespace {

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float Fma(float a, float b, float c) {
  return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

inline float HalfToFloat(uint16_t h) { return _cvtsh_ss(h); }

// Weight formats. kBlock elements per block, loaded as kBlock / 8 chunks of
// 8 floats; Prepare() reads a block's scale once; Scalar() serves the k % 8
// tail of the plain float formats.
struct F32Format {
  static constexpr int kBlock = 8;
  static constexpr size_t kBlockBytes = 32;
  using State = const float*;
  static State Prepare(const uint8_t* block) { return reinterpret_cast<const float*>(block); }
  static __m256 Chunk(State s, int) { return _mm256_loadu_ps(s); }
  static float Scalar(const uint8_t* row, int64_t k) {
    return reinterpret_cast<const float*>(row)[k];
  }
};

struct F16Format {
  static constexpr int kBlock = 8;
  static constexpr size_t kBlockBytes = 16;
  using State = const uint8_t*;
  static State Prepare(const uint8_t* block) { return block; }
  static __m256 Chunk(State s, int) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
  }
  static float Scalar(const uint8_t* row, int64_t k) {
    return HalfToFloat(reinterpret_cast<const uint16_t*>(row)[k]);
  }
};

struct BF16Format {
  static constexpr int kBlock = 8;
  static constexpr size_t kBlockBytes = 16;
  using State = const uint8_t*;
  static State Prepare(const uint8_t* block) { return block; }
  static __m256 Chunk(State s, int) {
    // bf16 is the top half of a float: widen and shift into place.
    const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(h, 16));
  }
  static float Scalar(const uint8_t* row, int64_t k) {
    const uint32_t bits = static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(row)[k]) << 16;
    return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(static_cast<int>(bits))));
  }
};

struct QState {
  const uint8_t* qs;
  __m256 d;
};

struct Q8_0Format {
  static constexpr int kBlock = kQK8_0;
  static constexpr size_t kBlockBytes = sizeof(BlockQ8_0);
  using State = QState;
  static State Prepare(const uint8_t* block) {
    const auto* b = reinterpret_cast<const BlockQ8_0*>(block);
    return {reinterpret_cast<const uint8_t*>(b->qs), _mm256_set1_ps(HalfToFloat(b->d))};
  }
  static __m256 Chunk(const State& s, int sub) {
    const __m128i q8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s.qs + 8 * sub));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8)), s.d);
  }
  static float Scalar(const uint8_t*, int64_t) { return 0.0f; }  // no tail: K % 32 == 0
};

struct Q4_0Format {
  static constexpr int kBlock = kQK4_0;
  static constexpr size_t kBlockBytes = sizeof(BlockQ4_0);
  using State = QState;
  static State Prepare(const uint8_t* block) {
    const auto* b = reinterpret_cast<const BlockQ4_0*>(block);
    return {b->qs, _mm256_set1_ps(HalfToFloat(b->d))};
  }
  // Elements 0..15 are the low nibbles of qs[0..15], 16..31 the high ones:
  // chunk `sub` reads bytes 8 * (sub & 1) .. +8, nibble sub >> 1.
  static __m256 Chunk(const State& s, int sub) {
    __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s.qs + 8 * (sub & 1)));
    if (sub >= 2) q = _mm_srli_epi16(q, 4);
    q = _mm_and_si128(q, _mm_set1_epi8(0x0f));
    const __m256i v = _mm256_sub_epi32(_mm256_cvtepu8_epi32(q), _mm256_set1_epi32(8));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(v), s.d);
  }
  static float Scalar(const uint8_t*, int64_t) { return 0.0f; }
};

// Fully unrolled R / C loops let the accumulators live in registers; left
// to itself GCC keeps acc[][] on the stack and the kernel runs 4x slower.
#define PAGODA_UNROLL _Pragma("GCC unroll 16")

// y[r * y_stride + c] = sum_k x[r][k] * w[c][k] for an R x C tile.
template <class Fmt, int R, int C>
void Tile(const uint8_t* const* w, const float* const* x, int64_t k_len, float* y,
          int64_t y_stride) {
  __m256 acc[R][C];
  PAGODA_UNROLL
  for (int r = 0; r < R; ++r) {
    PAGODA_UNROLL
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  }
  const int64_t blocks = k_len / Fmt::kBlock;
  for (int64_t b = 0; b < blocks; ++b) {
    typename Fmt::State st[C];
    PAGODA_UNROLL
    for (int c = 0; c < C; ++c) st[c] = Fmt::Prepare(w[c] + b * Fmt::kBlockBytes);
    PAGODA_UNROLL
    for (int sub = 0; sub < Fmt::kBlock / 8; ++sub) {
      const int64_t k = b * Fmt::kBlock + sub * 8;
      __m256 xv[R];
      PAGODA_UNROLL
      for (int r = 0; r < R; ++r) xv[r] = _mm256_loadu_ps(x[r] + k);
      PAGODA_UNROLL
      for (int c = 0; c < C; ++c) {
        const __m256 wv = Fmt::Chunk(st[c], sub);
        PAGODA_UNROLL
        for (int r = 0; r < R; ++r) acc[r][c] = _mm256_fmadd_ps(wv, xv[r], acc[r][c]);
      }
    }
  }
  PAGODA_UNROLL
  for (int r = 0; r < R; ++r) {
    PAGODA_UNROLL
    for (int c = 0; c < C; ++c) {
      float s = HorizontalSum(acc[r][c]);
      for (int64_t k = blocks * Fmt::kBlock; k < k_len; ++k) s = Fma(Fmt::Scalar(w[c], k), x[r][k], s);
      y[r * y_stride + c] = s;
    }
  }
}

// Rows [m, m + R) of x against the C weight rows starting at `rows`.
template <class Fmt, int R, int C>
void RunTile(const uint8_t* const* rows, const float* x, int64_t m, int64_t k_len, float* y,
             int64_t y_stride) {
  const float* xr[R];
  for (int r = 0; r < R; ++r) xr[r] = x + (m + r) * k_len;
  Tile<Fmt, R, C>(rows, xr, k_len, y + m * y_stride, y_stride);
}

// All rows of x against C weight rows: tiles of 4 rows, then the rest.
template <class Fmt, int C>
void AllRows(const uint8_t* const* rows, const float* x, int64_t num_rows, int64_t k_len,
             float* y, int64_t y_stride) {
  int64_t m = 0;
  for (; m + 4 <= num_rows; m += 4) RunTile<Fmt, 4, C>(rows, x, m, k_len, y, y_stride);
  switch (num_rows - m) {
    case 3: RunTile<Fmt, 3, C>(rows, x, m, k_len, y, y_stride); break;
    case 2: RunTile<Fmt, 2, C>(rows, x, m, k_len, y, y_stride); break;
    case 1: RunTile<Fmt, 1, C>(rows, x, m, k_len, y, y_stride); break;
    default: break;
  }
}

// `row_at(n)` gives weight row n's bytes. One x row (decode): 4 weight rows
// per tile so four accumulators hide FMA latency. Several rows: 2 weight
// rows x 4 x-rows, eight accumulators, each weight chunk used 4 times.
template <class Fmt, class RowAt>
void Columns(RowAt row_at, const float* x, int64_t num_rows, int64_t k_len, float* y,
             int64_t y_stride, int64_t n_begin, int64_t n_end) {
  int64_t n = n_begin;
  if (num_rows == 1) {
    for (; n + 4 <= n_end; n += 4) {
      const uint8_t* rows[4] = {row_at(n), row_at(n + 1), row_at(n + 2), row_at(n + 3)};
      RunTile<Fmt, 1, 4>(rows, x, 0, k_len, y + n, y_stride);
    }
  } else {
    for (; n + 2 <= n_end; n += 2) {
      const uint8_t* rows[2] = {row_at(n), row_at(n + 1)};
      AllRows<Fmt, 2>(rows, x, num_rows, k_len, y + n, y_stride);
    }
  }
  for (; n < n_end; ++n) {
    const uint8_t* rows[1] = {row_at(n)};
    AllRows<Fmt, 1>(rows, x, num_rows, k_len, y + n, y_stride);
  }
}

template <class Fmt>
void Direct(const WeightMatrix& w, const float* x, int64_t num_rows, float* y, int64_t n_begin,
            int64_t n_end) {
  auto row_at = [&](int64_t n) { return w.data + n * w.row_bytes; };
  Columns<Fmt>(row_at, x, num_rows, w.cols, y, w.rows, n_begin, n_end);
}

// K-quants: dequantize a few rows into scratch, then the F32 tiles. Each
// row is dequantized once per call and reused for every row of x.
void Dequantized(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                 int64_t n_begin, int64_t n_end) {
  constexpr int64_t kRowsPerPass = 4;
  thread_local std::vector<float> scratch;
  const size_t need = static_cast<size_t>(kRowsPerPass * w.cols);
  if (scratch.size() < need) scratch.resize(need);
  for (int64_t n0 = n_begin; n0 < n_end; n0 += kRowsPerPass) {
    const int64_t n1 = std::min(n_end, n0 + kRowsPerPass);
    for (int64_t n = n0; n < n1; ++n) {
      DequantizeRow(w.dtype, w.data + n * w.row_bytes, scratch.data() + (n - n0) * w.cols, w.cols);
    }
    auto row_at = [&](int64_t n) {
      return reinterpret_cast<const uint8_t*>(scratch.data() + (n - n0) * w.cols);
    };
    Columns<F32Format>(row_at, x, num_rows, w.cols, y, w.rows, n0, n1);
  }
}

}  // namespace

bool MatMulRange(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                 int64_t n_begin, int64_t n_end) {
  switch (w.dtype) {
    case DType::kF32: Direct<F32Format>(w, x, num_rows, y, n_begin, n_end); return true;
    case DType::kF16: Direct<F16Format>(w, x, num_rows, y, n_begin, n_end); return true;
    case DType::kBF16: Direct<BF16Format>(w, x, num_rows, y, n_begin, n_end); return true;
    case DType::kQ8_0: Direct<Q8_0Format>(w, x, num_rows, y, n_begin, n_end); return true;
    case DType::kQ4_0: Direct<Q4_0Format>(w, x, num_rows, y, n_begin, n_end); return true;
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K: Dequantized(w, x, num_rows, y, n_begin, n_end); return true;
    default: return false;
  }
}

}  // namespace pagoda::avx2
