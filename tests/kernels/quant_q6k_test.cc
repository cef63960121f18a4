// The Q6_K quantizer (used by `pagoda mkmodel --output-dtype q6_k`): what it
// writes reads back through the dequantizer within half a step of each
// sub-block's scale, plus the scale's own 8-bit rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "kernels/cpu/quant.h"
#include "kernels/ops.h"

namespace pagoda {
namespace {

TEST(QuantQ6KTest, RoundTripWithinTheStep) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> magnitude(-4.0f, 2.0f);
  constexpr int kBlocks = 24;
  std::vector<float> x(256 * kBlocks);
  // Sub-blocks of very different sizes, and one all-zero sub-block and one
  // all-zero super-block: the 8-bit sub-block scales must cope with both.
  for (int j = 0; j < 16 * kBlocks; ++j) {
    const float scale = j == 5 ? 0.0f : std::pow(10.0f, magnitude(rng));
    for (int i = 0; i < 16; ++i) x[16 * j + i] = scale * normal(rng);
  }
  for (int i = 256 * 3; i < 256 * 4; ++i) x[i] = 0.0f;
  std::vector<cpu::BlockQ6K> q(kBlocks);
  QuantizeRow(DType::kQ6_K, x.data(), q.data(), static_cast<int64_t>(x.size()));
  std::vector<float> y(x.size());
  DequantizeRow(DType::kQ6_K, q.data(), y.data(), static_cast<int64_t>(x.size()));
  double err2 = 0, x2 = 0;
  for (int b = 0; b < kBlocks; ++b) {
    const float d = Fp16ToF32(q[b].d);
    for (int j = 0; j < 16; ++j) {
      const float step = std::fabs(d * q[b].scales[j]);
      for (int i = 0; i < 16; ++i) {
        const int e = 256 * b + 16 * j + i;
        // Half a step of rounding, a step where the largest value of the
        // other sign clamps at +31, and up to 16 half-steps of d where the
        // sub-block scale itself was rounded to an integer multiple of d.
        const float bound = step + 16.0f * std::fabs(d) + 1e-30f;
        ASSERT_LE(std::fabs(y[e] - x[e]), bound) << "block " << b << " sub-block " << j << " element " << i;
        err2 += (y[e] - x[e]) * static_cast<double>(y[e] - x[e]);
        x2 += static_cast<double>(x[e]) * x[e];
      }
    }
  }
  for (int i = 256 * 3; i < 256 * 4; ++i) EXPECT_EQ(y[i], 0.0f);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(y[16 * 5 + i], 0.0f);
  // 64 levels per sub-block: the rms error is a few percent of the signal.
  EXPECT_LT(std::sqrt(err2 / x2), 0.05);
}

TEST(QuantQ6KTest, ExactLevelsComeBackExactly) {
  // Values that are already d * scale * (q - 32) with an fp16 d and a
  // maximal sub-block scale quantize to themselves.
  std::vector<float> x(256);
  const float d = 0.25f;
  for (int j = 0; j < 16; ++j) {
    for (int i = 0; i < 16; ++i) x[16 * j + i] = d * 127.0f * static_cast<float>((i * 5 + j) % 63 - 31);
    x[16 * j] = d * 127.0f * -32.0f;  // each sub-block's largest magnitude sets its scale
  }
  cpu::BlockQ6K q;
  QuantizeRow(DType::kQ6_K, x.data(), &q, 256);
  std::vector<float> y(256);
  DequantizeRow(DType::kQ6_K, &q, y.data(), 256);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(y[i], x[i]) << i;
}

}  // namespace
}  // namespace pagoda
