// Dequantizers for the K-quant super-blocks (ggml's Q4_K, Q5_K, Q6_K), which
// GGUF files use for output and embedding matrices even in "Q4_0" models,
// and a Q6_K quantizer so `pagoda mkmodel` can write such files.
#include "kernels/cpu/quant.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "base/fp16.h"

namespace pagoda::cpu {

namespace {

// Sub-block j (0..7) of a Q4_K/Q5_K block: its 6-bit scale and 6-bit min.
// Sub-blocks 0..3 keep both in the low 6 bits of bytes j and j+4; 4..7 keep
// their low 4 bits in byte j+4 and their top 2 bits in the spare top bits of
// bytes j-4 (scale) and j (min).
inline void ScaleMinK4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

}  // namespace

// Each 64-element group uses 32 bytes of qs: low nibbles are the first 32
// elements (sub-block 2g), high nibbles the next 32 (sub-block 2g+1).
void DequantizeQ4K(const BlockQ4K* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const BlockQ4K& blk = src[b];
    const float d = Fp16ToF32(blk.d);
    const float dmin = Fp16ToF32(blk.dmin);
    float* y = dst + b * kQK_K;
    const uint8_t* q = blk.qs;
    for (int g = 0; g < 4; ++g) {
      uint8_t sc, m;
      ScaleMinK4(2 * g, blk.scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      ScaleMinK4(2 * g + 1, blk.scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) y[l] = d1 * (q[l] & 0x0f) - m1;
      for (int l = 0; l < 32; ++l) y[32 + l] = d2 * (q[l] >> 4) - m2;
      y += 64;
      q += 32;
    }
  }
}

// Like Q4_K plus a fifth bit per element: for group g, bit 2g of qh[l] is the
// high bit of element l of the low-nibble half, bit 2g+1 of the high half.
void DequantizeQ5K(const BlockQ5K* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const BlockQ5K& blk = src[b];
    const float d = Fp16ToF32(blk.d);
    const float dmin = Fp16ToF32(blk.dmin);
    float* y = dst + b * kQK_K;
    const uint8_t* ql = blk.qs;
    const uint8_t* qh = blk.qh;
    uint8_t u1 = 1, u2 = 2;
    for (int g = 0; g < 4; ++g) {
      uint8_t sc, m;
      ScaleMinK4(2 * g, blk.scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      ScaleMinK4(2 * g + 1, blk.scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) y[l] = d1 * ((ql[l] & 0x0f) + ((qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) y[32 + l] = d2 * ((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
      y += 64;
      ql += 32;
      u1 = static_cast<uint8_t>(u1 << 2);
      u2 = static_cast<uint8_t>(u2 << 2);
    }
  }
}

// Two halves of 128 elements; in each, element l + 32i (i = 0..3) takes its
// low 4 bits from ql (nibble i/2 of byte l + 32(i%2)) and its high 2 bits from
// bits 2i..2i+1 of qh[l]; the value is (q - 32) * d * scales[l/16 + 2i].
void DequantizeQ6K(const BlockQ6K* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const BlockQ6K& blk = src[b];
    const float d = Fp16ToF32(blk.d);
    float* y = dst + b * kQK_K;
    const uint8_t* ql = blk.ql;
    const uint8_t* qh = blk.qh;
    const int8_t* sc = blk.scales;
    for (int half = 0; half < 2; ++half) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is + 0] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

// Round to nearest, no search for the error-minimising scale (llama.cpp's
// make_qx_quants does one): sub-block j's float scale s_j maps its largest
// magnitude to -32, the super-block keeps d = (largest |s_j|) / 127 and
// scales[j] = round(s_j / d), and each element becomes
// clamp(round(x / (d * scales[j])), -32, 31) + 32, packed as DequantizeQ6K
// reads it. The error stays within half a step of each sub-block's scale.
void QuantizeQ6K(const float* src, BlockQ6K* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* x = src + b * kQK_K;
    BlockQ6K& blk = dst[b];
    float sub_scale[kQK_K / 16];
    float max_abs_scale = 0.0f, max_scale = 0.0f;
    for (int j = 0; j < kQK_K / 16; ++j) {
      float max = 0.0f;
      for (int i = 0; i < 16; ++i) {
        if (std::fabs(x[16 * j + i]) > std::fabs(max)) max = x[16 * j + i];
      }
      sub_scale[j] = max / -32.0f;
      if (std::fabs(sub_scale[j]) > max_abs_scale) {
        max_abs_scale = std::fabs(sub_scale[j]);
        max_scale = sub_scale[j];
      }
    }
    const float d = max_scale / 127.0f;
    blk.d = F32ToFp16(d);
    const float dd = Fp16ToF32(blk.d);  // what the reader will use
    uint8_t levels[kQK_K];
    for (int j = 0; j < kQK_K / 16; ++j) {
      const int sc = d == 0.0f ? 0 : std::clamp(static_cast<int>(std::lround(sub_scale[j] / d)), -127, 127);
      blk.scales[j] = static_cast<int8_t>(sc);
      const float step = dd * static_cast<float>(sc);
      for (int i = 0; i < 16; ++i) {
        const int q = step == 0.0f ? 0 : static_cast<int>(std::lround(x[16 * j + i] / step));
        levels[16 * j + i] = static_cast<uint8_t>(std::clamp(q, -32, 31) + 32);
      }
    }
    uint8_t* ql = blk.ql;
    uint8_t* qh = blk.qh;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* L = levels + 128 * half;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((L[l] & 0x0f) | ((L[l + 64] & 0x0f) << 4));
        ql[l + 32] = static_cast<uint8_t>((L[l + 32] & 0x0f) | ((L[l + 96] & 0x0f) << 4));
        qh[l] = static_cast<uint8_t>((L[l] >> 4) | ((L[l + 32] >> 4) << 2) | ((L[l + 64] >> 4) << 4) |
                                     ((L[l + 96] >> 4) << 6));
      }
      ql += 64;
      qh += 32;
    }
  }
}

}  // namespace pagoda::cpu
