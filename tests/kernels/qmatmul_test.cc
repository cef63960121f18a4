// Quantized-activation MatMul (kernels/cpu/qmatmul.h): the activation
// quantizer of every path against the element-by-element reference, bit for
// bit; the integer-dot kernels of the AVX2 and portable paths against each
// other (bit for bit) and against the double-precision product of the same
// quantized operands, on random shapes that are not multiples of the tiles;
// their distance from the float-activation product; and the fused
// MatMulMany / MatMulSiluMul against separate calls.
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

using cpu::ActBuffer;
using cpu::ActFormat;
using cpu::Isa;
using cpu::QuantizedActs;
using testing::MakeWeight;
using testing::OwnedWeight;
using testing::RandomFloats;

const DType kBlockTypes[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ5_K,
                             DType::kQ6_K};

// Rows that exercise the quantizer's corners: exact ties (amax 127 makes the
// scale 1, so halves tie), an all-zero block, one lone value, outliers.
std::vector<float> AwkwardRows(int64_t rows, int64_t cols, uint32_t seed) {
  std::vector<float> x = RandomFloats(seed, rows * cols, -2.0f, 2.0f);
  std::mt19937 rng(seed);
  for (int64_t m = 0; m < rows; ++m) {
    float* r = x.data() + m * cols;
    switch (m % 5) {
      case 0:
        for (int64_t k = 0; k < cols; ++k) r[k] = static_cast<float>(static_cast<int>(rng() % 255) - 127) + 0.5f;
        r[0] = 127.0f;
        if (cols > 32) r[32] = -127.0f;
        break;
      case 1:
        for (int64_t k = 0; k < std::min<int64_t>(cols, 32); ++k) r[k] = 0.0f;
        break;
      case 2:
        for (int64_t k = 0; k < cols; ++k) r[k] = k % 37 == 3 ? 1e-3f : 0.0f;
        break;
      case 3:
        r[cols / 2] = 3e4f;
        break;
      default:
        break;
    }
  }
  return x;
}

QuantizedActs QuantizeOn(Isa isa, ActBuffer& buf, ActFormat f, const std::vector<float>& x,
                         int64_t rows, int64_t cols) {
  const QuantizedActs qa = buf.Reset(f, rows, cols);
  if (cpu::UsesAvx2(isa)) {
    avx2::QuantizeActs(x.data(), qa, 0, rows);
  } else {
    cpu::QuantizeActsPortable(x.data(), qa, 0, rows);
  }
  return qa;
}

TEST(QuantizeActsTest, EveryPathMatchesTheReferenceBitForBit) {
  for (ActFormat f : {ActFormat::kBlock32, ActFormat::kBlock256}) {
    const int block = cpu::ActBlock(f);
    for (int64_t cols : {int64_t{block}, int64_t{3 * block}, int64_t{8 * block}}) {
      const int64_t rows = 7;
      const std::vector<float> x = AwkwardRows(rows, cols, static_cast<uint32_t>(cols));
      std::vector<int8_t> q(static_cast<size_t>(cols));
      std::vector<float> d(static_cast<size_t>(cols / block));
      std::vector<int16_t> bsums(static_cast<size_t>(cols / 16));
      for (Isa isa : testing::TestableIsas()) {
        ActBuffer buf;
        const QuantizedActs qa = QuantizeOn(isa, buf, f, x, rows, cols);
        for (int64_t m = 0; m < rows; ++m) {
          ref::QuantizeActivationRow(block, x.data() + m * cols, cols, q.data(), d.data(),
                                     bsums.data());
          ASSERT_EQ(0, std::memcmp(qa.q_row(m), q.data(), q.size())) << cpu::IsaName(isa) << " row " << m;
          ASSERT_EQ(0, std::memcmp(qa.d_row(m), d.data(), d.size() * sizeof(float)))
              << cpu::IsaName(isa) << " row " << m;
          if (f == ActFormat::kBlock256) {
            ASSERT_EQ(0, std::memcmp(qa.bsums_row(m), bsums.data(), bsums.size() * sizeof(int16_t)))
                << cpu::IsaName(isa) << " row " << m;
          }
        }
      }
    }
  }
}

TEST(QuantizeActsTest, TiesRoundToEvenAndScaleIsAmaxOver127) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;  // amax 127: d = 1, id = 1
  x[1] = 0.5f;
  x[2] = 1.5f;
  x[3] = -2.5f;
  x[4] = 2.5000002f;
  for (Isa isa : testing::TestableIsas()) {
    ActBuffer buf;
    const QuantizedActs qa = QuantizeOn(isa, buf, ActFormat::kBlock32, x, 1, 32);
    EXPECT_EQ(qa.d[0], 1.0f);
    EXPECT_EQ(qa.q[0], 127);
    EXPECT_EQ(qa.q[1], 0);
    EXPECT_EQ(qa.q[2], 2);
    EXPECT_EQ(qa.q[3], -2);
    EXPECT_EQ(qa.q[4], 3);
  }
}

