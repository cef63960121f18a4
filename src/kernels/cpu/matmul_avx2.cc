// AVX2/FMA/F16C MatMul kernels (compiled with -mavx2 -mfma -mf16c) for the
// plain float formats and Q8_0 / Q4_0, on the tiles of tile_avx2.h.
//
// Quantized blocks are dequantized in registers exactly as DequantizeRow does
// (float(q) * d), so they match the reference up to summation order.
#include <immintrin.h>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/quant.h"
#include "kernels/cpu/tile_avx2.h"

namespace pagoda::avx2 {

namespace {

using tile::Columns;
using tile::F32Format;
using tile::HalfToFloat;

// Weight formats (the contract is in tile_avx2.h). F32 lives there too.
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

// Q4_0 for multi-row tiles: unpacks chunk by chunk, which keeps register
// pressure low in the 4 x 2 tile.
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

struct Q4_0State {
  __m128i lo;  // elements 0..15 minus 8, as int8
  __m128i hi;  // elements 16..31 minus 8, as int8
  __m256 d;
};

// Q4_0 for decode (one row of x): unpacking the whole block with one load,
// in the int8 domain, takes fewer instructions than chunk by chunk (~12%
// faster decode) but costs registers that the prefill tile needs. Both give
// the same floats, so switching between them keeps results batch invariant.
struct Q4_0BlockFormat {
  static constexpr int kBlock = kQK4_0;
  static constexpr size_t kBlockBytes = sizeof(BlockQ4_0);
  using State = Q4_0State;
  static State Prepare(const uint8_t* block) {
    const auto* b = reinterpret_cast<const BlockQ4_0*>(block);
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b->qs));
    const __m128i mask = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
    return {_mm_sub_epi8(_mm_and_si128(q, mask), eight),
            _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), mask), eight),
            _mm256_set1_ps(HalfToFloat(b->d))};
  }
  static __m256 Chunk(const State& s, int sub) {
    __m128i q = sub < 2 ? s.lo : s.hi;
    if (sub & 1) q = _mm_unpackhi_epi64(q, q);
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), s.d);
  }
  static float Scalar(const uint8_t*, int64_t) { return 0.0f; }
};

template <class Fmt>
void Direct(const WeightMatrix& w, const float* x, int64_t num_rows, float* y, int64_t n_begin,
            int64_t n_end) {
  auto row_at = [&](int64_t n) { return w.data + n * w.row_bytes; };
  Columns<Fmt>(row_at, x, num_rows, w.cols, y, w.rows, n_begin, n_end);
}

}  // namespace

bool MatMulRange(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                 int64_t n_begin, int64_t n_end) {
  switch (w.dtype) {
    case DType::kF32: Direct<F32Format>(w, x, num_rows, y, n_begin, n_end); return true;
    case DType::kF16: Direct<F16Format>(w, x, num_rows, y, n_begin, n_end); return true;
    case DType::kBF16: Direct<BF16Format>(w, x, num_rows, y, n_begin, n_end); return true;
    case DType::kQ8_0: Direct<Q8_0Format>(w, x, num_rows, y, n_begin, n_end); return true;
    case DType::kQ4_0:
      if (num_rows == 1) {
        Direct<Q4_0BlockFormat>(w, x, num_rows, y, n_begin, n_end);
      } else {
        Direct<Q4_0Format>(w, x, num_rows, y, n_begin, n_end);
      }
      return true;
    default: return MatMulRangeKQuant(w, x, num_rows, y, n_begin, n_end);
  }
}

}  // namespace pagoda::avx2
