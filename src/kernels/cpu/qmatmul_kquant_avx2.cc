// AVX2 integer-dot MatMul for the K-quant super-blocks (Q4_K, Q5_K, Q6_K)
// against Q8_K-style activations (one scale per 256 elements plus sums of
// 16), which GGUF files use for the output and embedding matrices — often
// the largest matrix of a small model. Arithmetic as fixed in qmatmul.h:
// each 32-element unit is maddubs(unsigned weight ints, x) times its
// integer sub-block scale (a madd), summed over the super-block in int32;
// the mins (Q4_K/Q5_K) and Q6_K's offset of 32 come from the activation
// sums, also in integers.
#include <immintrin.h>

#include "base/check.h"
#include "kernels/cpu/qmatmul.h"
#include "kernels/cpu/qtile_avx2.h"
#include "kernels/cpu/quant.h"

namespace pagoda::avx2 {

namespace {

using cpu::BlockQ4K;
using cpu::BlockQ5K;
using cpu::BlockQ6K;
using qtile::LaneSum;
using qtile::XRows;

inline int HorizontalSumI32(__m128i s) {
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

inline int HorizontalSumI32(__m256i v) {
  return HorizontalSumI32(_mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
}

inline float ScalarFma(float a, float b, float c) {
  return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

inline __m256i Load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// The 6-bit scales and mins of a Q4_K / Q5_K super-block (see quant_k.cc).
struct ScalesMins {
  alignas(16) int16_t scale[8];
  alignas(16) int16_t min[8];
};

inline void UnpackScalesMins(const uint8_t* q, ScalesMins* s) {
  for (int j = 0; j < 4; ++j) {
    s->scale[j] = static_cast<int16_t>(q[j] & 63);
    s->min[j] = static_cast<int16_t>(q[j + 4] & 63);
  }
  for (int j = 4; j < 8; ++j) {
    s->scale[j] = static_cast<int16_t>((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
    s->min[j] = static_cast<int16_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// M of qmatmul.h for Q4_K / Q5_K: sum_j min_j * (x sum of sub-block j).
inline int MinsDot(const ScalesMins& s, const int16_t* bsums) {
  const __m128i pairs = _mm_hadd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums)),
                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums + 8)));
  const __m128i prod = _mm_madd_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(s.min)), pairs);
  return HorizontalSumI32(prod);
}

// Q4_K and Q5_K share their layout of scales and mins and the low four
// bits of every weight; Q5_K adds a fifth bit.
template <class Block>
struct ScaleMinKernel {
  static constexpr size_t kBlockBytes = sizeof(Block);
  struct State {
    const Block* b;
    ScalesMins sm;
    float d, m;
  };
  static void Prepare(const uint8_t* p, State* s) {
    s->b = reinterpret_cast<const Block*>(p);
    UnpackScalesMins(s->b->scales, &s->sm);
    s->d = _cvtsh_ss(s->b->d);
    s->m = _cvtsh_ss(s->b->dmin);
  }
  // Unit u = sub-block u: nibble u % 2 of qs[32 (u / 2) ..].
  static __m256i LowBits(const State& s, int u) {
    __m256i q = Load32(s.b->qs + 32 * (u / 2));
    if (u & 1) q = _mm256_srli_epi16(q, 4);
    return _mm256_and_si256(q, _mm256_set1_epi8(0x0f));
  }
  static __m256i Scale(const State& s, int u) { return _mm256_set1_epi16(s.sm.scale[u]); }
  static int Mins(const State& s, const int16_t* bsums) { return MinsDot(s.sm, bsums); }
};

struct Q4KKernel : ScaleMinKernel<BlockQ4K> {
  static __m256i Unit(const State& s, int u) { return LowBits(s, u); }
};

struct Q5KKernel : ScaleMinKernel<BlockQ5K> {
  // Q4_K's unit plus bit u of qh[0 .. 32) as the fifth bit.
  static __m256i Unit(const State& s, int u) {
    const __m256i bit = _mm256_and_si256(_mm256_srli_epi16(Load32(s.b->qh), u), _mm256_set1_epi8(1));
    return _mm256_or_si256(LowBits(s, u), _mm256_slli_epi16(bit, 4));
  }
};

struct Q6KKernel {
  static constexpr size_t kBlockBytes = sizeof(BlockQ6K);
  struct State {
    const BlockQ6K* b;
    __m128i scales;  // the 16 int8 sub-block scales
    float d, m;
  };
  static void Prepare(const uint8_t* p, State* s) {
    s->b = reinterpret_cast<const BlockQ6K*>(p);
    s->scales = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s->b->scales));
    s->d = _cvtsh_ss(s->b->d);
    s->m = s->d;
  }
  // Unit u = elements 32u .. 32u+31: half h = u / 4, group i = u % 4; low
  // four bits from nibble i / 2 of ql[64 h + 32 (i % 2) ..], high two from
  // bits 2i of qh[32 h ..].
  static __m256i Unit(const State& s, int u) {
    const int h = u / 4, i = u % 4;
    __m256i lo = Load32(s.b->ql + 64 * h + 32 * (i % 2));
    if (i >= 2) lo = _mm256_srli_epi16(lo, 4);
    lo = _mm256_and_si256(lo, _mm256_set1_epi8(0x0f));
    __m256i hi = Load32(s.b->qh + 32 * h);
    // Move bits 2i, 2i+1 to bits 4, 5.
    if (i == 0) hi = _mm256_slli_epi16(hi, 4);
    if (i == 1) hi = _mm256_slli_epi16(hi, 2);
    if (i == 3) hi = _mm256_srli_epi16(hi, 2);
    return _mm256_or_si256(lo, _mm256_and_si256(hi, _mm256_set1_epi8(0x30)));
  }
  // Elements 0..15 of unit u use scale 2u, 16..31 scale 2u+1: int16s
  // [s_2u x 8 | s_2u+1 x 8] match maddubs's pairs.
  static __m256i Scale(const State& s, int u) {
    const __m128i idx = _mm_setr_epi8(2 * u, 2 * u, 2 * u, 2 * u, 2 * u, 2 * u, 2 * u, 2 * u,
                                      2 * u + 1, 2 * u + 1, 2 * u + 1, 2 * u + 1, 2 * u + 1,
                                      2 * u + 1, 2 * u + 1, 2 * u + 1);
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s.scales, idx));
  }
  // 32 * sum_j scale_j * bsum_j: the weights' offset of 32.
  static int Mins(const State& s, const int16_t* bsums) {
    const __m256i prod = _mm256_madd_epi16(
        _mm256_cvtepi8_epi16(s.scales), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums)));
    return 32 * HorizontalSumI32(prod);
  }
};

