// Scalar conversions between float and the 16-bit float formats (IEEE half
// and bfloat16). Exact (round-to-nearest-even on the way down), portable, and
// pure functions: safe from any thread. Vector kernels use F16C instead, and
// the half conversions here give F16C's bits for every input, NaNs included
// (a NaN keeps its sign and top payload bits and comes out quiet), so a
// portable path and an F16C path can agree bit for bit.
#pragma once

#include <cstdint>
#include <cstring>

namespace pagoda {

inline float Bits2F32(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
inline uint32_t F322Bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

inline float Fp16ToF32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    if (mant == 0) return Bits2F32(sign);
    // Subnormal half: normalise.
    int e = -1;
    do { mant <<= 1; ++e; } while ((mant & 0x400u) == 0);
    mant &= 0x3ffu;
    return Bits2F32(sign | ((uint32_t)(127 - 15 - e) << 23) | (mant << 13));
  }
  if (exp == 31) {  // Inf, or NaN made quiet as vcvtph2ps does
    return Bits2F32(sign | 0x7f800000u | (mant != 0 ? 0x400000u : 0) | (mant << 13));
  }
  return Bits2F32(sign | ((exp + 127 - 15) << 23) | (mant << 13));
}

inline uint16_t F32ToFp16(float f) {
  uint32_t x = F322Bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u) {  // Inf, or NaN: quiet, top payload bits kept (as vcvtps2ph)
    return (uint16_t)(sign | 0x7c00u | (x > 0x7f800000u ? 0x200u | ((x >> 13) & 0x3ffu) : 0));
  }
  if (x >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // overflow -> Inf
  if (x < 0x38800000u) {  // subnormal or zero in half
    if (x < 0x33000000u) return (uint16_t)sign;  // rounds to zero
    const uint32_t e = x >> 23;
    uint32_t m = (x & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14..24
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1))) ++r;
    return (uint16_t)(sign | r);
  }
  uint32_t r = x + 0xc8000fffu + ((x >> 13) & 1);  // rebias and round to nearest even
  return (uint16_t)(sign | (r >> 13));
}

inline float Bf16ToF32(uint16_t h) { return Bits2F32((uint32_t)h << 16); }

inline uint16_t F32ToBf16(float f) {
  uint32_t x = F322Bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);  // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

}  // namespace pagoda
