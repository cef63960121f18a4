// MatMul on F32/F16/BF16 weights repacked by eight (WeightLayout::kFloatX8):
// the layout changes only where the bytes sit, so on each instruction set
// every product — plain, fused (MatMulMany, MatMulSiluMul), one row or many,
// with or without threads — has the same bits as from the file-order
// matrix. The file-order kernels themselves are checked against the
// reference in matmul_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/repack.h"

namespace pagoda {
namespace {

using cpu::Isa;
using testing::MakeWeight;
using testing::OwnedWeight;
using testing::RandomFloats;
using testing::Repacked;
using testing::SameBits;

using Shape = testing::GroupedShape;

// Past the 16-row slice grain; cols a multiple of 8 but often not of 16 or
// 64, and past one 1024-column panel (whole panels and a narrower last one).
std::vector<Shape> RandomShapes(uint32_t seed, int count) {
  return testing::RandomGroupedShapes(seed, count, 11, 8, 40,
                                      {{8, 1, 8}, {24, 1, 1000}, {40, 5, 24}, {16, 67, 64}, {8, 70, 8},
                                       {48, 1, 2056}, {24, 5, 1032}, {40, 1, 4864}, {16, 3, 2048}});
}

const DType kFloatTypes[] = {DType::kF32, DType::kF16, DType::kBF16};

TEST(MatMulFloatX8Test, SameBitsAsFileOrder) {
  ThreadPool pool(3);
  uint32_t seed = 900;
  for (DType dtype : kFloatTypes) {
    for (const Shape& s : RandomShapes(31 + static_cast<uint32_t>(dtype), 20)) {
      const OwnedWeight file = MakeWeight(dtype, s.n, s.cols, ++seed);
      const OwnedWeight x8 = Repacked(file);
      const std::vector<float> x = RandomFloats(++seed, s.rows * s.cols, -2.0f, 2.0f);
      for (Isa isa : testing::TestableIsas()) {
        for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
          std::vector<float> want(static_cast<size_t>(s.rows * s.n), NAN), got = want;
          cpu::MatMulOn(isa, file.view, x.data(), s.rows, want.data(), p);
          cpu::MatMulOn(isa, x8.view, x.data(), s.rows, got.data(), p);
          ASSERT_TRUE(SameBits(got, want)) << DTypeName(dtype) << " " << cpu::IsaName(isa)
                                           << " N=" << s.n << " rows=" << s.rows << " K=" << s.cols
                                           << (p ? " pool" : "");
        }
      }
    }
  }
}

// Each row alone (decode's single-row tiles) equals the same row inside a
// batch (prefill's tiles): kFloatX8 keeps the kernels batch invariant.
TEST(MatMulFloatX8Test, BatchInvariant) {
  ThreadPool pool(2);
  const int64_t n = 56, cols = 328, rows = 70;
  for (DType dtype : kFloatTypes) {
    const OwnedWeight w = Repacked(MakeWeight(dtype, n, cols, 5));
    const std::vector<float> x = RandomFloats(6, rows * cols, -1.0f, 1.0f);
    for (Isa isa : testing::TestableIsas()) {
      std::vector<float> whole(static_cast<size_t>(rows * n));
      cpu::MatMulOn(isa, w.view, x.data(), rows, whole.data(), &pool);
      for (int64_t m = 0; m < rows; m += 7) {
        std::vector<float> one(static_cast<size_t>(n));
        cpu::MatMulOn(isa, w.view, x.data() + m * cols, 1, one.data(), m % 2 ? &pool : nullptr);
        const std::vector<float> part(whole.begin() + m * n, whole.begin() + (m + 1) * n);
        ASSERT_TRUE(SameBits(one, part)) << DTypeName(dtype) << " " << cpu::IsaName(isa) << " m=" << m;
      }
    }
  }
}

// The fused calls split their work differently (joint index space, chunks
// of gate and up): still the file order's bits.
TEST(MatMulFloatX8Test, FusedCallsMatchFileOrder) {
  ThreadPool pool(2);
  const int64_t cols = 136;
  for (DType dtype : kFloatTypes) {
    const OwnedWeight f[3] = {MakeWeight(dtype, 48, cols, 1), MakeWeight(dtype, 24, cols, 2),
                              MakeWeight(dtype, 24, cols, 3)};
    const OwnedWeight p[3] = {Repacked(f[0]), Repacked(f[1]), Repacked(f[2])};
    for (int64_t rows : {1, 3, 19}) {
      const std::vector<float> x = RandomFloats(static_cast<uint32_t>(rows), rows * cols, -1.0f, 1.0f);
      for (Isa isa : testing::TestableIsas()) {
        std::vector<std::vector<float>> want(3), got(3);
        float* wy[3];
        float* gy[3];
        for (int i = 0; i < 3; ++i) {
          want[i].assign(static_cast<size_t>(rows * f[i].view.rows), NAN);
          got[i] = want[i];
          wy[i] = want[i].data();
          gy[i] = got[i].data();
        }
        const WeightMatrix fv[3] = {f[0].view, f[1].view, f[2].view};
        const WeightMatrix pv[3] = {p[0].view, p[1].view, p[2].view};
        cpu::MatMulManyOn(isa, fv, 3, x.data(), rows, wy, &pool);
        cpu::MatMulManyOn(isa, pv, 3, x.data(), rows, gy, &pool);
        for (int i = 0; i < 3; ++i) ASSERT_TRUE(SameBits(got[i], want[i])) << "MatMulMany weight " << i;

        std::vector<float> silu_want(static_cast<size_t>(rows * 24)), silu_got(silu_want.size());
        cpu::MatMulSiluMulOn(isa, f[1].view, f[2].view, x.data(), rows, silu_want.data(), &pool);
        cpu::MatMulSiluMulOn(isa, p[1].view, p[2].view, x.data(), rows, silu_got.data(), &pool);
        ASSERT_TRUE(SameBits(silu_got, silu_want)) << DTypeName(dtype) << " " << cpu::IsaName(isa)
                                                   << " rows=" << rows;
      }
    }
  }
}

}  // namespace
}  // namespace pagoda
