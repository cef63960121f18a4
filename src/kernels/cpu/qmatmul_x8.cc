// Portable quantized-activation MatMul for Q4_0 repacked by eight
// (WeightLayout::kQ4_0x8): the arithmetic of kernels/cpu/qmatmul.h in plain
// C++, one weight row at a time, so it gives the AVX2 kernel's bits on any
// CPU. Pure function: thread-safe.
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "base/fp16.h"
#include "kernels/cpu/qmatmul.h"
#include "kernels/cpu/repack.h"

namespace pagoda::cpu {

void QMatMulQ4_0x8RangePortable(const WeightMatrix& w, const QuantizedActs& qa, float* y,
                                int64_t y_stride, int64_t n_begin, int64_t n_end) {
  CHECK(w.layout == WeightLayout::kQ4_0x8 && qa.format == ActFormat::kBlock32);
  CHECK(n_begin % kQ4_0x8Rows == 0 && n_end % kQ4_0x8Rows == 0) << "kQ4_0x8: partial group";
  const int64_t blocks = qa.blocks_per_row();
  const size_t group_bytes = Q4_0x8GroupBytes(w.cols);
  for (int64_t n0 = n_begin; n0 < n_end; n0 += kQ4_0x8Rows) {
    const uint8_t* group = w.data + (n0 / kQ4_0x8Rows) * group_bytes;
    for (int64_t m = 0; m < qa.num_rows; ++m) {
      float acc[kQ4_0x8Rows] = {};
      for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t* blk = group + b * kQ4_0x8BlockBytes;
        const int8_t* q = qa.q_row(m) + b * 32;
        const float dx = qa.d_row(m)[b];
        for (int r = 0; r < kQ4_0x8Rows; ++r) {
          uint16_t h;
          std::memcpy(&h, blk + 2 * r, 2);
          int dot = 0;
          for (int j = 0; j < 4; ++j) {
            const uint8_t* qs = blk + 16 + 32 * j + 4 * r;  // elements 4j.., 4j+16..
            for (int i = 0; i < 4; ++i) {
              dot += ((qs[i] & 0x0f) - 8) * q[4 * j + i] + ((qs[i] >> 4) - 8) * q[4 * j + 16 + i];
            }
          }
          acc[r] = std::fma(static_cast<float>(dot), Fp16ToF32(h) * dx, acc[r]);
        }
      }
      for (int r = 0; r < kQ4_0x8Rows; ++r) y[m * y_stride + (n0 - n_begin) + r] = acc[r];
    }
  }
}

}  // namespace pagoda::cpu
