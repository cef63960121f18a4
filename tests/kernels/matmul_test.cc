// MatMul: every path against the double-precision reference on the
// dequantized weights (for the block-quantized types: against the reference
// that quantizes the activations the same way, see qmatmul_test.cc for the
// rest of their parity tests), and batch invariance (bit-identical outputs
// whatever the number of rows, the row's place in the batch and the thread
// count).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/reference.h"

namespace pagoda {
namespace {

using cpu::Isa;
using testing::MakeWeight;
using testing::OwnedWeight;
using testing::RandomFloats;

const DType kAllTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0,
                           DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

// Column counts each format allows: any for float formats (including ones
// that are not multiples of 8), multiples of 32 / 256 for block formats.
std::vector<int64_t> ColsFor(DType t) {
  const int bs = GetDTypeInfo(t).block_size;
  if (bs == 1) return {1, 7, 8, 33, 200, 1030};
  if (bs == 32) return {32, 96, 224, 1056};
  return {256, 768};
}

// The error of a float sum of K products is bounded by a small multiple of
// K * eps * sum |x_k w_k|; 1e-5 of sum |terms| covers K up to ~1000 with a
// blocked order and still fails on any wrong term.
constexpr double kRelTol = 1e-5;

bool QuantizesActivations(DType t) { return GetDTypeInfo(t).block_size > 1; }

void ExpectMatchesReference(Isa isa, const OwnedWeight& w, int64_t rows, ThreadPool* pool,
                            uint32_t seed) {
  const WeightMatrix& wm = w.view;
  const std::vector<float> x = RandomFloats(seed, rows * wm.cols);
  std::vector<float> y(static_cast<size_t>(rows * wm.rows), NAN);
  std::vector<float> ref(y.size());
  cpu::MatMulOn(isa, wm, x.data(), rows, y.data(), pool);
  // The operand the reference multiplies: x itself, or x as quantized.
  std::vector<float> xr = x;
  if (QuantizesActivations(wm.dtype)) {
    ref::MatMulQuantizedActs(wm, x.data(), rows, ref.data());
    xr = testing::QuantizedActivations(wm.dtype, x, rows, wm.cols);
  } else {
    ref::MatMul(wm, x.data(), rows, ref.data());
  }
  for (int64_t n = 0; n < wm.rows; ++n) {
    const std::vector<float> wrow = testing::TermMagnitudes(wm.dtype, wm.data + n * wm.row_bytes, wm.cols);
    for (int64_t m = 0; m < rows; ++m) {
      double abs_sum = 0.0;
      for (int64_t k = 0; k < wm.cols; ++k) abs_sum += std::fabs(double{xr[m * wm.cols + k]} * wrow[k]);
      const double err = std::fabs(double{y[m * wm.rows + n]} - ref[m * wm.rows + n]);
      ASSERT_LE(err, kRelTol * abs_sum + 1e-30)
          << cpu::IsaName(isa) << " " << DTypeName(wm.dtype) << " rows=" << rows
          << " N=" << wm.rows << " K=" << wm.cols << " m=" << m << " n=" << n;
    }
  }
}

TEST(MatMulTest, MatchesReferenceOnEveryPath) {
  ThreadPool pool(3);
  uint32_t seed = 100;
  for (Isa isa : testing::TestableIsas()) {
    for (DType t : kAllTypes) {
      for (int64_t cols : ColsFor(t)) {
        for (int64_t n_out : {1, 5, 19, 40}) {
          const OwnedWeight w = MakeWeight(t, n_out, cols, ++seed);
          for (int64_t rows = 1; rows <= 17; ++rows) {
            ExpectMatchesReference(isa, w, rows, rows % 2 ? &pool : nullptr, ++seed);
          }
        }
      }
    }
  }
}

TEST(MatMulTest, LargerShapesWithPool) {
  ThreadPool pool(2);
  uint32_t seed = 900;
  for (Isa isa : testing::TestableIsas()) {
    for (DType t : kAllTypes) {
      const int64_t cols = GetDTypeInfo(t).block_size == 1 ? 1001 : 1024;
      const OwnedWeight w = MakeWeight(t, 300, cols, ++seed);
      for (int64_t rows : {1, 6, 13}) ExpectMatchesReference(isa, w, rows, &pool, ++seed);
    }
  }
}

// Strided rows: row_bytes larger than the packed row (a view into a fused
// or padded weight) must work too.
TEST(MatMulTest, PaddedRowStride) {
  for (Isa isa : testing::TestableIsas()) {
    for (DType t : kAllTypes) {
      const int64_t cols = GetDTypeInfo(t).block_size == 1 ? 40 : 256;
      const OwnedWeight packed = MakeWeight(t, 9, cols, 5);
      const size_t pad = 64;
      OwnedWeight w;
      w.bytes.resize((packed.view.row_bytes + pad) * 9);
      for (int r = 0; r < 9; ++r) {
        std::memcpy(w.bytes.data() + r * (packed.view.row_bytes + pad),
                    packed.bytes.data() + r * packed.view.row_bytes, packed.view.row_bytes);
      }
      w.view = packed.view;
      w.view.data = w.bytes.data();
      w.view.row_bytes = packed.view.row_bytes + pad;
      ExpectMatchesReference(isa, w, 7, nullptr, 6);
    }
  }
}

// With one-hot rows of x, y reads back single weights: every float path
// must widen exactly as DequantizeRow does (the sums add only zeros). The
// block types are exact in integers instead (qmatmul_test.cc).
TEST(MatMulTest, DequantizesExactly) {
  ThreadPool pool(2);
  for (Isa isa : testing::TestableIsas()) {
    for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
      const int64_t cols = GetDTypeInfo(t).block_size == 1 ? 45 : GetDTypeInfo(t).block_size * 2;
      const OwnedWeight w = MakeWeight(t, 11, cols, 77);
      std::vector<float> eye(static_cast<size_t>(cols * cols), 0.0f);
      for (int64_t k = 0; k < cols; ++k) eye[k * cols + k] = 1.0f;
      std::vector<float> y(static_cast<size_t>(cols * 11));
      cpu::MatMulOn(isa, w.view, eye.data(), cols, y.data(), &pool);
      std::vector<float> row(static_cast<size_t>(cols));
      for (int64_t n = 0; n < 11; ++n) {
        DequantizeRow(t, w.view.data + n * w.view.row_bytes, row.data(), cols);
        for (int64_t k = 0; k < cols; ++k) {
          ASSERT_EQ(y[k * 11 + n], row[k]) << cpu::IsaName(isa) << " " << DTypeName(t) << " n=" << n
                                           << " k=" << k;
        }
      }
    }
  }
}

// y computed for all rows at once, one row at a time, in uneven chunks, and
// with several thread counts must agree bit for bit.
TEST(MatMulTest, BatchInvariant) {
  constexpr int64_t kRows = 17;
  std::vector<std::unique_ptr<ThreadPool>> pools;
  for (int t : {1, 2, 3, 4}) pools.push_back(std::make_unique<ThreadPool>(t));
  uint32_t seed = 5000;
  for (Isa isa : testing::TestableIsas()) {
    for (DType t : kAllTypes) {
      const int64_t cols = GetDTypeInfo(t).block_size == 1 ? 1000 : 1024;
      for (int64_t n_out : {7, 100, 333}) {
        const OwnedWeight w = MakeWeight(t, n_out, cols, ++seed);
        const std::vector<float> x = RandomFloats(++seed, kRows * cols);
        std::vector<float> all(static_cast<size_t>(kRows * n_out));
        cpu::MatMulOn(isa, w.view, x.data(), kRows, all.data(), nullptr);

        auto check = [&](const std::vector<float>& y, const char* how) {
          ASSERT_EQ(0, std::memcmp(y.data(), all.data(), y.size() * sizeof(float)))
              << cpu::IsaName(isa) << " " << DTypeName(t) << " N=" << n_out << " " << how;
        };
        for (auto& pool : pools) {
          std::vector<float> y(all.size());
          cpu::MatMulOn(isa, w.view, x.data(), kRows, y.data(), pool.get());
          check(y, "threads");
          // One row at a time.
          std::vector<float> y1(all.size());
          for (int64_t m = 0; m < kRows; ++m) {
            cpu::MatMulOn(isa, w.view, x.data() + m * cols, 1, y1.data() + m * n_out, pool.get());
          }
          check(y1, "row by row");
          // Uneven chunks: 3, 5, 2, 7.
          std::vector<float> y2(all.size());
          int64_t m = 0;
          for (int64_t len : {3, 5, 2, 7}) {
            cpu::MatMulOn(isa, w.view, x.data() + m * cols, len, y2.data() + m * n_out,
                          pool.get());
            m += len;
          }
          check(y2, "chunks");
        }
      }
    }
  }
}

// Why F32 does not go through OpenBLAS: with 0.3.21 this fails (the same
// element differs between a 1-row and a 17-row sgemm, and between column
// slices of different widths). Disabled because it tests the library, not
// pagoda; run it with --gtest_also_run_disabled_tests after a BLAS upgrade.
TEST(MatMulTest, DISABLED_OpenBlasSgemmIsBatchInvariant) {
  constexpr int64_t kRows = 17, kCols = 1000, kOut = 100;
  const OwnedWeight w = MakeWeight(DType::kF32, kOut, kCols, 1);
  const std::vector<float> x = RandomFloats(2, kRows * kCols);
  std::vector<float> all(kRows * kOut), one(kRows * kOut), sliced(kRows * kOut);
  cpu::MatMulF32Blas(w.view, x.data(), kRows, all.data(), 0, kOut);
  for (int64_t m = 0; m < kRows; ++m) {
    cpu::MatMulF32Blas(w.view, x.data() + m * kCols, 1, one.data() + m * kOut, 0, kOut);
  }
  for (int64_t n0 = 0; n0 < kOut; n0 += 48) {
    cpu::MatMulF32Blas(w.view, x.data(), kRows, sliced.data(), n0, std::min(kOut, n0 + 48));
  }
  EXPECT_EQ(0, std::memcmp(one.data(), all.data(), all.size() * sizeof(float))) << "row by row";
  EXPECT_EQ(0, std::memcmp(sliced.data(), all.data(), all.size() * sizeof(float))) << "slices";
}

}  // namespace
}  // namespace pagoda
