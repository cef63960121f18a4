// AVX2/FMA/F16C MatMul kernels (compiled with -mavx2 -mfma -mf16c) for the
// plain float formats, on the tiles of tile_avx2.h: F16 and BF16 are
// widened to float in registers (F16C / a shift), never in memory. The
// block-quantized types go through qmatmul_avx2.cc instead.
#include <immintrin.h>

#include "base/check.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/repack.h"
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

template <class Fmt>
void Direct(const WeightMatrix& w, const float* x, int64_t num_rows, float* y, int64_t y_stride,
            int64_t n_begin, int64_t n_end) {
  if (w.layout == WeightLayout::kFloatX8) {
    CHECK(n_begin % cpu::kFloatX8Rows == 0 && n_end % cpu::kFloatX8Rows == 0) << "kFloatX8: partial group";
    tile::X8Columns<Fmt>(w, x, num_rows, y, y_stride, n_begin, n_end);
    return;
  }
  auto row_at = [&](int64_t n) { return w.data + n * w.row_bytes; };
  Columns<Fmt>(row_at, x, num_rows, w.cols, y, y_stride, n_begin, n_end);
}

}  // namespace

bool MatMulRange(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                 int64_t y_stride, int64_t n_begin, int64_t n_end) {
  switch (w.dtype) {
    case DType::kF32: Direct<F32Format>(w, x, num_rows, y, y_stride, n_begin, n_end); return true;
    case DType::kF16: Direct<F16Format>(w, x, num_rows, y, y_stride, n_begin, n_end); return true;
    case DType::kBF16: Direct<BF16Format>(w, x, num_rows, y, y_stride, n_begin, n_end); return true;
    default: return false;
  }
}

}  // namespace pagoda::avx2
