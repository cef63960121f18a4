// A float exp whose every step is a rounded float operation or an fma, so
// the scalar version here and the 8-lane AVX2 version (ExpAvx2, in
// exp_avx2.h) give the same bits on any CPU: kernels that need exp on both
// paths (attention's softmax) stay bit-identical across them, and can
// vectorise it — libm's expf is exact enough but one call per element.
// Cephes' expf scheme: n = round(x log2 e), r = x - n ln 2 in two fma
// steps, a degree-5 polynomial, times 2^n; about 1 ulp. Inputs below -87
// give 0 (softmax weights that small do not count), above 88 are clamped.
// Pure functions: thread-safe.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace pagoda::cpu {

namespace exp_detail {
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kP0 = 1.9875691500e-4f;
constexpr float kP1 = 1.3981999507e-3f;
constexpr float kP2 = 8.3334519073e-3f;
constexpr float kP3 = 4.1665795894e-2f;
constexpr float kP4 = 1.6666665459e-1f;
constexpr float kP5 = 5.0000001201e-1f;
constexpr float kMin = -87.0f;
constexpr float kMax = 88.0f;
}  // namespace exp_detail

inline float ExpPortable(float x) {
  using namespace exp_detail;
  if (!(x >= kMin)) return 0.0f;  // also -inf
  if (x > kMax) x = kMax;
  const float n = std::nearbyint(x * kLog2e);
  float r = std::fma(n, -kLn2Hi, x);
  r = std::fma(n, -kLn2Lo, r);
  const float z = r * r;
  float y = kP0;
  y = std::fma(y, r, kP1);
  y = std::fma(y, r, kP2);
  y = std::fma(y, r, kP3);
  y = std::fma(y, r, kP4);
  y = std::fma(y, r, kP5);
  y = std::fma(y, z, r);
  y = y + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return y * scale;
}

}  // namespace pagoda::cpu

namespace pagoda::avx2 {

// y[i] = Exp(x[i]) with the AVX2 Exp (8 at a time; a tail shorter than 8
// goes through a padded vector). For tests and benchmarks (exp_avx2.cc).
void ExpArray(const float* x, float* y, int64_t n);

}  // namespace pagoda::avx2
