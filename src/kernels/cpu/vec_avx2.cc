// AVX2/FMA versions of the vec.h primitives (compiled with -mavx2 -mfma).
#include <immintrin.h>

#include "kernels/cpu/exp_avx2.h"
#include "kernels/cpu/vec.h"

namespace pagoda::avx2 {

float Dot(const float* a, const float* b, int64_t n) {
  // Two accumulators (even / odd 8-blocks) hide FMA latency; the order is
  // still fixed by n alone.
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  const int64_t n16 = n & ~int64_t{15};
  int64_t i = 0;
  for (; i < n16; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  if (n - i >= 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    i += 8;
  }
  const __m256 acc = _mm256_add_ps(acc0, acc1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  for (; i < n; ++i) s = _mm_fmadd_ss(_mm_set_ss(a[i]), _mm_set_ss(b[i]), s);
  return _mm_cvtss_f32(s);
}

void Axpy(float alpha, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) {
    y[i] = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(alpha), _mm_set_ss(x[i]), _mm_set_ss(y[i])));
  }
}

void SiluMul(const float* g, const float* u, float* out, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 gv = _mm256_loadu_ps(g + i);
    const __m256 den = _mm256_add_ps(one, Exp(_mm256_xor_ps(gv, sign)));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(gv, den), _mm256_loadu_ps(u + i)));
  }
  cpu::SiluMulPortable(g + i, u + i, out + i, n - i);
}

}  // namespace pagoda::avx2
