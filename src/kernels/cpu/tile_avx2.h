// Register-tile machinery shared by the AVX2 MatMul kernels. Include only
// from *_avx2.cc files (it uses AVX2/FMA/F16C intrinsics).
//
// One tile computes y for R rows of x times C rows of w. Every output element
// owns one 8-lane accumulator that takes, for k = 0, 8, 16, ...,
// acc = fma(w[k..k+8), x[k..k+8), acc); then a fixed horizontal sum and the
// k % 8 tail in order with scalar FMAs. That sequence depends only on k, so
// any tile shape (R, C) — chosen from the batch size — yields the same bits:
// the kernels are batch invariant by construction. Tiles share each weight
// load across the R rows of x, which is what makes prefill faster than R
// separate products.
//
// A weight format is a struct with kBlock (elements per block, a multiple of
// 8), kBlockBytes, a State built once per block by Prepare(block bytes),
// Chunk(state, sub) giving the block's floats [8 sub, 8 sub + 8), and
// Scalar(row, k) for the k % 8 tail of unblocked formats. Pure functions:
// thread-safe.
//
// Accumulate's kGroup is how many rows sit side by side, block by block: 1
// for file order (a row's blocks are kBlockBytes apart; Tile), 8 for the
// kFloatX8 layout (kernels/cpu/repack.h: inside a 1024-column panel a
// row's blocks are 8 * kBlockBytes apart, and row r of a group starts
// r * kBlockBytes into it; X8Tile and DecodeGroups walk the panels and
// keep the accumulators across them). Only the addressing changes: the
// arithmetic, and so every bit of y, is the same in both.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/cpu/repack.h"

