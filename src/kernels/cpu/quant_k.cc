// Dequantizers for the K-quant super-blocks (ggml's Q4_K, Q5_K, Q6_K), which
// GGUF files use for output and embedding matrices even in "Q4_0" models.
#include "kernels/cpu/quant.h"

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

}  // namespace pagoda::cpu
