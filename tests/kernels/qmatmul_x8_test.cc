// MatMul on Q4_0 repacked by eight (WeightLayout::kQ4_0x8): the AVX2 and
// portable paths against each other (bit for bit) and against a plain
// double-precision product of the same operands; batch invariance (a row
// computed alone, in any batch, with or without threads: the same bits);
// the fused MatMulMany / MatMulSiluMul against separate calls; and the
// per-block q sums the kernels subtract.
#include <gtest/gtest.h>

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

// 1..9 groups, 1..9 blocks: none a multiple of the tiles.
std::vector<Shape> RandomShapes(uint32_t seed, int count) {
  return testing::RandomGroupedShapes(seed, count, 9, 32, 9,
                                      {{8, 1, 32}, {24, 1, 96}, {16, 5, 32}, {40, 67, 64}, {8, 70, 288}});
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

// Tolerance against the double product: each block adds one float fma whose
// rounding is at most 2^-24 of the running sum, and d_w * d_x is rounded
// once (2^-24 of its term); every partial sum is bounded by
// A = sum_k |w_k q_k d_x|, so |y - exact| <= (blocks + 2) * 2^-24 * A.
TEST(QMatMulX8Test, PathsAgreeBitForBitAndMatchTheDoubleProduct) {
  ThreadPool pool(3);
  uint32_t seed = 40;
  for (const Shape& s : RandomShapes(17, 24)) {
    const OwnedWeight file = MakeWeight(DType::kQ4_0, s.n, s.cols, ++seed);
    const OwnedWeight w = Repacked(file);
    const std::vector<float> x = Activations(s.rows, s.cols, ++seed);
    const std::vector<float> xq = testing::QuantizedActivations(DType::kQ4_0, x, s.rows, s.cols);
    std::vector<float> wrow(static_cast<size_t>(s.cols));
    std::vector<std::vector<float>> outs;
    for (Isa isa : testing::TestableIsas()) {
      std::vector<float> y(static_cast<size_t>(s.rows * s.n), NAN);
      cpu::MatMulOn(isa, w.view, x.data(), s.rows, y.data(), seed % 2 ? &pool : nullptr);
      for (int64_t n = 0; n < s.n; ++n) {
        DequantizeRow(DType::kQ4_0, file.view.data + n * file.view.row_bytes, wrow.data(), s.cols);
        for (int64_t m = 0; m < s.rows; ++m) {
          double exact = 0.0, abs_sum = 0.0;
          for (int64_t k = 0; k < s.cols; ++k) {
            const double t = double{wrow[k]} * xq[m * s.cols + k];
            exact += t;
            abs_sum += std::fabs(t);
          }
          const double tol = static_cast<double>(s.cols / 32 + 2) * std::ldexp(1.0, -24) * abs_sum + 1e-30;
          ASSERT_NEAR(y[m * s.n + n], exact, tol) << cpu::IsaName(isa) << " N=" << s.n << " rows=" << s.rows
                                                  << " K=" << s.cols << " m=" << m << " n=" << n;
        }
      }
      outs.push_back(std::move(y));
    }
    for (size_t i = 1; i < outs.size(); ++i) {
      ASSERT_TRUE(SameBits(outs[i], outs[0])) << "N=" << s.n << " rows=" << s.rows << " K=" << s.cols;
    }
  }
}

// A row's result never depends on the other rows of the call (decode vs
// chunked vs whole prefill) nor on the thread count.
TEST(QMatMulX8Test, BatchInvariant) {
  ThreadPool pool(2);
  const int64_t n = 56, cols = 320, rows = 70;
  const OwnedWeight w = Repacked(MakeWeight(DType::kQ4_0, n, cols, 77));
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
      ASSERT_TRUE(SameBits(pieces, whole)) << cpu::IsaName(isa) << " chunk=" << chunk;
    }
  }
}

TEST(QMatMulX8Test, QuantizerKeepsEightTimesTheBlockSums) {
  const int64_t rows = 5, cols = 160;
  const std::vector<float> x = Activations(rows, cols, 9);
  for (Isa isa : testing::TestableIsas()) {
    cpu::ActBuffer buf;
    const cpu::QuantizedActs qa = buf.Reset(cpu::ActFormat::kBlock32, rows, cols);
    if (isa == Isa::kAvx2) {
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

// Fused Q/K/V with repacked weights, a file-order Q4_0 weight whose rows
// are off the slicing grain between them, and the fused gate/up.
TEST(QMatMulX8Test, FusedOpsEqualSeparateCalls) {
  std::vector<std::unique_ptr<ThreadPool>> pools;
  pools.push_back(nullptr);
  pools.push_back(std::make_unique<ThreadPool>(2));
  pools.push_back(std::make_unique<ThreadPool>(3));
  const int64_t cols = 512;
  const OwnedWeight a = Repacked(MakeWeight(DType::kQ4_0, 48, cols, 1));
  const OwnedWeight b = MakeWeight(DType::kQ4_0, 21, cols, 2);
  const OwnedWeight c = Repacked(MakeWeight(DType::kQ4_0, 24, cols, 3));
  const WeightMatrix ws[3] = {a.view, b.view, c.view};
  const int64_t f = 152;
  const OwnedWeight gate = Repacked(MakeWeight(DType::kQ4_0, f, cols, 4));
  const OwnedWeight up = Repacked(MakeWeight(DType::kQ4_0, f, cols, 5));
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
          ASSERT_TRUE(SameBits(got[i], want[i])) << cpu::IsaName(isa) << " rows=" << rows << " weight " << i;
        }
        std::vector<float> fused(g.size(), NAN);
        cpu::MatMulSiluMulOn(isa, gate.view, up.view, x.data(), rows, fused.data(), pool.get());
        ASSERT_TRUE(SameBits(fused, act)) << cpu::IsaName(isa) << " rows=" << rows;
      }
    }
  }
}

}  // namespace
}  // namespace pagoda
