// kQ4_0x8 and kQ8_0x8 MatMul with AVX-512 VNNI (vpdpbusd on 256-bit
// vectors, AVX512VL): the tiles of qmatmul_x8_avx2.cc (shared through
// qmatmul_x8_tiles.inc) with integer dots that take one instruction per
// chunk and x row where AVX2 takes three or four. The integers are exact on
// both paths and every float step is the same, so the results are the same
// bits (tests/kernels/qmatmul_x8_test.cc runs every path against the
// arithmetic qmatmul.h defines).
//
// This file is compiled for the baseline ISA; only the functions below the
// target pragma use AVX-512. The headers come first, so the inline
// functions they define (which the linker may share with other files) stay
// baseline code that any x86-64 CPU runs; everything compiled for AVX-512
// has internal linkage, and runs only where cpu::SelectedIsa() chose
// kAvx512Vnni. Pure functions: thread-safe.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "base/check.h"
#include "kernels/cpu/qmatmul.h"
#include "kernels/cpu/repack.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")

namespace pagoda::vnni {

namespace {

#include "kernels/cpu/qmatmul_x8_tiles.inc"

// The layouts' integer steps with vpdpbusd (u8 x s8, four products per
// int32 lane added straight into it, without saturation).
// kQ4_0x8: the nibbles are the unsigned operand; both halves of a chunk go
// into the int32 dot, and Q4Finish takes the nibbles' + 8 back off as
// AVX2's does after its int16 sums.
// kQ8_0x8: w + 128 (w xor 0x80, in [0, 255]) is the unsigned operand; its
// products with q sum exactly in int32 (|sum| <= 32 x 255 x 127), and
// 128 * sum(q) = 16 * corr32 comes back off: the integer dot of w and q for
// every weight byte, -128 included, without AVX2's |w| and sign moves.
struct VnniOps {
  static __m256i Q4Step(__m256i acc, __m256i lo, __m256i hi, __m256i xl, __m256i xh) {
    return _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(acc, lo, xl), hi, xh);
  }
  static __m256i Q4Finish(__m256i acc, int32_t corr32) {
    return _mm256_sub_epi32(acc, _mm256_set1_epi32(corr32));
  }
  static __m256i Q8Weights(__m256i w) { return _mm256_xor_si256(w, _mm256_set1_epi8(static_cast<char>(0x80))); }
  static __m256i Q8Step(__m256i acc, __m256i biased_w, __m256i, __m256i xq) {
    return _mm256_dpbusd_epi32(acc, biased_w, xq);
  }
  static __m256i Q8Finish(__m256i acc, int32_t corr32) {
    return _mm256_sub_epi32(acc, _mm256_set1_epi32(16 * corr32));
  }
};

}  // namespace

void QMatMulX8Range(const WeightMatrix& w, const cpu::QuantizedActs& qa, float* y, int64_t y_stride,
                    int64_t n_begin, int64_t n_end) {
  RunLayout<VnniOps>(w, qa, y, y_stride, n_begin, n_end);
}

}  // namespace pagoda::vnni

#pragma GCC pop_options