template <class W, int kDecode, int kR, int kC>
struct SuperBlock {
  static constexpr int kDecodeCols = kDecode;
  static constexpr int kRows = kR;
  static constexpr int kCols = kC;

  template <int R, int C>
  static void Tile(const uint8_t* const* w, const XRows& x, int64_t blocks, float* y,
                   int64_t y_stride, int64_t prefetch) {
    __m256 acc[R][C];
    float accm[R][C];
    PAGODA_QUNROLL
    for (int r = 0; r < R; ++r) {
      PAGODA_QUNROLL
      for (int c = 0; c < C; ++c) {
        acc[r][c] = _mm256_setzero_ps();
        accm[r][c] = 0.0f;
      }
    }
    for (int64_t b = 0; b < blocks; ++b) {
      typename W::State st[C];
      if (prefetch != 0) {
        PAGODA_QUNROLL
        for (int c = 0; c < C; ++c) {
          for (size_t off = 0; off < W::kBlockBytes; off += 64) {
            _mm_prefetch(reinterpret_cast<const char*>(w[c] + b * W::kBlockBytes + prefetch + off),
                         _MM_HINT_T2);
          }
        }
      }
      PAGODA_QUNROLL
      for (int c = 0; c < C; ++c) W::Prepare(w[c] + b * W::kBlockBytes, &st[c]);
      __m256i sum[R][C];
      PAGODA_QUNROLL
      for (int r = 0; r < R; ++r) {
        PAGODA_QUNROLL
        for (int c = 0; c < C; ++c) sum[r][c] = _mm256_setzero_si256();
      }
      PAGODA_QUNROLL
      for (int u = 0; u < 8; ++u) {
        PAGODA_QUNROLL
        for (int c = 0; c < C; ++c) {
          const __m256i wq = W::Unit(st[c], u);
          const __m256i sc = W::Scale(st[c], u);
          PAGODA_QUNROLL
          for (int r = 0; r < R; ++r) {
            const __m256i xq = _mm256_loadu_si256(
                reinterpret_cast<const __m256i*>(x.q[r] + b * kQK_K + 32 * u));
            sum[r][c] = _mm256_add_epi32(sum[r][c],
                                         _mm256_madd_epi16(_mm256_maddubs_epi16(wq, xq), sc));
          }
        }
      }
      PAGODA_QUNROLL
      for (int r = 0; r < R; ++r) {
        const float dx = x.d[r][b];
        const int16_t* bsums = x.bsums[r] + b * (kQK_K / 16);
        PAGODA_QUNROLL
        for (int c = 0; c < C; ++c) {
          acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[r][c]), _mm256_set1_ps(st[c].d * dx),
                                      acc[r][c]);
          accm[r][c] = ScalarFma(static_cast<float>(W::Mins(st[c], bsums)), st[c].m * dx, accm[r][c]);
        }
      }
    }
    PAGODA_QUNROLL
    for (int r = 0; r < R; ++r) {
      PAGODA_QUNROLL
      for (int c = 0; c < C; ++c) y[r * y_stride + c] = LaneSum(acc[r][c]) - accm[r][c];
    }
  }
};

}  // namespace

void QMatMulRangeKQuant(const WeightMatrix& w, const cpu::QuantizedActs& qa, float* y,
                        int64_t y_stride, int64_t n_begin, int64_t n_end) {
  switch (w.dtype) {
    case DType::kQ4_K:
      qtile::Drive<SuperBlock<Q4KKernel, 4, 2, 2>>(w, qa, y, y_stride, n_begin, n_end);
      return;
    case DType::kQ5_K:
      qtile::Drive<SuperBlock<Q5KKernel, 4, 2, 2>>(w, qa, y, y_stride, n_begin, n_end);
      return;
    case DType::kQ6_K:
      qtile::Drive<SuperBlock<Q6KKernel, 4, 2, 2>>(w, qa, y, y_stride, n_begin, n_end);
      return;
    default:
      CHECK(false) << "QMatMul: no AVX2 kernel for " << DTypeName(w.dtype);
  }
}

}  // namespace pagoda::avx2
