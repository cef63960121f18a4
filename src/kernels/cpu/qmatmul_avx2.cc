// AVX2 activation quantizer and the Q8_0 / Q4_0 integer-dot MatMul
// (compiled with -mavx2 -mfma -mf16c). Arithmetic as fixed in qmatmul.h.
//
// One 32-element block of one (x row, weight row) pair costs a maddubs (32
// byte products summed in pairs to int16), a madd (to eight int32 lanes), a
// conversion and one fma. maddubs wants one unsigned operand: Q4_0 nibbles
// are unsigned already (w + 8), so the block's lanes are
// maddubs(w + 8, x) - 8 * (lane sums of x); Q8_0 moves the weight's sign
// onto x (|w| * sign(x, w)).
#include <immintrin.h>

#include "kernels/cpu/qmatmul.h"
#include "kernels/cpu/qtile_avx2.h"

namespace pagoda::avx2 {

namespace {

using qtile::LaneSum;
using qtile::XRows;

inline __m256i Ones16() { return _mm256_set1_epi16(1); }

// An fp16 scale widened into all eight lanes. Converting the broadcast
// (rather than broadcasting a converted scalar) keeps d_w a vector, so the
// per-pair d_w * d_x is one vector multiply instead of a scalar multiply
// plus a broadcast.
inline __m256 BroadcastHalf(uint16_t h) {
  return _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(h)));
}

// 32 floats -> 32 int8 rounded half to even, in element order.
inline __m256i QuantizeChunk32(const float* x, __m256 id) {
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x), id), kRound));
  const __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8), id), kRound));
  const __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 16), id), kRound));
  const __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 24), id), kRound));
  // The packs work within 128-bit halves; the permute restores element order.
  const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
  return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

float AbsMax(const float* x, int n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Q8_0 weights: |w| in a register, w itself (only its signs are used, to
// move onto x) read from the block again, d_w broadcast. x must sit in a
// register for vpsignb; |w| keeps -128 right (it reads as unsigned 128).
struct Q8_0Kernel {
  static constexpr size_t kBlockBytes = sizeof(BlockQ8_0);
  static constexpr int kDecodeCols = 4;
  static constexpr int kRows = 4;
  static constexpr int kCols = 2;
  struct State {
    __m256i abs;
    const __m256i* w;
    __m256 d;
  };
  static State Prepare(const uint8_t* p) {
    const auto* b = reinterpret_cast<const BlockQ8_0*>(p);
    const auto* w = reinterpret_cast<const __m256i*>(b->qs);
    const __m256i v = _mm256_loadu_si256(w);
    return {_mm256_sign_epi8(v, v), w, BroadcastHalf(b->d)};
  }
  struct XState {
    __m256i q;
    const __m256* d8;
  };
  static XState PrepareX(const XRows& x, int r, int64_t b) {
    return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.q[r] + b * 32)),
            reinterpret_cast<const __m256*>(x.d8[r] + b * 8)};
  }
  static __m256i Lanes(const State& w, const XState& x) {
    const __m256i signed_x = _mm256_sign_epi8(x.q, _mm256_loadu_si256(w.w));
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w.abs, signed_x), Ones16());
  }
};

// Q4_0 weights as unsigned nibbles (w + 8) in element order; the + 8 comes
// back off with x's corr8. Every x operand is read from memory.
struct Q4_0Kernel {
  static constexpr size_t kBlockBytes = sizeof(BlockQ4_0);
  static constexpr int kDecodeCols = 4;
  static constexpr int kRows = 4;
  static constexpr int kCols = 2;
  struct State {
    __m256i u;
    __m256 d;
  };
  static State Prepare(const uint8_t* p) {
    const auto* b = reinterpret_cast<const BlockQ4_0*>(p);
    // The 16 bytes in both halves (one load), the upper half shifted down a
    // nibble: low nibbles are elements 0..15, high nibbles 16..31.
    const __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b->qs)));
    const __m256i both = _mm256_srlv_epi64(q, _mm256_setr_epi64x(0, 0, 4, 4));
    return {_mm256_and_si256(both, _mm256_set1_epi8(0x0f)), BroadcastHalf(b->d)};
  }
  struct XState {
    const __m256i* q;
    const __m256i* corr;
    const __m256* d8;
  };
  static XState PrepareX(const XRows& x, int r, int64_t b) {
    return {reinterpret_cast<const __m256i*>(x.q[r] + b * 32),
            reinterpret_cast<const __m256i*>(x.corr8[r] + b * 8),
            reinterpret_cast<const __m256*>(x.d8[r] + b * 8)};
  }
  static __m256i Lanes(const State& w, const XState& x) {
    const __m256i p = _mm256_maddubs_epi16(w.u, _mm256_loadu_si256(x.q));
    return _mm256_sub_epi32(_mm256_madd_epi16(p, Ones16()), _mm256_loadu_si256(x.corr));
  }
};