namespace pagoda::avx2::tile {

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float Fma(float a, float b, float c) {
  return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

inline float HalfToFloat(uint16_t h) { return _cvtsh_ss(h); }

// Plain float weights (also the format of dequantized scratch rows).
struct F32Format {
  static constexpr int kBlock = 8;
  static constexpr size_t kBlockBytes = 32;
  using State = const float*;
  static State Prepare(const uint8_t* block) { return reinterpret_cast<const float*>(block); }
  static __m256 Chunk(State s, int) { return _mm256_loadu_ps(s); }
  static float Scalar(const uint8_t* row, int64_t k) {
    return reinterpret_cast<const float*>(row)[k];
  }
};

// Fully unrolled R / C loops let the accumulators live in registers; left
// to itself GCC keeps acc[][] on the stack and the kernel runs 4x slower.
#define PAGODA_UNROLL _Pragma("GCC unroll 32")

// acc[r][c] += the FMAs of blocks [0, blocks) of the C weight rows `w`
// against x rows r at elements k0 + 8 * ... . `prefetch` (bytes, 0 for
// none): each weight row's position that far ahead is prefetched into L2
// as the tile walks its rows (file-order decode; see Columns and, for why
// L2, qtile_avx2.h's Drive). Inlined into the tiles below, so the
// accumulators never leave registers.
template <class Fmt, int R, int C, int kGroup>
__attribute__((always_inline)) inline void Accumulate(__m256 (&acc)[R][C], const uint8_t* const* w,
                                                      const float* const* x, int64_t k0,
                                                      int64_t blocks, int64_t prefetch) {
  constexpr int64_t kStride = kGroup * static_cast<int64_t>(Fmt::kBlockBytes);
  constexpr int64_t kEvery = kStride >= 64 ? 1 : 64 / kStride;
  // Local copies: with the callers' pointer arrays GCC reloaded the
  // pointers from the stack every block (it cannot rule out that they
  // change), which cost the 3 x 4 prefill tile ~10%.
  const uint8_t* wp[C];
  const float* xp[R];
  PAGODA_UNROLL
  for (int c = 0; c < C; ++c) wp[c] = w[c];
  PAGODA_UNROLL
  for (int r = 0; r < R; ++r) xp[r] = x[r] + k0;
  for (int64_t b = 0; b < blocks; ++b) {
    if (prefetch != 0 && b % kEvery == 0) {
      PAGODA_UNROLL
      for (int c = 0; c < C; ++c) _mm_prefetch(reinterpret_cast<const char*>(wp[c] + b * kStride + prefetch), _MM_HINT_T2);
    }
    typename Fmt::State st[C];
    PAGODA_UNROLL
    for (int c = 0; c < C; ++c) st[c] = Fmt::Prepare(wp[c] + b * kStride);
    PAGODA_UNROLL
    for (int sub = 0; sub < Fmt::kBlock / 8; ++sub) {
      const int64_t k = b * Fmt::kBlock + sub * 8;
      if constexpr (R < C) {
        // Fewer x rows than weight rows: hold the R x chunks and widen each
        // weight chunk right before its R FMAs, R + 1 + R * C vectors live.
        // The order below holds C + 1 + R * C; for the 8-row decode tile
        // that is 17 of AVX2's 16 and spilled (the tile then computed at
        // half the rate, below the memory's fast mode), and it rules out
        // the 3 x 4 prefill tile of kFloatX8. Same FMAs either way.
        __m256 xv[R];
        PAGODA_UNROLL
        for (int r = 0; r < R; ++r) {
          xv[r] = _mm256_loadu_ps(xp[r] + k);
          asm("" : "+x"(xv[r]));  // loaded once, not folded into C FMAs
        }
        PAGODA_UNROLL
        for (int c = 0; c < C; ++c) {
          __m256 wv = Fmt::Chunk(st[c], sub);
          if constexpr (R > 1) asm("" : "+x"(wv));
          PAGODA_UNROLL
          for (int r = 0; r < R; ++r) acc[r][c] = _mm256_fmadd_ps(wv, xv[r], acc[r][c]);
        }
        continue;
      }
      __m256 wv[C];
      PAGODA_UNROLL
      for (int c = 0; c < C; ++c) wv[c] = Fmt::Chunk(st[c], sub);
      PAGODA_UNROLL
      for (int r = 0; r < R; ++r) {
        __m256 xv = _mm256_loadu_ps(xp[r] + k);
        // Keep the chunk in a register: GCC would otherwise fold the load
        // into each of the C FMAs, and at two loads a cycle the loads, not
        // the FMAs, would set the pace.
        if constexpr (C > 1) asm("" : "+x"(xv));
        PAGODA_UNROLL
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(wv[c], xv, acc[r][c]);
      }
    }
  }
}

template <int R, int C>
__attribute__((always_inline)) inline void Zero(__m256 (&acc)[R][C]) {
  PAGODA_UNROLL
  for (int r = 0; r < R; ++r) {
    PAGODA_UNROLL
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  }
}

// y[r * y_stride + c] = the fixed horizontal sum of acc[r][c], then, for
// file order, the k % 8 tail [tail_begin, k_len) of rows `w` in order.
template <class Fmt, int R, int C>
__attribute__((always_inline)) inline void Finish(__m256 (&acc)[R][C], const uint8_t* const* w,
                                                  const float* const* x, int64_t tail_begin,
                                                  int64_t k_len, float* y, int64_t y_stride) {
  PAGODA_UNROLL
  for (int r = 0; r < R; ++r) {
    PAGODA_UNROLL
    for (int c = 0; c < C; ++c) {
      float s = HorizontalSum(acc[r][c]);
      for (int64_t k = tail_begin; k < k_len; ++k) s = Fma(Fmt::Scalar(w[c], k), x[r][k], s);
      y[r * y_stride + c] = s;
    }
  }
}

// y[r * y_stride + c] = sum_k x[r][k] * w[c][k] for an R x C tile of
// file-order rows (prefetch as for Accumulate).
template <class Fmt, int R, int C>
void Tile(const uint8_t* const* w, const float* const* x, int64_t k_len, float* y,
          int64_t y_stride, int64_t prefetch = 0) {
  __m256 acc[R][C];
  Zero(acc);
  const int64_t blocks = k_len / Fmt::kBlock;
  Accumulate<Fmt, R, C, 1>(acc, w, x, 0, blocks, prefetch);
  Finish<Fmt>(acc, w, x, blocks * Fmt::kBlock, k_len, y, y_stride);
}

// The same for C rows n, n + 1, ... of a kFloatX8 matrix (kernels/cpu/
// repack.h), panel by panel with the accumulators in registers. `w` is
// the matrix; Fmt's blocks are its 8-element chunks.
template <class Fmt, int R, int C>
__attribute__((noinline)) void X8Tile(const WeightMatrix& w, int64_t n, const float* const* x, float* y, int64_t y_stride) {
  static_assert(Fmt::kBlock == 8);
  constexpr int64_t kPanelChunks = cpu::kFloatX8PanelCols / 8;
  __m256 acc[R][C];
  Zero(acc);
  const int64_t chunks = w.cols / 8;
  for (int64_t j0 = 0; j0 < chunks; j0 += kPanelChunks) {
    const uint8_t* rows[C];
    PAGODA_UNROLL
    for (int c = 0; c < C; ++c) rows[c] = cpu::FloatX8Chunk(w, n + c, j0);
    Accumulate<Fmt, R, C, cpu::kFloatX8Rows>(acc, rows, x, 8 * j0, std::min(kPanelChunks, chunks - j0), 0);
  }
  Finish<Fmt>(acc, nullptr, x, w.cols, w.cols, y, y_stride);
}

// Rows [m, m + R) of x, as the tiles take them.
template <int R>
std::array<const float*, R> XRows(const float* x, int64_t m, int64_t k_len) {
  std::array<const float*, R> xr;
  for (int r = 0; r < R; ++r) xr[r] = x + (m + r) * k_len;
  return xr;
}

// All rows of x in tiles of R (at most 4), then one tile of the rest:
// run(std::integral_constant<int, r>(), m) computes rows [m, m + r).
template <int R, class Run>
void AllRows(int64_t num_rows, Run run) {
  static_assert(R >= 1 && R <= 4);
  int64_t m = 0;
  for (; m + R <= num_rows; m += R) run(std::integral_constant<int, R>(), m);
  switch (num_rows - m) {
    case 3: if constexpr (R > 3) run(std::integral_constant<int, 3>(), m); break;
    case 2: if constexpr (R > 2) run(std::integral_constant<int, 2>(), m); break;
    case 1: if constexpr (R > 1) run(std::integral_constant<int, 1>(), m); break;
    default: break;
  }
}

// Prefill takes the x rows in blocks of about 256 KiB, which stay in L2
// while every weight row of the slice passes over them (a 512-token prompt
// is 2 MiB of x: streaming it from L3 once per weight tile would starve
// the FMAs).
inline int64_t XRowBlock(int64_t k_len) {
  return std::clamp<int64_t>((int64_t{256} << 10) / (k_len * static_cast<int64_t>(sizeof(float))) / 4 * 4, 4, 64);
}

// One x row against whole groups of kFloatX8 rows [n_begin, n_end), both
// multiples of 8: panel by panel, each panel's groups front to back. A
// panel's groups are contiguous, so a thread's share of a panel is a single
// stream, which the hardware prefetcher follows at the machine's full read
// bandwidth (file order's four 2-KiB rows side by side were four short
// streams restarting every tile, ~80% of it when memory is fast); the
// panel's x (4 KiB) stays in L1 meanwhile. Between panels each group's
// eight accumulators wait in a per-thread buffer, so the FMAs per output
// are the same, in the same order, as in one pass. No software prefetch:
// measured in fast-memory windows, a T0 prefetch 4 KiB ahead held the
// stream to 87-89% of the read probe and 79% with panels (it evicts x),
// against 90% and 91% without.
template <class Fmt>
void DecodeGroups(const WeightMatrix& w, const float* x, float* y, int64_t n_begin, int64_t n_end) {
  constexpr int64_t kPanelChunks = cpu::kFloatX8PanelCols / 8;
  constexpr int kRows = cpu::kFloatX8Rows;
  const int64_t chunks = w.cols / 8;
  const float* xr[1] = {x};
  if (chunks <= kPanelChunks) {
    for (int64_t n = n_begin; n < n_end; n += kRows) X8Tile<Fmt, 1, kRows>(w, n, xr, y + (n - n_begin), 1);
    return;
  }
  thread_local std::vector<float> carry;
  const size_t need = static_cast<size_t>(n_end - n_begin) * 8;  // 8 lanes per row
  if (carry.size() < need) carry.resize(need);
  for (int64_t j0 = 0; j0 < chunks; j0 += kPanelChunks) {
    const int64_t width = std::min(kPanelChunks, chunks - j0);
    for (int64_t n = n_begin; n < n_end; n += kRows) {
      float* saved = carry.data() + (n - n_begin) * 8;
      __m256 acc[1][kRows];
      const uint8_t* rows[kRows];
      PAGODA_UNROLL
      for (int c = 0; c < kRows; ++c) {
        acc[0][c] = j0 == 0 ? _mm256_setzero_ps() : _mm256_loadu_ps(saved + 8 * c);
        rows[c] = cpu::FloatX8Chunk(w, n + c, j0);
      }
      Accumulate<Fmt, 1, kRows, kRows>(acc, rows, xr, 8 * j0, width, 0);
      if (j0 + width == chunks) {
        Finish<Fmt>(acc, nullptr, xr, w.cols, w.cols, y + (n - n_begin), 1);
      } else {
        PAGODA_UNROLL
        for (int c = 0; c < kRows; ++c) _mm256_storeu_ps(saved + 8 * c, acc[0][c]);
      }
    }
  }
}

// `row_at(n)` gives file-order weight row n's bytes; y[m * y_stride +
// (n - n_begin)] receives the result. One x row (decode): 4 weight rows per
// tile so four accumulators hide FMA latency, and the next tile's rows are
// prefetched (four short rows side by side are too short a run for the
// hardware prefetcher; decode waits on weight bytes). Several rows: 3
// weight rows x 4 x-rows, twelve accumulators, each weight chunk used 4
// times and each x chunk 3 times (7 loads per 12 FMAs, under the two loads
// a cycle), x rows in XRowBlock's blocks.
template <class Fmt, class RowAt>
void Columns(RowAt row_at, const float* x, int64_t num_rows, int64_t k_len, float* y,
             int64_t y_stride, int64_t n_begin, int64_t n_end) {
  if (num_rows == 1) {
    int64_t n = n_begin;
    for (; n + 4 <= n_end; n += 4) {
      const uint8_t* rows[4] = {row_at(n), row_at(n + 1), row_at(n + 2), row_at(n + 3)};
      // Rows are contiguous in a mapped file: the next tile starts 4 rows on.
      const int64_t ahead = n + 8 <= n_end ? row_at(n + 4) - row_at(n) : 0;
      Tile<Fmt, 1, 4>(rows, &x, k_len, y + (n - n_begin), y_stride, ahead);
    }
    for (; n < n_end; ++n) {
      const uint8_t* rows[1] = {row_at(n)};
      Tile<Fmt, 1, 1>(rows, &x, k_len, y + (n - n_begin), y_stride);
    }
    return;
  }
  const int64_t row_block = XRowBlock(k_len);
  for (int64_t m0 = 0; m0 < num_rows; m0 += row_block) {
    const int64_t rows = std::min(row_block, num_rows - m0);
    const float* xb = x + m0 * k_len;
    float* yb = y + m0 * y_stride;
    auto tiles = [&]<int C>(const uint8_t* const* w, int64_t n) {
      AllRows<4>(rows, [&](auto r, int64_t m) {
        constexpr int kR = decltype(r)::value;
        Tile<Fmt, kR, C>(w, XRows<kR>(xb, m, k_len).data(), k_len, yb + m * y_stride + (n - n_begin), y_stride);
      });
    };
    int64_t n = n_begin;
    for (; n + 3 <= n_end; n += 3) {
      const uint8_t* w3[3] = {row_at(n), row_at(n + 1), row_at(n + 2)};
      tiles.template operator()<3>(w3, n);
    }
    if (n + 2 <= n_end) {
      const uint8_t* w2[2] = {row_at(n), row_at(n + 1)};
      tiles.template operator()<2>(w2, n);
      n += 2;
    }
    for (; n < n_end; ++n) {
      const uint8_t* w1[1] = {row_at(n)};
      tiles.template operator()<1>(w1, n);
    }
  }
}

// Columns for a kFloatX8 matrix (n_begin and n_end multiples of 8). Several
// x rows: two tiles of 4 weight rows x 3 x-rows per group, twelve
// accumulators and 7 loads per 12 FMAs like file order's 3 x 4, and for
// F16 each tile's chunks of a block are one cache line.
template <class Fmt>
void X8Columns(const WeightMatrix& w, const float* x, int64_t num_rows, float* y, int64_t y_stride,
               int64_t n_begin, int64_t n_end) {
  if (num_rows == 1) return DecodeGroups<Fmt>(w, x, y, n_begin, n_end);
  const int64_t k_len = w.cols, row_block = XRowBlock(k_len);
  for (int64_t m0 = 0; m0 < num_rows; m0 += row_block) {
    const int64_t rows = std::min(row_block, num_rows - m0);
    const float* xb = x + m0 * k_len;
    float* yb = y + m0 * y_stride;
    for (int64_t n = n_begin; n < n_end; n += 4) {
      AllRows<3>(rows, [&](auto r, int64_t m) {
        constexpr int kR = decltype(r)::value;
        X8Tile<Fmt, kR, 4>(w, n, XRows<kR>(xb, m, k_len).data(), yb + m * y_stride + (n - n_begin), y_stride);
      });
    }
  }
}

}  // namespace pagoda::avx2::tile
