// MatMul on Q4_0 and Q8_0 repacked by eight (WeightLayout::kQ4_0x8,
// kQ8_0x8): the AVX2 and portable paths against each other and against the
// arithmetic qmatmul.h defines, spelled out here from the file-order blocks
// (bit for bit), and against a plain double-precision product of the same
// operands and the float-activation product (within their bounds); batch
// invariance (a row computed alone, in any batch, with or without threads:
// the same bits); the fused MatMulMany / MatMulSiluMul against separate
// calls; Q8_0 weight bytes of -128; and the per-block q sums the kernels
// subtract.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/cpu/exp.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/qmatmul.h"
#include "kernels/cpu/reference.h"

namespace pagoda {
namespace {

using cpu::Isa;
using testing::MakeWeight;
using testing::OwnedWeight;
using testing::RandomFloats;
using testing::Repacked;
using testing::SameBits;

using Shape = testing::GroupedShape;

const DType kX8Types[] = {DType::kQ4_0, DType::kQ8_0};

// 1..9 groups, 1..9 blocks: none a multiple of the tiles; then a few long
// rows (up to the FFN's 4864 columns), with the decode prefetch's distance
// inside the matrix (56 rows: seven groups).
std::vector<Shape> RandomShapes(uint32_t seed, int count) {
  std::vector<Shape> shapes = testing::RandomGroupedShapes(
      seed, count, 9, 32, 9, {{8, 1, 32}, {24, 1, 96}, {16, 5, 32}, {40, 67, 64}, {8, 70, 288}});
  const std::vector<Shape> long_rows = testing::RandomGroupedShapes(
      seed + 1, 4, 9, 32, 152, {{56, 1, 4864}, {24, 3, 4864}, {40, 70, 1024}});
  shapes.insert(shapes.end(), long_rows.begin(), long_rows.end());
  return shapes;
}

// x with amax ties, zero blocks and outliers, as the quantizer sees them.
std::vector<float> Activations(int64_t rows, int64_t cols, uint32_t seed) {
  std::vector<float> x = RandomFloats(seed, rows * cols, -2.0f, 2.0f);
  for (int64_t m = 0; m < rows; ++m) {
    float* r = x.data() + m * cols;
    if (m % 4 == 1) std::fill(r, r + 32, 0.0f);
    if (m % 4 == 2) r[cols - 1] = 3e4f;
    if (m % 4 == 3) r[0] = 127.0f;
  }
  return x;
}

// Element i of a file-order Q4_0 / Q8_0 block as the signed weight int.
int WeightInt(DType t, const uint8_t* block, int i) {
  if (t == DType::kQ8_0) return static_cast<int8_t>(block[2 + i]);
  const uint8_t byte = block[2 + i % 16];
  return (i < 16 ? byte & 0x0f : byte >> 4) - 8;
}

// y as qmatmul.h defines it for the layouts by eight, from the file-order
// weight: x rows quantized as ref::QuantizeActivationRow does; per weight row
// and block b in order, D_b = the exact integer dot, acc = fma(float(D_b),
// d_w * d_x, acc) from +0.
std::vector<float> DefinedProduct(const OwnedWeight& file, const std::vector<float>& x, int64_t rows) {
  const WeightMatrix& w = file.view;
  const int64_t blocks = w.cols / 32;
  const size_t block_bytes = w.row_bytes / static_cast<size_t>(blocks);
  std::vector<float> y(static_cast<size_t>(rows * w.rows));
  std::vector<int8_t> q(static_cast<size_t>(w.cols));
  std::vector<float> d(static_cast<size_t>(blocks));
  for (int64_t m = 0; m < rows; ++m) {
    ref::QuantizeActivationRow(32, x.data() + m * w.cols, w.cols, q.data(), d.data(), nullptr);
    for (int64_t n = 0; n < w.rows; ++n) {
      float acc = 0.0f;
      for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t* blk = w.data + n * w.row_bytes + b * block_bytes;
        int dot = 0;
        for (int i = 0; i < 32; ++i) dot += WeightInt(w.dtype, blk, i) * q[b * 32 + i];
        uint16_t h;
        std::memcpy(&h, blk, 2);
        acc = std::fma(static_cast<float>(dot), Fp16ToF32(h) * d[b], acc);
      }
      y[m * w.rows + n] = acc;
    }
  }
  return y;
}

// Tolerance against the double product: each block adds one float fma whose
// rounding is at most 2^-24 of the running sum, and d_w * d_x is rounded
// once (2^-24 of its term); every partial sum is bounded by
// A = sum_k |w_k q_k d_x|, so |y - exact| <= (blocks + 2) * 2^-24 * A.
TEST(QMatMulX8Test, PathsAgreeBitForBitAndMatchTheDoubleProduct) {
  ThreadPool pool(3);
  uint32_t seed = 40;
  for (DType t : kX8Types) {
    for (const Shape& s : RandomShapes(17, 24)) {
      const OwnedWeight file = MakeWeight(t, s.n, s.cols, ++seed);
      const OwnedWeight w = Repacked(file);
      const std::vector<float> x = Activations(s.rows, s.cols, ++seed);
      const std::vector<float> xq = testing::QuantizedActivations(t, x, s.rows, s.cols);
      const std::vector<float> defined = DefinedProduct(file, x, s.rows);
      std::vector<float> wrow(static_cast<size_t>(s.cols));
      for (Isa isa : testing::TestableIsas()) {
        std::vector<float> y(static_cast<size_t>(s.rows * s.n), NAN);
        cpu::MatMulOn(isa, w.view, x.data(), s.rows, y.data(), seed % 2 ? &pool : nullptr);
        ASSERT_TRUE(SameBits(y, defined)) << cpu::IsaName(isa) << " " << DTypeName(t) << " N=" << s.n
                                          << " rows=" << s.rows << " K=" << s.cols;
        for (int64_t n = 0; n < s.n; ++n) {
          DequantizeRow(t, file.view.data + n * file.view.row_bytes, wrow.data(), s.cols);
          for (int64_t m = 0; m < s.rows; ++m) {
            double exact = 0.0, abs_sum = 0.0;
            for (int64_t k = 0; k < s.cols; ++k) {
              const double p = double{wrow[k]} * xq[m * s.cols + k];
              exact += p;
              abs_sum += std::fabs(p);
            }
            const double tol = static_cast<double>(s.cols / 32 + 2) * std::ldexp(1.0, -24) * abs_sum + 1e-30;
            ASSERT_NEAR(y[m * s.n + n], exact, tol) << cpu::IsaName(isa) << " " << DTypeName(t) << " N=" << s.n
                                                    << " rows=" << s.rows << " K=" << s.cols << " m=" << m
                                                    << " n=" << n;
          }
        }
      }
    }
  }
}

// Against float activations the only new error is the activation rounding,
// bounded as for file order (qmatmul_test.cc's CloseToTheFloatActivationProduct):
// |dy| <= sum_k |w_k| d_k / 2 + 1e-5 sum_k |w_k x_k|.
TEST(QMatMulX8Test, CloseToTheFloatActivationProduct) {
  uint32_t seed = 300;
  for (DType t : kX8Types) {
    const int64_t cols = 1024, n_out = 40, rows = 5;
    const OwnedWeight file = MakeWeight(t, n_out, cols, ++seed);
    const OwnedWeight w = Repacked(file);
    const std::vector<float> x = RandomFloats(++seed, rows * cols);
    std::vector<float> exact(static_cast<size_t>(rows * n_out));
    ref::MatMul(file.view, x.data(), rows, exact.data());
    std::vector<int8_t> q(static_cast<size_t>(cols));
    std::vector<float> d(static_cast<size_t>(cols / 32)), wrow(static_cast<size_t>(cols));
    for (Isa isa : testing::TestableIsas()) {
      std::vector<float> y(exact.size());
      cpu::MatMulOn(isa, w.view, x.data(), rows, y.data(), nullptr);
      for (int64_t m = 0; m < rows; ++m) {
        ref::QuantizeActivationRow(32, x.data() + m * cols, cols, q.data(), d.data(), nullptr);
        for (int64_t n = 0; n < n_out; ++n) {
          DequantizeRow(t, file.view.data + n * file.view.row_bytes, wrow.data(), cols);
          double bound = 0.0, abs_sum = 0.0;
          for (int64_t k = 0; k < cols; ++k) {
            bound += std::fabs(double{wrow[k]}) * d[k / 32] / 2;
            abs_sum += std::fabs(double{wrow[k]} * x[m * cols + k]);
          }
          EXPECT_LE(std::fabs(double{y[m * n_out + n]} - exact[m * n_out + n]), bound + 1e-5 * abs_sum)
              << cpu::IsaName(isa) << " " << DTypeName(t) << " m=" << m << " n=" << n;
        }
      }
    }
  }
}

// Q8_0 files may hold weight bytes of -128 (ggml's quantizer never writes
// them): |w| = 128 overflows int8, and with q = -127 a pair of products is
// 2 x 128 x 127 = 32512, near int16's limit. A weight row of nothing but
// -128 and blocks of it against x blocks of all +-127, and scattered -128s
// against random x, must give the defined arithmetic's bits.
TEST(QMatMulX8Test, Q8_0MinusOneTwentyEightIsExact) {
  const int64_t n = 24, cols = 256, rows = 5, blocks = cols / 32;
  OwnedWeight file = MakeWeight(DType::kQ8_0, n, cols, 3);
  const size_t block = sizeof(BlockQ8_0);
  for (size_t i = 0; i < file.bytes.size(); ++i) {
    const size_t in_block = i % block, block_index = i / block;
    const bool row0 = i < file.view.row_bytes;
    if (in_block >= 2 && (row0 || block_index % 3 == 0 || i % 7 == 0)) file.bytes[i] = 0x80;
  }
  const OwnedWeight w = Repacked(file);
  std::vector<float> x = RandomFloats(4, rows * cols);
  for (int64_t k = 0; k < cols; ++k) {
    x[0 * cols + k] = -1.0f;                 // q = -127 everywhere, d = 1 / 127
    x[1 * cols + k] = 1.0f;                  // q = +127
    x[2 * cols + k] = k % 2 ? -1.0f : 1.0f;  // alternating signs
  }
  const std::vector<float> defined = DefinedProduct(file, x, rows);
  // Weight row 0 against x row 0: D_b = 32 x 128 x 127 in every block.
  double closed = 0.0;
  for (int64_t b = 0; b < blocks; ++b) {
    uint16_t h;
    std::memcpy(&h, file.bytes.data() + b * block, 2);
    closed += 32.0 * 128 * 127 * Fp16ToF32(h) / 127.0;
  }
  EXPECT_NEAR(defined[0], closed, 1e-6 * std::fabs(closed));
  for (Isa isa : testing::TestableIsas()) {
    for (int64_t r : {int64_t{1}, rows}) {
      std::vector<float> y(static_cast<size_t>(r * n), NAN);
      cpu::MatMulOn(isa, w.view, x.data(), r, y.data(), nullptr);
      const std::vector<float> want(defined.begin(), defined.begin() + r * n);
      ASSERT_TRUE(SameBits(y, want)) << cpu::IsaName(isa) << " rows=" << r;
    }
  }
}

// A row's result never depends on the other rows of the call (decode vs
// chunked vs whole prefill) nor on the thread count.
TEST(QMatMulX8Test, BatchInvariant) {
  ThreadPool pool(2);
  const int64_t n = 56, cols = 320, rows = 70;
  for (DType t : kX8Types) {
    const OwnedWeight w = Repacked(MakeWeight(t, n, cols, 77));
    const std::vector<float> x = Activations(rows, cols, 78);
    for (Isa isa : testing::TestableIsas()) {
      std::vector<float> whole(static_cast<size_t>(rows * n));
      cpu::MatMulOn(isa, w.view, x.data(), rows, whole.data(), &pool);
      for (int64_t chunk : {1, 2, 3, 5, 64}) {
        std::vector<float> pieces(whole.size(), NAN);
        for (int64_t m = 0; m < rows; m += chunk) {
          const int64_t c = std::min(chunk, rows - m);
          cpu::MatMulOn(isa, w.view, x.data() + m * cols, c, pieces.data() + m * n, chunk % 2 ? nullptr : &pool);
        }
        ASSERT_TRUE(SameBits(pieces, whole)) << cpu::IsaName(isa) << " " << DTypeName(t) << " chunk=" << chunk;
      }
    }
  }
}

TEST(QMatMulX8Test, QuantizerKeepsEightTimesTheBlockSums) {
  const int64_t rows = 5, cols = 160;
  const std::vector<float> x = Activations(rows, cols, 9);
  for (Isa isa : testing::TestableIsas()) {
    cpu::ActBuffer buf;
    const cpu::QuantizedActs qa = buf.Reset(cpu::ActFormat::kBlock32, rows, cols);
    if (cpu::UsesAvx2(isa)) {
      avx2::QuantizeActs(x.data(), qa, 0, rows);
    } else {
      cpu::QuantizeActsPortable(x.data(), qa, 0, rows);
    }
    for (int64_t m = 0; m < rows; ++m) {
      for (int64_t b = 0; b < cols / 32; ++b) {
        int sum = 0;
        for (int i = 0; i < 32; ++i) sum += qa.q_row(m)[b * 32 + i];
        EXPECT_EQ(qa.corr32_row(m)[b], 8 * sum) << cpu::IsaName(isa) << " m=" << m << " b=" << b;
      }
    }
  }
}

// Fused Q/K/V with repacked weights, a file-order weight of the same type
// whose rows are off the slicing grain between them, and the fused gate/up.
TEST(QMatMulX8Test, FusedOpsEqualSeparateCalls) {
  std::vector<std::unique_ptr<ThreadPool>> pools;
  pools.push_back(nullptr);
  pools.push_back(std::make_unique<ThreadPool>(2));
  pools.push_back(std::make_unique<ThreadPool>(3));
  const int64_t cols = 512;
  for (DType t : kX8Types) {
    const OwnedWeight a = Repacked(MakeWeight(t, 48, cols, 1));
    const OwnedWeight b = MakeWeight(t, 21, cols, 2);
    const OwnedWeight c = Repacked(MakeWeight(t, 24, cols, 3));
    const WeightMatrix ws[3] = {a.view, b.view, c.view};
    const int64_t f = 152;
    const OwnedWeight gate = Repacked(MakeWeight(t, f, cols, 4));
    const OwnedWeight up = Repacked(MakeWeight(t, f, cols, 5));
    uint32_t seed = 10;
    for (Isa isa : testing::TestableIsas()) {
      for (int64_t rows : {1, 3, 17, 70, 300}) {
        const std::vector<float> x = RandomFloats(++seed, rows * cols, -2.0f, 2.0f);
        std::vector<float> want[3], got[3];
        for (int i = 0; i < 3; ++i) {
          want[i].resize(static_cast<size_t>(rows * ws[i].rows));
          cpu::MatMulOn(isa, ws[i], x.data(), rows, want[i].data(), nullptr);
        }
        std::vector<float> g(static_cast<size_t>(rows * f)), u(g.size()), act(g.size());
        cpu::MatMulOn(isa, gate.view, x.data(), rows, g.data(), nullptr);
        cpu::MatMulOn(isa, up.view, x.data(), rows, u.data(), nullptr);
        for (size_t i = 0; i < g.size(); ++i) act[i] = g[i] / (1.0f + cpu::ExpPortable(-g[i])) * u[i];
        for (auto& pool : pools) {
          for (int i = 0; i < 3; ++i) got[i].assign(want[i].size(), NAN);
          float* ys[3] = {got[0].data(), got[1].data(), got[2].data()};
          cpu::MatMulManyOn(isa, ws, 3, x.data(), rows, ys, pool.get());
          for (int i = 0; i < 3; ++i) {
            ASSERT_TRUE(SameBits(got[i], want[i]))
                << cpu::IsaName(isa) << " " << DTypeName(t) << " rows=" << rows << " weight " << i;
          }
          std::vector<float> fused(g.size(), NAN);
          cpu::MatMulSiluMulOn(isa, gate.view, up.view, x.data(), rows, fused.data(), pool.get());
          ASSERT_TRUE(SameBits(fused, act)) << cpu::IsaName(isa) << " " << DTypeName(t) << " rows=" << rows;
        }
      }
    }
  }
}

}  // namespace
}  // namespace pagoda
