// The 8-lane AVX2/FMA twin of ExpPortable (exp.h): the same operations in
// the same order, so each lane gives ExpPortable's bits. Include only from
// *_avx2.cc files. Pure function: thread-safe.
#pragma once

#include <immintrin.h>

#include "kernels/cpu/exp.h"

namespace pagoda::avx2 {

inline __m256 Exp(__m256 x) {
  using namespace cpu::exp_detail;
  // x >= kMin is false for NaN and -inf too: those lanes become 0.
  const __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(kMin), _CMP_GE_OQ);
  x = _mm256_min_ps(x, _mm256_set1_ps(kMax));
  x = _mm256_max_ps(x, _mm256_set1_ps(kMin));  // keeps the arithmetic below finite
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Hi), x);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Lo), r);
  const __m256 z = _mm256_mul_ps(r, r);
  __m256 y = _mm256_set1_ps(kP0);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP1));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP2));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP3));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP4));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP5));
  y = _mm256_fmadd_ps(y, z, r);
  y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(_mm256_mul_ps(y, _mm256_castsi256_ps(bits)), keep);
}

}  // namespace pagoda::avx2