// The R x C tile over 32-element blocks, for either weight kernel W.
template <class W>
struct Block32 {
  static constexpr int kDecodeCols = W::kDecodeCols;
  static constexpr int kRows = W::kRows;
  static constexpr int kCols = W::kCols;

  template <int R, int C>
  static void Tile(const uint8_t* const* w, const XRows& x, int64_t blocks, float* y,
                   int64_t y_stride, int64_t prefetch) {
    constexpr size_t kBytes = W::kBlockBytes;
    __m256 acc[R][C];
    PAGODA_QUNROLL
    for (int r = 0; r < R; ++r) {
      PAGODA_QUNROLL
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < blocks; ++b) {
      typename W::State st[C];
      if (prefetch != 0) {
        PAGODA_QUNROLL
        for (int c = 0; c < C; ++c) {
          _mm_prefetch(reinterpret_cast<const char*>(w[c] + b * kBytes + prefetch), _MM_HINT_T2);
        }
      }
      PAGODA_QUNROLL
      for (int c = 0; c < C; ++c) st[c] = W::Prepare(w[c] + b * kBytes);
      PAGODA_QUNROLL
      for (int r = 0; r < R; ++r) {
        const typename W::XState xs = W::PrepareX(x, r, b);
        PAGODA_QUNROLL
        for (int c = 0; c < C; ++c) {
          // d_w * d_x, with d_x read as eight copies: one vector multiply.
          const __m256 dd = _mm256_mul_ps(st[c].d, _mm256_loadu_ps(reinterpret_cast<const float*>(xs.d8)));
          acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(W::Lanes(st[c], xs)), dd, acc[r][c]);
        }
      }
    }
    PAGODA_QUNROLL
    for (int r = 0; r < R; ++r) {
      PAGODA_QUNROLL
      for (int c = 0; c < C; ++c) y[r * y_stride + c] = LaneSum(acc[r][c]);
    }
  }
};

}  // namespace

void QuantizeActs(const float* x, const cpu::QuantizedActs& qa, int64_t m_begin, int64_t m_end) {
  const int block = cpu::ActBlock(qa.format);
  for (int64_t m = m_begin; m < m_end; ++m) {
    const float* xr = x + m * qa.cols;
    int8_t* q = const_cast<int8_t*>(qa.q_row(m));
    float* d = const_cast<float*>(qa.d_row(m));
    for (int64_t b = 0; b < qa.blocks_per_row(); ++b) {
      const float* xb = xr + b * block;
      const float amax = AbsMax(xb, block);
      d[b] = amax / 127.0f;
      const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
      for (int i = 0; i < block; i += 32) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * block + i), QuantizeChunk32(xb + i, id));
      }
    }
    if (qa.format == cpu::ActFormat::kBlock32) {
      float* d8 = const_cast<float*>(qa.d8_row(m));
      int32_t* corr8 = const_cast<int32_t*>(qa.corr8_row(m));
      int32_t* corr32 = const_cast<int32_t*>(qa.corr32_row(m));
      for (int64_t b = 0; b < qa.blocks_per_row(); ++b) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * 32));
        const __m256i corr = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(8), v), Ones16());
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(corr8 + b * 8), corr);
        _mm256_storeu_ps(d8 + b * 8, _mm256_set1_ps(d[b]));
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(corr), _mm256_extracti128_si256(corr, 1));
        s = _mm_hadd_epi32(s, s);
        corr32[b] = _mm_cvtsi128_si32(_mm_hadd_epi32(s, s));
      }
    }
    if (qa.format == cpu::ActFormat::kBlock256) {
      // Sums of 16: maddubs(1, q) sums pairs, madd(., 1) fours; then the
      // two fours of each 16 (lanes 4j .. 4j+3 of a chunk) are added.
      int16_t* bs = const_cast<int16_t*>(qa.bsums_row(m));
      for (int64_t i = 0; i < qa.cols; i += 32) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i));
        const __m256i fours = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), v), Ones16());
        alignas(32) int32_t f[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(f), fours);
        bs[i / 16] = static_cast<int16_t>(f[0] + f[1] + f[2] + f[3]);
        bs[i / 16 + 1] = static_cast<int16_t>(f[4] + f[5] + f[6] + f[7]);
      }
    }
  }
}

void QMatMulRange(const WeightMatrix& w, const cpu::QuantizedActs& qa, float* y, int64_t y_stride,
                  int64_t n_begin, int64_t n_end) {
  switch (w.dtype) {
    case DType::kQ8_0: qtile::Drive<Block32<Q8_0Kernel>>(w, qa, y, y_stride, n_begin, n_end); return;
    case DType::kQ4_0: qtile::Drive<Block32<Q4_0Kernel>>(w, qa, y, y_stride, n_begin, n_end); return;
    default: QMatMulRangeKQuant(w, qa, y, y_stride, n_begin, n_end); return;
  }
}

}  // namespace pagoda::avx2
