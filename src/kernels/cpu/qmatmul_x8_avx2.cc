// AVX2 quantized-activation MatMul for Q4_0 and Q8_0 repacked by eight
// (WeightLayout::kQ4_0x8, kQ8_0x8, kernels/cpu/repack.h), compiled with
// -mavx2 -mfma -mf16c. Arithmetic as fixed in qmatmul.h: per weight row and
// block, the exact integer dot D_b, then acc = fma(float(D_b), d_w * d_x,
// acc) block by block. Each vector holds one quantity for the eight rows of
// a group, so a block of eight rows costs one 32-byte load per chunk (four
// for Q4_0 with their nibble unpacking, eight for Q8_0) and one vcvtph2ps,
// then per x row a few integer ops per chunk, one conversion and one fma;
// the result is stored as eight floats with no horizontal sum.
//
// Batch invariance: an x row's outputs never depend on which other x rows
// share its tile, or on the tile shape (the integers are exact, the float
// steps are the same per row). The tiles are qmatmul_x8_tiles.inc, shared
// with the AVX-512 VNNI file; this file defines the layouts' AVX2 integer
// dots. Pure functions: thread-safe.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "base/check.h"
#include "kernels/cpu/qmatmul.h"
#include "kernels/cpu/repack.h"

namespace pagoda::avx2 {

namespace {

#include "kernels/cpu/qmatmul_x8_tiles.inc"

// The layouts' integer steps with AVX2's maddubs (u8 x s8 -> int16 pairs)
// and madd (int16 pairs -> int32).
//
// kQ4_0x8: the block's integer dot for eight rows is summed in int16
// before one madd widens it: each maddubs lane is n_a * q_a + n_b * q_b
// with nibbles in [0, 15] and |q| <= 127 (the quantizer never makes -128),
// so |.| <= 3810, and eight of them (4 chunks x low/high nibbles) stay
// within 8 x 2 x 15 x 127 = 30480 < 32767 (30720 even with -128): no
// saturation, every partial sum exact. The madd then adds the lane's two
// int16 halves: lane r is row r's sum over all 32 elements of nibble * q.
//
// kQ8_0x8: maddubs wants one unsigned operand: |w| (vpabsb; a weight of
// -128, which files may hold though ggml's quantizer never writes it,
// reads as unsigned 128 and is right), with w's sign moved onto x
// (vpsignb(x, w): -x where w < 0, 0 where w is 0). Negating x is exact
// because |q| <= 127: q = round-half-even(x * id) with |x| <= amax and
// id = fl(127 / amax), so |x * id| <= 127 (1 + 2^-24)^2 < 127.5 (this holds
// for every finite x row whose block amax is 0 or at least 127 / FLT_MAX,
// where id is finite; blocks of smaller or non-finite values are outside
// every path's exactness, file order's too). Each int16 lane of the
// maddubs is then |w_a| q_a' + |w_b| q_b' with |.| <= 2 x 128 x 127 =
// 32512 < 32767: no saturation. Two chunks' lanes could overflow int16, so
// each chunk is widened by a madd with ones (lane r: row r's four
// elements) and the eight chunks add in int32 (|D_b| <= 32 x 128 x 127).
struct Avx2Ops {
  static __m256i Q4Step(__m256i acc, __m256i lo, __m256i hi, __m256i xl, __m256i xh) {
    return _mm256_add_epi16(acc, _mm256_add_epi16(_mm256_maddubs_epi16(lo, xl), _mm256_maddubs_epi16(hi, xh)));
  }
  // D_b from the int16 sums, right before its conversion (widening all of
  // them inside Dots made the batch tile ~5% slower).
  static __m256i Q4Finish(__m256i acc16, int32_t corr32) {
    return _mm256_sub_epi32(_mm256_madd_epi16(acc16, _mm256_set1_epi16(1)), _mm256_set1_epi32(corr32));
  }
  static __m256i Q8Weights(__m256i w) { return _mm256_abs_epi8(w); }
  static __m256i Q8Step(__m256i acc, __m256i abs_w, __m256i w, __m256i xq) {
    const __m256i t = _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, _mm256_sign_epi8(xq, w)), _mm256_set1_epi16(1));
    return _mm256_add_epi32(acc, t);
  }
  static __m256i Q8Finish(__m256i acc, int32_t) { return acc; }  // already D_b
};

}  // namespace

void QMatMulX8Range(const WeightMatrix& w, const cpu::QuantizedActs& qa, float* y, int64_t y_stride,
                    int64_t n_begin, int64_t n_end) {
  RunLayout<Avx2Ops>(w, qa, y, y_stride, n_begin, n_end);
}

}  // namespace pagoda::avx2
