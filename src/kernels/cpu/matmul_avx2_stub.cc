#include "kernels/cpu/matmul.h"

namespace pagoda::avx2 {
bool MatMulRange(const WeightMatrix&, const float*, int64_t, float*, int64_t, int64_t) {
  return false;
}
}  // namespace pagoda::avx2
