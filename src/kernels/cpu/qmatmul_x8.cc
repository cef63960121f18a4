// Portable quantized-activation MatMul for Q4_0 and Q8_0 repacked by eight
// (WeightLayout::kQ4_0x8, kQ8_0x8): the arithmetic of kernels/cpu/qmatmul.h
// in plain C++, one weight row at a time, so it gives the AVX2 kernel's bits
// on any CPU. Pure functions: thread-safe.
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "base/fp16.h"
#include "kernels/cpu/qmatmul.h"
#include "kernels/cpu/repack.h"

namespace pagoda::cpu {

namespace {

// Row r's exact integer dot D_b with the 32 quantized x of a block, for
// each layout; `blk` is the x8 block (scales, then chunks).
int DotQ4_0x8(const uint8_t* blk, int r, const int8_t* q) {
  int dot = 0;
  for (int j = 0; j < 4; ++j) {
    const uint8_t* qs = blk + 16 + 32 * j + 4 * r;  // elements 4j.., 4j+16..
    for (int i = 0; i < 4; ++i) {
      dot += ((qs[i] & 0x0f) - 8) * q[4 * j + i] + ((qs[i] >> 4) - 8) * q[4 * j + 16 + i];
    }
  }
  return dot;
}

int DotQ8_0x8(const uint8_t* blk, int r, const int8_t* q) {
  int dot = 0;
  for (int j = 0; j < 8; ++j) {
    const auto* qs = reinterpret_cast<const int8_t*>(blk + 16 + 32 * j + 4 * r);  // elements 4j..
    for (int i = 0; i < 4; ++i) dot += qs[i] * q[4 * j + i];
  }
  return dot;
}

// Both layouts: eight rows per group, their scales first in every block.
template <int (*Dot)(const uint8_t*, int, const int8_t*)>
void RangeX8(const WeightMatrix& w, const QuantizedActs& qa, float* y, int64_t y_stride, int64_t n_begin,
             int64_t n_end, size_t block_bytes) {
  CHECK(n_begin % 8 == 0 && n_end % 8 == 0) << "repacked by eight: partial group";
  const int64_t blocks = qa.blocks_per_row();
  const size_t group_bytes = static_cast<size_t>(blocks) * block_bytes;
  for (int64_t n0 = n_begin; n0 < n_end; n0 += 8) {
    const uint8_t* group = w.data + (n0 / 8) * group_bytes;
    for (int64_t m = 0; m < qa.num_rows; ++m) {
      float acc[8] = {};
      for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t* blk = group + b * block_bytes;
        const int8_t* q = qa.q_row(m) + b * 32;
        const float dx = qa.d_row(m)[b];
        for (int r = 0; r < 8; ++r) {
          uint16_t h;
          std::memcpy(&h, blk + 2 * r, 2);
          acc[r] = std::fma(static_cast<float>(Dot(blk, r, q)), Fp16ToF32(h) * dx, acc[r]);
        }
      }
      for (int r = 0; r < 8; ++r) y[m * y_stride + (n0 - n_begin) + r] = acc[r];
    }
  }
}

}  // namespace

void QMatMulX8RangePortable(const WeightMatrix& w, const QuantizedActs& qa, float* y, int64_t y_stride,
                            int64_t n_begin, int64_t n_end) {
  CHECK(qa.format == ActFormat::kBlock32) << "repacked by eight: wrong activations";
  if (w.layout == WeightLayout::kQ4_0x8) {
    RangeX8<DotQ4_0x8>(w, qa, y, y_stride, n_begin, n_end, kQ4_0x8BlockBytes);
  } else {
    CHECK(w.layout == WeightLayout::kQ8_0x8) << "repacked by eight: wrong layout";
    RangeX8<DotQ8_0x8>(w, qa, y, y_stride, n_begin, n_end, kQ8_0x8BlockBytes);
  }
}

}  // namespace pagoda::cpu
