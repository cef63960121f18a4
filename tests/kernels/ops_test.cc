// Element-wise ops against their references, plus the public dispatch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/cpu/reference.h"

namespace pagoda {
namespace {

using testing::RandomFloats;

TEST(OpsTest, KernelIsaNamesTheSelectedPath) {
  const std::string isa = KernelIsa();
  EXPECT_TRUE(isa == "avx2" || isa == "portable") << isa;
  const char* force = std::getenv("PAGODA_FORCE_PORTABLE");
  if (force != nullptr && std::string(force) == "1") {
    EXPECT_EQ(isa, "portable");
  }
  if (!cpu::CpuSupportsAvx2()) {
    EXPECT_EQ(isa, "portable");
  }
}

TEST(OpsTest, PublicMatMulMatchesReference) {
  ThreadPool pool(2);
  for (DType t : {DType::kF32, DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ6_K}) {
    const testing::OwnedWeight w = testing::MakeWeight(t, 37, 512, 3);
    const std::vector<float> x = RandomFloats(4, 3 * 512);
    std::vector<float> y(3 * 37), ref(3 * 37);
    MatMul(w.view, x.data(), 3, y.data(), &pool);
    if (GetDTypeInfo(t).block_size > 1) {
      ref::MatMulQuantizedActs(w.view, x.data(), 3, ref.data());
    } else {
      ref::MatMul(w.view, x.data(), 3, ref.data());
    }
    for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-4 * (1 + std::fabs(ref[i])));
  }
}

TEST(OpsTest, RmsNorm) {
  for (int64_t n : {1, 7, 64, 1000}) {
    for (int64_t rows : {1, 3, 17}) {
      const std::vector<float> x = RandomFloats(static_cast<uint32_t>(n * 31 + rows), rows * n, -3, 3);
      const std::vector<float> w = RandomFloats(static_cast<uint32_t>(n), n, 0.5f, 1.5f);
      std::vector<float> out(x.size()), ref(x.size());
      RmsNorm(x.data(), w.data(), rows, n, 1e-6f, out.data());
      ref::RmsNorm(x.data(), w.data(), rows, n, 1e-6f, ref.data());
      for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(out[i], ref[i], 1e-6f * std::fabs(ref[i]));
      // In place, and independent of the other rows.
      std::vector<float> inplace = x;
      RmsNorm(inplace.data(), w.data(), rows, n, 1e-6f, inplace.data());
      EXPECT_EQ(0, std::memcmp(inplace.data(), out.data(), out.size() * sizeof(float)));
      std::vector<float> last(static_cast<size_t>(n));
      RmsNorm(x.data() + (rows - 1) * n, w.data(), 1, n, 1e-6f, last.data());
      EXPECT_EQ(0, std::memcmp(last.data(), out.data() + (rows - 1) * n, n * sizeof(float)));
    }
  }
  // eps sits inside the square root: a zero-mean-square row gives x / sqrt(eps).
  const float tiny[2] = {1e-4f, -1e-4f};
  const float one[2] = {1.0f, 1.0f};
  float out[2];
  RmsNorm(tiny, one, 1, 2, 1e-2f, out);
  EXPECT_NEAR(out[0], 1e-4 / std::sqrt(1e-8 + 1e-2), 1e-9);
}

// Rotation by hand for one pair, independent of both implementations.
TEST(OpsTest, RopeRotatesTheRightPairs) {
  const int head_dim = 8, rotary_dim = 4;
  const float inv_freq[2] = {1.0f, 0.5f};
  const int32_t pos[1] = {3};
  for (bool interleaved : {true, false}) {
    std::vector<float> x = RandomFloats(9, head_dim);
    const std::vector<float> orig = x;
    Rope(x.data(), pos, 1, 1, head_dim, rotary_dim, inv_freq, interleaved);
    for (int i = 0; i < 2; ++i) {
      const int a = interleaved ? 2 * i : i;
      const int b = interleaved ? 2 * i + 1 : i + 2;
      const double ang = 3.0 * inv_freq[i];
      EXPECT_NEAR(x[a], orig[a] * std::cos(ang) - orig[b] * std::sin(ang), 1e-6);
      EXPECT_NEAR(x[b], orig[a] * std::sin(ang) + orig[b] * std::cos(ang), 1e-6);
    }
    for (int d = rotary_dim; d < head_dim; ++d) EXPECT_EQ(x[d], orig[d]);  // not rotated
  }
}

TEST(OpsTest, RopeMatchesReference) {
  for (bool interleaved : {true, false}) {
    for (int rotary_dim : {64, 32}) {
      const int head_dim = 64, heads = 3, tokens = 5;
      std::vector<float> inv_freq(rotary_dim / 2);
      for (int i = 0; i < rotary_dim / 2; ++i) {
        inv_freq[i] = static_cast<float>(std::pow(10000.0, -2.0 * i / rotary_dim));
      }
      const int32_t positions[tokens] = {0, 1, 17, 4095, 131071};
      std::vector<float> x = RandomFloats(12, tokens * heads * head_dim);
      std::vector<float> ref = x;
      Rope(x.data(), positions, tokens, heads, head_dim, rotary_dim, inv_freq.data(), interleaved);
      ref::Rope(ref.data(), positions, tokens, heads, head_dim, rotary_dim, inv_freq.data(),
                interleaved);
      for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], ref[i], 1e-6f) << i;
    }
  }
}

TEST(OpsTest, SiluMul) {
  for (int64_t n : {1, 9, 256, 1000}) {
    for (int64_t rows : {1, 4}) {
      const std::vector<float> gu = RandomFloats(static_cast<uint32_t>(n + rows), rows * 2 * n, -8, 8);
      std::vector<float> out(static_cast<size_t>(rows * n)), ref(out.size());
      SiluMul(gu.data(), rows, n, out.data());
      ref::SiluMul(gu.data(), rows, n, ref.data());
      for (size_t i = 0; i < out.size(); ++i) {
        EXPECT_NEAR(out[i], ref[i], 1e-6f * (1.0f + std::fabs(ref[i])));
      }
    }
  }
}

TEST(OpsTest, Add) {
  std::vector<float> a = RandomFloats(1, 1003), b = RandomFloats(2, 1003);
  std::vector<float> ref = a;
  Add(a.data(), b.data(), 1003);
  ref::Add(ref.data(), b.data(), 1003);
  EXPECT_EQ(0, std::memcmp(a.data(), ref.data(), a.size() * sizeof(float)));
}

TEST(OpsTest, WriteKvCache) {
  const int kv_heads = 2, head_dim = 8, width = kv_heads * head_dim;
  const int64_t slots = 4 * 16;
  const std::vector<float> k = RandomFloats(1, 5 * width), v = RandomFloats(2, 5 * width);
  const int64_t slot_mapping[5] = {17, 3, -1, 63, 40};
  std::vector<float> kc(slots * width, 7.0f), vc(slots * width, 7.0f);
  std::vector<float> kr = kc, vr = vc;
  WriteKvCache(k.data(), v.data(), slot_mapping, 5, kv_heads, head_dim, kc.data(), vc.data());
  ref::WriteKvCache(k.data(), v.data(), slot_mapping, 5, kv_heads, head_dim, kr.data(), vr.data());
  EXPECT_EQ(kc, kr);
  EXPECT_EQ(vc, vr);
  EXPECT_EQ(kc[17 * width + 3], k[0 * width + 3]);
  EXPECT_EQ(vc[63 * width + 15], v[3 * width + 15]);
  EXPECT_EQ(kc[0], 7.0f);  // untouched slot
}

}  // namespace
}  // namespace pagoda
