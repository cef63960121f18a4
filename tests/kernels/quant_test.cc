// Quantization formats: hand-computed expectations of ggml's formulas on
// crafted blocks, the K-quant bit layouts, and the fp16 / bf16 conversions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "base/fp16.h"
#include "kernels/cpu/quant.h"
#include "kernels/ops.h"
#include "kernel_test_util.h"

namespace pagoda {
namespace {

uint32_t Bits(float f) { return F322Bits(f); }

TEST(Fp16Test, KnownBitPatternsToHalf) {
  EXPECT_EQ(F32ToFp16(1.0f), 0x3c00);
  EXPECT_EQ(F32ToFp16(-2.0f), 0xc000);
  EXPECT_EQ(F32ToFp16(0.0f), 0x0000);
  EXPECT_EQ(F32ToFp16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToFp16(65504.0f), 0x7bff);   // largest finite half
  EXPECT_EQ(F32ToFp16(65519.0f), 0x7bff);   // below the rounding midpoint
  EXPECT_EQ(F32ToFp16(65520.0f), 0x7c00);   // midpoint rounds to even = inf
  EXPECT_EQ(F32ToFp16(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(F32ToFp16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(F32ToFp16(std::ldexp(1023.0f, -24)), 0x03ff);  // largest subnormal
  EXPECT_EQ(F32ToFp16(std::ldexp(1.0f, -25)), 0x0000);  // tie -> even (zero)
  EXPECT_EQ(F32ToFp16(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 ulp tie -> even (2)
  EXPECT_EQ(F32ToFp16(std::ldexp(1.5f, -25)), 0x0001);  // above the tie
  EXPECT_EQ(F32ToFp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie -> even
  EXPECT_EQ(F32ToFp16(1.0f + std::ldexp(3.0f, -11)), 0x3c02);  // tie -> even
  EXPECT_EQ(F32ToFp16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
  EXPECT_EQ(F32ToFp16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(F32ToFp16(-std::numeric_limits<float>::infinity()), 0xfc00);
  const uint16_t nan = F32ToFp16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
}

TEST(Fp16Test, KnownBitPatternsToFloat) {
  EXPECT_EQ(Bits(Fp16ToF32(0x3c00)), Bits(1.0f));
  EXPECT_EQ(Bits(Fp16ToF32(0x8000)), Bits(-0.0f));
  EXPECT_EQ(Fp16ToF32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(Fp16ToF32(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(Fp16ToF32(0x7bff), 65504.0f);
  EXPECT_EQ(Fp16ToF32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(Fp16ToF32(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(Fp16ToF32(0x7e00)));
  EXPECT_TRUE(std::isnan(Fp16ToF32(0x7c01)));
}

TEST(Fp16Test, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = Fp16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(F32ToFp16(f), h) << std::hex << h;
  }
}

TEST(Bf16Test, KnownBitPatterns) {
  EXPECT_EQ(F32ToBf16(1.0f), 0x3f80);
  EXPECT_EQ(F32ToBf16(-1.0f), 0xbf80);
  EXPECT_EQ(F32ToBf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);  // tie -> even
  EXPECT_EQ(F32ToBf16(1.0f + std::ldexp(3.0f, -8)), 0x3f82);  // tie -> even
  EXPECT_EQ(F32ToBf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3f81);
  EXPECT_EQ(F32ToBf16(std::ldexp(1.0f, -130)), 0x0008);  // float subnormal kept
  EXPECT_EQ(F32ToBf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(F32ToBf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds up to inf
  const uint16_t nan = F32ToBf16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7f80, 0x7f80);
  EXPECT_NE(nan & 0x007f, 0);
  // A signalling NaN whose payload lives only in the low 16 bits stays a NaN.
  EXPECT_EQ(F32ToBf16(Bits2F32(0x7f800001u)), 0x7fc0);
  EXPECT_EQ(Bf16ToF32(0x3f80), 1.0f);
  EXPECT_EQ(Bits(Bf16ToF32(0x0008)), 0x00080000u);
}

TEST(QuantTest, F16AndBf16RowsRoundTrip) {
  const std::vector<float> x = testing::RandomFloats(1, 77, -100.0f, 100.0f);
  std::vector<uint16_t> h(77);
  std::vector<float> back(77);
  QuantizeRow(DType::kF16, x.data(), h.data(), 77);
  DequantizeRow(DType::kF16, h.data(), back.data(), 77);
  for (int i = 0; i < 77; ++i) {
    EXPECT_EQ(h[i], F32ToFp16(x[i]));
    EXPECT_EQ(back[i], Fp16ToF32(h[i]));
  }
  QuantizeRow(DType::kBF16, x.data(), h.data(), 77);
  DequantizeRow(DType::kBF16, h.data(), back.data(), 77);
  for (int i = 0; i < 77; ++i) {
    EXPECT_EQ(h[i], F32ToBf16(x[i]));
    EXPECT_EQ(back[i], Bf16ToF32(h[i]));
  }
}

TEST(QuantTest, Q8_0KnownBlock) {
  // amax = 127 -> d = 1 exactly, so q = round-half-away-from-zero(x).
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = 0.25f * static_cast<float>(j - 16);
  x[0] = 127.0f;
  x[1] = -127.0f;
  x[2] = 63.5f;
  x[3] = -2.5f;
  x[4] = 0.5f;
  x[5] = 1.49f;
  BlockQ8_0 b;
  QuantizeRow(DType::kQ8_0, x, &b, 32);
  EXPECT_EQ(b.d, 0x3c00);
  const int8_t expect_head[6] = {127, -127, 64, -3, 1, 1};
  for (int j = 0; j < 6; ++j) EXPECT_EQ(b.qs[j], expect_head[j]) << j;
  for (int j = 6; j < 32; ++j) {
    EXPECT_EQ(b.qs[j], static_cast<int8_t>(std::round(0.25f * (j - 16)))) << j;
  }
  float back[32];
  DequantizeRow(DType::kQ8_0, &b, back, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(back[j], static_cast<float>(b.qs[j]));
}

TEST(QuantTest, Q8_0ScaleIsAmaxOver127) {
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = 0.01f * static_cast<float>(j + 1);
  x[7] = -3.0f;
  BlockQ8_0 b;
  QuantizeRow(DType::kQ8_0, x, &b, 32);
  const float d = 3.0f / 127.0f;
  EXPECT_EQ(b.d, F32ToFp16(d));
  EXPECT_EQ(b.qs[7], -127);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(b.qs[j], static_cast<int8_t>(std::round(x[j] * (1.0f / d))));
  float back[32];
  DequantizeRow(DType::kQ8_0, &b, back, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(back[j], b.qs[j] * Fp16ToF32(b.d));
}

TEST(QuantTest, Q4_0KnownBlockNegativeMax) {
  // The largest magnitude is -8, so d = -8 / -8 = 1 and q = min(15, (int)(x + 8.5)).
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = 0.1f;
  x[0] = -8.0f;   // q 0
  x[1] = 7.0f;    // q 15
  x[2] = 7.4f;    // 15.9 -> 15
  x[3] = -0.6f;   // 7.9 -> 7
  x[4] = 0.49f;   // 8.99 -> 8
  x[5] = 0.5f;    // 9
  x[16] = -7.5f;  // 1.0 -> 1 (high nibble of qs[0])
  x[17] = 3.2f;   // 11.7 -> 11 (high nibble of qs[1])
  BlockQ4_0 b;
  QuantizeRow(DType::kQ4_0, x, &b, 32);
  EXPECT_EQ(b.d, 0x3c00);
  EXPECT_EQ(b.qs[0], 0x10);           // low 0, high 1
  EXPECT_EQ(b.qs[1], (11 << 4) | 15);
  EXPECT_EQ(b.qs[2], (8 << 4) | 15);  // x[18] = 0.1 -> 8
  EXPECT_EQ(b.qs[3], (8 << 4) | 7);
  EXPECT_EQ(b.qs[4], (8 << 4) | 8);
  EXPECT_EQ(b.qs[5], (8 << 4) | 9);
  float back[32];
  DequantizeRow(DType::kQ4_0, &b, back, 32);
  EXPECT_EQ(back[0], -8.0f);
  EXPECT_EQ(back[1], 7.0f);
  EXPECT_EQ(back[16], -7.0f);
  EXPECT_EQ(back[17], 3.0f);
  EXPECT_EQ(back[5], 1.0f);
}

TEST(QuantTest, Q4_0PositiveMaxClampsAt15) {
  // max = +8 -> d = -1: x = 8 maps to 0, and -8 (same magnitude, seen later,
  // so not the max) maps to 16.5 -> clamped to 15.
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = -0.25f;
  x[0] = 8.0f;
  x[1] = -8.0f;
  x[2] = 1.0f;  // -1 + 8.5 -> 7
  BlockQ4_0 b;
  QuantizeRow(DType::kQ4_0, x, &b, 32);
  EXPECT_EQ(b.d, 0xbc00);
  EXPECT_EQ(b.qs[0] & 0x0f, 0);
  EXPECT_EQ(b.qs[1] & 0x0f, 15);
  EXPECT_EQ(b.qs[2] & 0x0f, 7);
  EXPECT_EQ(b.qs[3] & 0x0f, 8);  // 0.25 + 8.5 -> 8
  float back[32];
  DequantizeRow(DType::kQ4_0, &b, back, 32);
  EXPECT_EQ(back[0], 8.0f);
  EXPECT_EQ(back[1], -7.0f);
  EXPECT_EQ(back[2], 1.0f);
}

TEST(QuantTest, QuantizedRoundTripIsClose) {
  const std::vector<float> x = testing::RandomFloats(7, 32 * 40);
  for (DType t : {DType::kQ8_0, DType::kQ4_0}) {
    std::vector<uint8_t> q(*RowBytes(t, x.size()));
    std::vector<float> back(x.size());
    QuantizeRow(t, x.data(), q.data(), static_cast<int64_t>(x.size()));
    DequantizeRow(t, q.data(), back.data(), static_cast<int64_t>(x.size()));
    // Q8_0 rounds to the nearest step; Q4_0 is asymmetric (-8..7 steps), so
    // values on the far side of the largest one clamp by up to a full step.
    const float tol = t == DType::kQ8_0 ? 0.51f / 127.0f : 1.0f / 8.0f;
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_NEAR(back[i], x[i], tol + 1e-3f) << DTypeName(t) << " " << i;
    }
    // Quantizing the dequantized values again is a fixed point.
    std::vector<uint8_t> q2(q.size());
    QuantizeRow(t, back.data(), q2.data(), static_cast<int64_t>(x.size()));
    std::vector<float> back2(x.size());
    DequantizeRow(t, q2.data(), back2.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(back2[i], back[i], 1e-6f);
  }
}

// Packs 6-bit scales / mins the way ggml's Q4_K / Q5_K do.
void PackScalesK4(const int sc[8], const int mn[8], uint8_t out[12]) {
  std::memset(out, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      out[j] |= static_cast<uint8_t>(sc[j] & 63);
      out[j + 4] |= static_cast<uint8_t>(mn[j] & 63);
    } else {
      out[j + 4] |= static_cast<uint8_t>((sc[j] & 15) | ((mn[j] & 15) << 4));
      out[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
      out[j] |= static_cast<uint8_t>((mn[j] >> 4) << 6);
    }
  }
}

TEST(QuantTest, Q4KLayout) {
  int sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = 1 + 7 * j;   // up to 50: needs the high bits for j >= 4
    mn[j] = 63 - 5 * j;
  }
  cpu::BlockQ4K b;
  b.d = F32ToFp16(0.5f);
  b.dmin = F32ToFp16(0.25f);
  PackScalesK4(sc, mn, b.scales);
  int q[256];
  for (int i = 0; i < 256; ++i) q[i] = (i * 7 + i / 64) % 16;
  // Element i: group g = i / 64 uses qs[32g .. 32g+31]; low nibble for the
  // first 32 elements of the group, high nibble for the next 32.
  std::memset(b.qs, 0, sizeof(b.qs));
  for (int i = 0; i < 256; ++i) {
    const int g = i / 64, l = i % 32, hi = (i % 64) / 32;
    b.qs[32 * g + l] |= static_cast<uint8_t>(q[i] << (4 * hi));
  }
  float y[256];
  DequantizeRow(DType::kQ4_K, &b, y, 256);
  for (int i = 0; i < 256; ++i) {
    const int s = i / 32;
    EXPECT_FLOAT_EQ(y[i], 0.5f * sc[s] * q[i] - 0.25f * mn[s]) << i;
  }
}

TEST(QuantTest, Q5KLayout) {
  int sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = 63 - 3 * j;
    mn[j] = 2 + 8 * j;
  }
  cpu::BlockQ5K b;
  b.d = F32ToFp16(0.125f);
  b.dmin = F32ToFp16(1.0f);
  PackScalesK4(sc, mn, b.scales);
  int q[256];
  for (int i = 0; i < 256; ++i) q[i] = (i * 13 + 5) % 32;
  std::memset(b.qs, 0, sizeof(b.qs));
  std::memset(b.qh, 0, sizeof(b.qh));
  for (int i = 0; i < 256; ++i) {
    const int g = i / 64, l = i % 32, hi = (i % 64) / 32;
    b.qs[32 * g + l] |= static_cast<uint8_t>((q[i] & 15) << (4 * hi));
    if (q[i] & 16) b.qh[l] |= static_cast<uint8_t>(1 << (2 * g + hi));
  }
  float y[256];
  DequantizeRow(DType::kQ5_K, &b, y, 256);
  for (int i = 0; i < 256; ++i) {
    const int s = i / 32;
    EXPECT_FLOAT_EQ(y[i], 0.125f * sc[s] * q[i] - 1.0f * mn[s]) << i;
  }
}

TEST(QuantTest, Q6KLayout) {
  cpu::BlockQ6K b;
  b.d = F32ToFp16(0.5f);
  for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<int8_t>(j * 9 - 70);
  int q[256];
  for (int i = 0; i < 256; ++i) q[i] = (i * 11 + 3) % 64;
  std::memset(b.ql, 0, sizeof(b.ql));
  std::memset(b.qh, 0, sizeof(b.qh));
  // Half h covers elements 128h..128h+127; within it element 32i + l
  // (i = 0..3) keeps its low nibble in ql[64h + l + 32(i%2)] (nibble i/2)
  // and its top two bits in qh[32h + l] bits 2i..2i+1.
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, i = (e % 128) / 32, l = e % 32;
    b.ql[64 * h + l + 32 * (i % 2)] |= static_cast<uint8_t>((q[e] & 15) << (4 * (i / 2)));
    b.qh[32 * h + l] |= static_cast<uint8_t>((q[e] >> 4) << (2 * i));
  }
  float y[256];
  DequantizeRow(DType::kQ6_K, &b, y, 256);
  for (int e = 0; e < 256; ++e) {
    EXPECT_FLOAT_EQ(y[e], 0.5f * b.scales[e / 16] * (q[e] - 32)) << e;
  }
}

TEST(QuantTest, GetRowMatchesDequantizeRow) {
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0,
                  DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    const testing::OwnedWeight w = testing::MakeWeight(t, 5, 512, 11);
    std::vector<float> a(512), b(512);
    for (int r = 0; r < 5; ++r) {
      GetRow(w.view, r, a.data());
      DequantizeRow(t, w.view.data + r * w.view.row_bytes, b.data(), 512);
      EXPECT_EQ(0, std::memcmp(a.data(), b.data(), 512 * sizeof(float))) << DTypeName(t);
      for (float f : a) ASSERT_TRUE(std::isfinite(f));
    }
  }
}

}  // namespace
}  // namespace pagoda
