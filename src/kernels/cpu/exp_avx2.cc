#include "kernels/cpu/exp_avx2.h"

#include <algorithm>

namespace pagoda::avx2 {

void ExpArray(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, Exp(_mm256_loadu_ps(x + i)));
  if (i < n) {
    alignas(32) float in[8] = {0, 0, 0, 0, 0, 0, 0, 0}, out[8];
    std::copy(x + i, x + n, in);
    _mm256_store_ps(out, Exp(_mm256_load_ps(in)));
    std::copy(out, out + (n - i), y + i);
  }
}

}  // namespace pagoda::avx2
