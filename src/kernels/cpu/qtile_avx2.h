// Register tiles for the quantized-activation MatMul (AVX2), shared by the
// Q8_0/Q4_0 and the K-quant kernels. Include only from *_avx2.cc files.
//
// A tile computes R rows of quantized x against C weight rows. Every output
// owns eight float lane accumulators that follow the arithmetic fixed in
// qmatmul.h block by block, so the tile shape — chosen from the batch size
// — never changes a bit of the result. Pure functions: thread-safe.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/qmatmul.h"

namespace pagoda::avx2::qtile {

#define PAGODA_QUNROLL _Pragma("GCC unroll 32")

// The lane sum of qmatmul.h: ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)).
inline float LaneSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Rows of quantized x that a tile reads.
struct XRows {
  const int8_t* q[4];
  const float* d[4];
  const int16_t* bsums[4];
  const float* d8[4];
  const int32_t* corr8[4];
};

inline XRows RowsAt(const cpu::QuantizedActs& qa, int64_t m, int count) {
  XRows x{};
  for (int r = 0; r < count; ++r) {
    x.q[r] = qa.q_row(m + r);
    x.d[r] = qa.d_row(m + r);
    if (qa.bsums != nullptr) x.bsums[r] = qa.bsums_row(m + r);
    if (qa.d8 != nullptr) {
      x.d8[r] = qa.d8_row(m + r);
      x.corr8[r] = qa.corr8_row(m + r);
    }
  }
  return x;
}

// Drives a kernel K (K::template Tile<R, C>(w_rows, x, blocks, y, y_stride,
// prefetch)) over all rows of qa and weight rows [n_begin, n_end). One x row
// (decode): C = kDecodeCols weight rows per tile, and each tile prefetches
// the next tile's rows block by block (`prefetch` bytes ahead): a tile reads
// C short rows side by side, too short a run for the hardware prefetcher to
// get ahead of, and decode is bound by how fast weights arrive. The
// prefetches go to L2 only (prefetcht2): into L1 they measured much slower
// (F16 over 256 MiB, quiet machine: 24 GB/s with t0, 33-40 with t2; Q4_0
// 20 vs 23-25), the L1 fills competing with the demand loads. Several x
// rows: the rows go in blocks of kRowBlock (their quantized data stays in L2
// while every weight row of the slice passes over them), R x kCols tiles
// inside a block.
template <class K>
void Drive(const WeightMatrix& w, const cpu::QuantizedActs& qa, float* y, int64_t y_stride,
           int64_t n_begin, int64_t n_end) {
  const int64_t blocks = qa.blocks_per_row();
  auto row_at = [&](int64_t n) { return w.data + n * w.row_bytes; };
  auto out = [&](int64_t m, int64_t n) { return y + m * y_stride + (n - n_begin); };
  const int64_t rows = qa.num_rows;
  if (rows == 1) {
    constexpr int C = K::kDecodeCols;
    const XRows x = RowsAt(qa, 0, 1);
    int64_t n = n_begin;
    const int64_t ahead = C * static_cast<int64_t>(w.row_bytes);
    for (; n + C <= n_end; n += C) {
      const uint8_t* wr[C];
      for (int c = 0; c < C; ++c) wr[c] = row_at(n + c);
      K::template Tile<1, C>(wr, x, blocks, out(0, n), y_stride, n + 2 * C <= n_end ? ahead : 0);
    }
    for (; n < n_end; ++n) {
      const uint8_t* wr[1] = {row_at(n)};
      K::template Tile<1, 1>(wr, x, blocks, out(0, n), y_stride, 0);
    }
    return;
  }
  constexpr int R = K::kRows, C = K::kCols;
  static_assert(R >= 1 && R <= 4, "the row remainder below handles tiles of up to 4 rows");
  constexpr int64_t kRowBlock = 64;
  for (int64_t m0 = 0; m0 < rows; m0 += kRowBlock) {
    const int64_t m1 = std::min(rows, m0 + kRowBlock);
    auto all_rows = [&]<int CC>(const uint8_t* const* wr, int64_t n) {
      int64_t m = m0;
      for (; m + R <= m1; m += R) K::template Tile<R, CC>(wr, RowsAt(qa, m, R), blocks, out(m, n), y_stride, 0);
      const int rest = static_cast<int>(m1 - m);
      if constexpr (R > 3) {
        if (rest == 3) K::template Tile<3, CC>(wr, RowsAt(qa, m, 3), blocks, out(m, n), y_stride, 0);
      }
      if constexpr (R > 2) {
        if (rest == 2) K::template Tile<2, CC>(wr, RowsAt(qa, m, 2), blocks, out(m, n), y_stride, 0);
      }
      if (rest == 1) K::template Tile<1, CC>(wr, RowsAt(qa, m, 1), blocks, out(m, n), y_stride, 0);
    };
    int64_t n = n_begin;
    for (; n + C <= n_end; n += C) {
      const uint8_t* wr[C];
      for (int c = 0; c < C; ++c) wr[c] = row_at(n + c);
      all_rows.template operator()<C>(wr, n);
    }
    for (; n < n_end; ++n) {
      const uint8_t* wr[1] = {row_at(n)};
      all_rows.template operator()<1>(wr, n);
    }
  }
}

}  // namespace pagoda::avx2::qtile