// Random shapes, none of them tile-friendly: weight rows 1..70, x rows
// 1..70 (past the 64-row blocks of the batched kernels), 1..9 blocks.
struct Shape {
  int64_t n, rows, cols;
};

std::vector<Shape> RandomShapes(DType t, uint32_t seed, int count) {
  std::mt19937 rng(seed);
  const int block = GetDTypeInfo(t).block_size;
  std::vector<Shape> shapes = {{1, 1, block}, {4, 1, 2 * block}, {5, 4, block}, {3, 67, 2 * block}};
  for (int i = 0; i < count; ++i) {
    const int64_t n = 1 + static_cast<int64_t>(rng() % 70);
    const int64_t rows = rng() % 3 == 0 ? 1 + static_cast<int64_t>(rng() % 70)
                                         : 1 + static_cast<int64_t>(rng() % 9);
    const int64_t cols = block * (1 + static_cast<int64_t>(rng() % (block == 32 ? 9 : 4)));
    shapes.push_back({n, rows, cols});
  }
  return shapes;
}

TEST(QMatMulTest, AllPathsMatchTheQuantizedReference) {
  ThreadPool pool(3);
  uint32_t seed = 1;
  for (DType t : kBlockTypes) {
    for (const Shape& s : RandomShapes(t, static_cast<uint32_t>(t) * 7 + 1, 12)) {
      const OwnedWeight w = MakeWeight(t, s.n, s.cols, ++seed);
      const std::vector<float> x = AwkwardRows(s.rows, s.cols, ++seed);
      std::vector<float> ref(static_cast<size_t>(s.rows * s.n));
      ref::MatMulQuantizedActs(w.view, x.data(), s.rows, ref.data());
      const std::vector<float> xq = testing::QuantizedActivations(t, x, s.rows, s.cols);
      std::vector<std::vector<float>> outs;
      for (Isa isa : testing::TestableIsas()) {
        std::vector<float> y(ref.size(), NAN);
        cpu::MatMulOn(isa, w.view, x.data(), s.rows, y.data(), seed % 2 ? &pool : nullptr);
        for (int64_t n = 0; n < s.n; ++n) {
          const std::vector<float> wrow =
              testing::TermMagnitudes(t, w.view.data + n * w.view.row_bytes, s.cols);
          for (int64_t m = 0; m < s.rows; ++m) {
            double abs_sum = 0.0;
            for (int64_t k = 0; k < s.cols; ++k) abs_sum += std::fabs(double{xq[m * s.cols + k]} * wrow[k]);
            ASSERT_NEAR(y[m * s.n + n], ref[m * s.n + n], 1e-5 * abs_sum + 1e-30)
                << cpu::IsaName(isa) << " " << DTypeName(t) << " N=" << s.n << " rows=" << s.rows
                << " K=" << s.cols << " m=" << m << " n=" << n;
          }
        }
        outs.push_back(std::move(y));
      }
      // The arithmetic is fixed to the last bit: both paths agree exactly.
      for (size_t i = 1; i < outs.size(); ++i) {
        ASSERT_EQ(0, std::memcmp(outs[i].data(), outs[0].data(), outs[0].size() * sizeof(float)))
            << DTypeName(t) << " N=" << s.n << " rows=" << s.rows << " K=" << s.cols;
      }
    }
  }
}

// Q8_0 blocks written by other tools may hold -128, which ggml's quantizer
// never makes: |w| then overflows int8 and must still multiply right.
TEST(QMatMulTest, Q8_0MinusOneTwentyEight) {
  OwnedWeight w = MakeWeight(DType::kQ8_0, 6, 96, 3);
  for (size_t i = 2; i < w.bytes.size(); i += 7) {
    if (i % sizeof(BlockQ8_0) >= 2) w.bytes[i] = 0x80;
  }
  const std::vector<float> x = RandomFloats(4, 3 * 96);
  std::vector<float> ref(18), y(18);
  ref::MatMulQuantizedActs(w.view, x.data(), 3, ref.data());
  for (Isa isa : testing::TestableIsas()) {
    cpu::MatMulOn(isa, w.view, x.data(), 3, y.data(), nullptr);
    for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-5 * (1 + std::fabs(ref[i]))) << i;
  }
}

