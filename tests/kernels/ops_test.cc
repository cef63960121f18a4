// Element-wise ops against their references, plus the public dispatch, and
// the float16 KV cache write's rounding against known bit patterns and the
// compiler's own _Float16 conversion (ref::HalfBits).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/reference.h"
#include "kernels/cpu/vec.h"

namespace pagoda {
namespace {

using testing::RandomFloats;

TEST(OpsTest, KernelIsaNamesTheSelectedPath) {
  const std::string isa = KernelIsa();
  EXPECT_TRUE(isa == "avx512vnni" || isa == "avx2" || isa == "portable") << isa;
  const char* force = std::getenv("PAGODA_FORCE_PORTABLE");
  if (force != nullptr && std::string(force) == "1") {
    EXPECT_EQ(isa, "portable");
  }
  if (!cpu::CpuSupportsAvx2()) {
    EXPECT_EQ(isa, "portable");
  }
  const char* avx2 = std::getenv("PAGODA_FORCE_AVX2");
  const bool forced = (force != nullptr && std::string(force) == "1") || (avx2 != nullptr && std::string(avx2) == "1");
  if (cpu::CpuSupportsAvx512Vnni() && !forced) {
    EXPECT_EQ(isa, "avx512vnni");
  }
  if (!cpu::CpuSupportsAvx512Vnni()) {
    EXPECT_NE(isa, "avx512vnni");
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

// The MLP activation's two paths give the same bits (vec.h's contract), on
// lengths that are not multiples of the vector and on arguments where exp
// saturates (|g| up to 100) or g is 0.
TEST(OpsTest, SiluMulPathsGiveTheSameBits) {
  if (!cpu::CpuSupportsAvx2()) GTEST_SKIP() << "this CPU has no AVX2 path to compare";
  for (int64_t n : {1, 7, 8, 9, 31, 1000, 4864}) {
    std::vector<float> g = RandomFloats(static_cast<uint32_t>(n), n, -100, 100);
    const std::vector<float> u = RandomFloats(static_cast<uint32_t>(n + 1), n, -4, 4);
    g[0] = 0.0f;
    std::vector<float> portable(static_cast<size_t>(n)), avx2(static_cast<size_t>(n));
    cpu::SiluMulPortable(g.data(), u.data(), portable.data(), n);
    avx2::SiluMul(g.data(), u.data(), avx2.data(), n);
    EXPECT_EQ(0, std::memcmp(portable.data(), avx2.data(), portable.size() * sizeof(float))) << "n = " << n;
  }
}

TEST(OpsTest, Add) {
  std::vector<float> a = RandomFloats(1, 1003), b = RandomFloats(2, 1003);
  std::vector<float> ref = a;
  Add(a.data(), b.data(), 1003);
  ref::Add(ref.data(), b.data(), 1003);
  EXPECT_EQ(0, std::memcmp(a.data(), ref.data(), a.size() * sizeof(float)));
}

// The public WriteKvCache against the reference on a cache of element type
// T poisoned with `poison`: k and v rows in the given ranges, five tokens
// (one padding), slots out of order, blocks of block_size. Every value is
// then looked up where kernels/ops.h's layout says it lives: token t's
// K[h][d] at ((b * kv_heads + h) * head_dim + d) * block_size + o, its
// V[h][d] at ((b * kv_heads + h) * block_size + o) * head_dim + d, for
// slot = b * block_size + o; nothing else is written. Returns the K cache.
template <class T>
std::vector<T> CheckWriteKvCacheLayout(int block_size, T poison, float k_range, float v_range) {
  const int kv_heads = 3, head_dim = 12, width = kv_heads * head_dim;
  const int64_t slots = 8 * block_size;
  const std::vector<float> k = RandomFloats(1, 5 * width, -k_range, k_range);
  const std::vector<float> v = RandomFloats(2, 5 * width, -v_range, v_range);
  const int64_t slot_mapping[5] = {block_size + 1, 3, -1, slots - 1,
                                    5 * block_size + block_size / 2};
  std::vector<T> kc(slots * width, poison), vc(slots * width, poison);
  std::vector<T> kr = kc, vr = vc;
  WriteKvCache(k.data(), v.data(), slot_mapping, 5, kv_heads, head_dim, block_size, kc.data(),
               vc.data());
  ref::WriteKvCache(k.data(), v.data(), slot_mapping, 5, kv_heads, head_dim, block_size, kr.data(),
                    vr.data());
  EXPECT_EQ(kc, kr);
  EXPECT_EQ(vc, vr);
  auto stored = [](float x) {
    if constexpr (std::is_same_v<T, float>) {
      return x;
    } else {
      return ref::HalfBits(x);
    }
  };
  std::vector<T> k_expect(kc.size(), poison), v_expect(vc.size(), poison);
  for (int t = 0; t < 5; ++t) {
    if (slot_mapping[t] < 0) continue;
    const int64_t b = slot_mapping[t] / block_size, o = slot_mapping[t] % block_size;
    for (int h = 0; h < kv_heads; ++h) {
      for (int d = 0; d < head_dim; ++d) {
        const float kx = k[t * width + h * head_dim + d], vx = v[t * width + h * head_dim + d];
        k_expect[((b * kv_heads + h) * head_dim + d) * block_size + o] = stored(kx);
        v_expect[((b * kv_heads + h) * block_size + o) * head_dim + d] = stored(vx);
      }
    }
  }
  EXPECT_EQ(kc, k_expect) << "K layout, block_size " << block_size;
  EXPECT_EQ(vc, v_expect) << "V layout, block_size " << block_size;
  return kc;
}

TEST(OpsTest, WriteKvCacheLayout) {
  for (int block_size : {16, 5, 1}) CheckWriteKvCacheLayout<float>(block_size, 7.0f, 1, 1);
}

// Past the half range (overflow to inf) and deep in its subnormals.
TEST(OpsTest, WriteKvCacheFloat16Layout) {
  for (int block_size : {16, 5, 1}) {
    const std::vector<uint16_t> kc = CheckWriteKvCacheLayout<uint16_t>(block_size, 0x7777, 70000, 1e-4f);
    // Some K overflowed to inf.
    EXPECT_NE(std::count_if(kc.begin(), kc.end(), [](uint16_t h) { return (h & 0x7fff) == 0x7c00; }), 0);
  }
}

float FromBits(uint32_t u) { return Bits2F32(u); }

// Rounds `values` through the float16 cache write on `isa` (as K; V gets
// the negated values) and returns the stored K halves.
std::vector<uint16_t> WriteHalves(cpu::Isa isa, const std::vector<float>& values) {
  const int64_t n = static_cast<int64_t>(values.size());
  std::vector<float> neg(values.size());
  for (size_t i = 0; i < values.size(); ++i) neg[i] = -values[i];
  std::vector<uint16_t> kc(values.size(), 0x1234), vc(values.size(), 0x1234);
  const int64_t slot = 0;
  // One token, one kv head of head_dim n, blocks of one slot (so K, like V,
  // holds the row as is): n need not be a multiple of 8, so the AVX2 path's
  // scalar tail is covered too.
  cpu::WriteKvCacheOn(isa, values.data(), neg.data(), &slot, 1, 1, static_cast<int>(n), 1,
                      kc.data(), vc.data());
  for (int64_t i = 0; i < n; ++i) {
    // V holds -x: the same half with the sign bit flipped (NaNs included).
    EXPECT_EQ(vc[i], kc[i] ^ 0x8000) << cpu::IsaName(isa) << " element " << i;
  }
  return kc;
}

TEST(OpsTest, WriteKvCacheFloat16KnownRoundings) {
  struct Known {
    float x;
    uint16_t half;
  };
  const float ulp1 = std::ldexp(1.0f, -10);  // half ulp at 1.0
  const std::vector<Known> known = {
      {1.0f, 0x3c00},
      {-2.0f, 0xc000},
      {0.0f, 0x0000},
      {-0.0f, 0x8000},
      {1.0f + ulp1 / 2, 0x3c00},                          // tie -> even (down)
      {1.0f + 3 * ulp1 / 2, 0x3c02},                      // tie -> even (up)
      {1.0f + ulp1 / 2 + std::ldexp(1.0f, -20), 0x3c01},  // just above the tie
      {0.1f, 0x2e66},
      {65504.0f, 0x7bff},                       // largest finite half
      {65519.996f, 0x7bff},                     // just below the midpoint
      {65520.0f, 0x7c00},                       // midpoint -> even = inf
      {1e6f, 0x7c00},                           // overflow -> inf
      {-1e30f, 0xfc00},
      {std::ldexp(1.0f, -14), 0x0400},          // smallest normal
      {std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25), 0x0400},  // rounds up to normal
      {std::ldexp(1.0f, -24), 0x0001},          // smallest subnormal
      {std::ldexp(1023.0f, -24), 0x03ff},       // largest subnormal
      {std::ldexp(1.0f, -20), 0x0010},
      {std::ldexp(1.0f, -25), 0x0000},          // tie -> even (zero)
      {std::ldexp(3.0f, -25), 0x0002},          // tie -> even (two)
      {std::ldexp(1.5f, -25), 0x0001},          // above the tie
      {-std::ldexp(5.0f, -26), 0x8001},         // 1.25 ulp -> one ulp, sign kept
      {1e-10f, 0x0000},                         // underflow -> zero
      {FromBits(0x00000001u), 0x0000},          // float subnormal -> zero
      {std::numeric_limits<float>::infinity(), 0x7c00},
      {-std::numeric_limits<float>::infinity(), 0xfc00},
      // NaNs come out quiet with the top payload bits, as vcvtps2ph does.
      {FromBits(0x7fc00000u), 0x7e00},
      {FromBits(0x7f800001u), 0x7e00},          // signalling, low payload
      {FromBits(0x7fa12345u), 0x7f09},          // signalling, payload kept
      {FromBits(0xffbfe000u), 0xffff},
  };
  std::vector<float> values;
  for (const Known& k : known) values.push_back(k.x);
  for (cpu::Isa isa : testing::TestableIsas()) {
    const std::vector<uint16_t> got = WriteHalves(isa, values);
    for (size_t i = 0; i < known.size(); ++i) {
      EXPECT_EQ(got[i], known[i].half) << cpu::IsaName(isa) << " x = " << known[i].x << " (bits "
                                       << std::hex << F322Bits(known[i].x) << ")";
      if (!std::isnan(known[i].x)) {
        EXPECT_EQ(got[i], ref::HalfBits(known[i].x))
            << "independent conversion disagrees, x = " << known[i].x;
      }
    }
  }
}

// Random bit patterns over every exponent (NaNs, infinities and subnormals
// included): both paths give the same bits, and the compiler's _Float16
// gives them too for every non-NaN input.
TEST(OpsTest, WriteKvCacheFloat16PathsAgreeOnAnyFloat) {
  std::mt19937 rng(5);
  std::vector<float> values(1 << 16);
  for (float& f : values) f = FromBits(static_cast<uint32_t>(rng()));
  // Dense coverage of the half range's boundaries: every float near them.
  for (uint32_t base : {0x33000000u, 0x38800000u, 0x477ff000u, 0x3f800000u}) {
    for (uint32_t d = 0; d < 4096; ++d) values.push_back(FromBits(base - 2048 + d));
  }
  values.push_back(0.5f);  // an odd count: the AVX2 path ends on its scalar tail
  std::vector<std::vector<uint16_t>> per_isa;
  for (cpu::Isa isa : testing::TestableIsas()) per_isa.push_back(WriteHalves(isa, values));
  for (size_t p = 1; p < per_isa.size(); ++p) {
    for (size_t i = 0; i < values.size(); ++i) {
      ASSERT_EQ(per_isa[p][i], per_isa[0][i]) << "paths differ on bits " << std::hex << F322Bits(values[i]);
    }
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      const uint16_t h = per_isa[0][i];
      ASSERT_TRUE((h & 0x7e00) == 0x7e00) << "NaN must stay a quiet NaN: " << std::hex << h;
      continue;
    }
    ASSERT_EQ(per_isa[0][i], ref::HalfBits(values[i])) << "bits " << std::hex << F322Bits(values[i]);
  }
  // The public op (whichever path it selects) gives the same bits.
  std::vector<uint16_t> kc(values.size()), vc(values.size());
  const int64_t slot = 0;
  WriteKvCache(values.data(), values.data(), &slot, 1, 1, static_cast<int>(values.size()), 1,
               kc.data(), vc.data());
  EXPECT_EQ(kc, per_isa[0]);
}

// Widening is exact: every half, through base/fp16.h, equals the compiler's
// _Float16 widening (NaNs: quiet, payload kept, as vcvtph2ps gives them).
TEST(OpsTest, Float16WideningIsExactForEveryHalf) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float ours = Fp16ToF32(static_cast<uint16_t>(h));
    const float theirs = ref::HalfValue(static_cast<uint16_t>(h));
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0) {
      ASSERT_TRUE(std::isnan(ours)) << std::hex << h;
      const uint32_t sign = (h & 0x8000u) << 16;
      ASSERT_EQ(F322Bits(ours), sign | 0x7fc00000u | ((h & 0x3ffu) << 13)) << std::hex << h;
      continue;
    }
    ASSERT_EQ(F322Bits(ours), F322Bits(theirs)) << std::hex << h;
    // And back: a half survives the round trip through the cache write.
    ASSERT_EQ(F32ToFp16(ours), h) << std::hex << h;
  }
}

}  // namespace
}  // namespace pagoda