// Against float activations the only new error is the activation rounding:
// |x - q d| <= d / 2 per element, so |dy| <= sum_k |w_k| d_k / 2 (+ float
// rounding). For unit-range data that is ~1e-3 of sum |w x|.
TEST(QMatMulTest, CloseToTheFloatActivationProduct) {
  uint32_t seed = 300;
  for (DType t : kBlockTypes) {
    const int block = GetDTypeInfo(t).block_size;
    const int64_t cols = block == 32 ? 1024 : 1024, n_out = 33, rows = 5;
    const OwnedWeight w = MakeWeight(t, n_out, cols, ++seed);
    const std::vector<float> x = RandomFloats(++seed, rows * cols);
    std::vector<float> exact(static_cast<size_t>(rows * n_out));
    ref::MatMul(w.view, x.data(), rows, exact.data());
    std::vector<int8_t> q(static_cast<size_t>(cols));
    std::vector<float> d(static_cast<size_t>(cols / block)), wrow(static_cast<size_t>(cols));
    for (Isa isa : testing::TestableIsas()) {
      std::vector<float> y(exact.size());
      cpu::MatMulOn(isa, w.view, x.data(), rows, y.data(), nullptr);
      for (int64_t m = 0; m < rows; ++m) {
        ref::QuantizeActivationRow(block, x.data() + m * cols, cols, q.data(), d.data(), nullptr);
        for (int64_t n = 0; n < n_out; ++n) {
          DequantizeRow(t, w.view.data + n * w.view.row_bytes, wrow.data(), cols);
          double bound = 0.0, abs_sum = 0.0;
          for (int64_t k = 0; k < cols; ++k) {
            bound += std::fabs(double{wrow[k]}) * d[k / block] / 2;
            abs_sum += std::fabs(double{wrow[k]} * x[m * cols + k]);
          }
          EXPECT_LE(std::fabs(double{y[m * n_out + n]} - exact[m * n_out + n]), bound + 1e-5 * abs_sum)
              << cpu::IsaName(isa) << " " << DTypeName(t) << " m=" << m << " n=" << n;
        }
      }
    }
  }
}

const DType kAllTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0,
                           DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

TEST(MatMulManyTest, SameBitsAsSeparateCalls) {
  std::vector<std::unique_ptr<ThreadPool>> pools;
  pools.push_back(nullptr);
  pools.push_back(std::make_unique<ThreadPool>(2));
  pools.push_back(std::make_unique<ThreadPool>(3));
  uint32_t seed = 700;
  for (Isa isa : testing::TestableIsas()) {
    for (DType t : kAllTypes) {
      const int64_t cols = GetDTypeInfo(t).block_size == 1 ? 200 : 512;
      // Q, K, V shapes: one wide, two narrow, sizes off the 16-grain.
      const OwnedWeight a = MakeWeight(t, 48, cols, ++seed);
      const OwnedWeight b = MakeWeight(t, 21, cols, ++seed);
      const OwnedWeight c = MakeWeight(t, 16, cols, ++seed);
      const WeightMatrix ws[3] = {a.view, b.view, c.view};
      for (int64_t rows : {1, 3, 17, 70}) {
        const std::vector<float> x = RandomFloats(++seed, rows * cols);
        std::vector<float> want[3], got[3];
        for (int i = 0; i < 3; ++i) {
          want[i].resize(static_cast<size_t>(rows * ws[i].rows));
          got[i].assign(want[i].size(), NAN);
          cpu::MatMulOn(isa, ws[i], x.data(), rows, want[i].data(), nullptr);
        }
        for (auto& pool : pools) {
          float* ys[3] = {got[0].data(), got[1].data(), got[2].data()};
          cpu::MatMulManyOn(isa, ws, 3, x.data(), rows, ys, pool.get());
          for (int i = 0; i < 3; ++i) {
            ASSERT_EQ(0, std::memcmp(got[i].data(), want[i].data(), want[i].size() * sizeof(float)))
                << cpu::IsaName(isa) << " " << DTypeName(t) << " rows=" << rows << " weight " << i;
          }
        }
      }
    }
  }
}

TEST(MatMulSiluMulTest, SameBitsAsSeparateCallsThenSiluMul) {
  ThreadPool pool(2);
  uint32_t seed = 900;
  for (Isa isa : testing::TestableIsas()) {
    for (DType t : kAllTypes) {
      const int64_t cols = GetDTypeInfo(t).block_size == 1 ? 72 : 256;
      // 150 features: from 256 rows up the op works in chunks of 64
      // features, so 300 rows cross two chunk boundaries, not at a multiple.
      const int64_t f = 150;
      const OwnedWeight gate = MakeWeight(t, f, cols, ++seed);
      const OwnedWeight up = MakeWeight(t, f, cols, ++seed);
      for (int64_t rows : {1, 5, 66, 300}) {
        const std::vector<float> x = RandomFloats(++seed, rows * cols, -2.0f, 2.0f);
        std::vector<float> g(static_cast<size_t>(rows * f)), u(g.size()), want(g.size());
        cpu::MatMulOn(isa, gate.view, x.data(), rows, g.data(), nullptr);
        cpu::MatMulOn(isa, up.view, x.data(), rows, u.data(), nullptr);
        for (size_t i = 0; i < g.size(); ++i) want[i] = g[i] / (1.0f + cpu::ExpPortable(-g[i])) * u[i];
        for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
          std::vector<float> got(g.size(), NAN);
          cpu::MatMulSiluMulOn(isa, gate.view, up.view, x.data(), rows, got.data(), p);
          ASSERT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float)))
              << cpu::IsaName(isa) << " " << DTypeName(t) << " rows=" << rows;
        }
      }
    }
  }
}

}  // namespace
}  // namespace pagoda
