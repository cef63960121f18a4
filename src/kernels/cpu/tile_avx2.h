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
// kGroup is how many rows sit side by side, block by block: 1 for file
// order (a row's blocks are kBlockBytes apart), 8 for the kFloatX8 layout
// (kernels/cpu/repack.h: a row's blocks are 8 * kBlockBytes apart, and row
// r of a group starts r * kBlockBytes into it). Only the addressing changes:
// the arithmetic, and so every bit of y, is the same in both.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

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

// y[r * y_stride + c] = sum_k x[r][k] * w[c][k] for an R x C tile.
// `prefetch` (bytes, 0 for none): each weight row's position that far ahead
// is prefetched into L2 as the tile walks its rows (see Columns and, for
// why L2, qtile_avx2.h's Drive). With kGroup > 1 the tile's rows share
// cache lines: one row per line issues the prefetch, into L1.
template <class Fmt, int R, int C, int kGroup = 1>
void Tile(const uint8_t* const* w, const float* const* x, int64_t k_len, float* y,
          int64_t y_stride, int64_t prefetch = 0) {
  constexpr int64_t kStride = kGroup * static_cast<int64_t>(Fmt::kBlockBytes);
  __m256 acc[R][C];
  PAGODA_UNROLL
  for (int r = 0; r < R; ++r) {
    PAGODA_UNROLL
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  }
  const int64_t blocks = k_len / Fmt::kBlock;
  constexpr int64_t kEvery = kStride >= 64 ? 1 : 64 / kStride;
  constexpr int kRowsPerLine = kGroup == 1 || Fmt::kBlockBytes >= 64 ? 1 : 64 / Fmt::kBlockBytes;
  for (int64_t b = 0; b < blocks; ++b) {
    if (prefetch != 0 && b % kEvery == 0) {
      PAGODA_UNROLL
      for (int c = 0; c < C; c += kRowsPerLine) {
        const char* p = reinterpret_cast<const char*>(w[c] + b * kStride + prefetch);
        // One stream (kGroup 8) into L1: measured in fast-memory windows, an
        // L2 prefetch held it to ~75-80% of the read probe, L1 to ~90%.
        if constexpr (kGroup == 1) {
          _mm_prefetch(p, _MM_HINT_T2);
        } else {
          _mm_prefetch(p, _MM_HINT_T0);
        }
      }
    }
    typename Fmt::State st[C];
    PAGODA_UNROLL
    for (int c = 0; c < C; ++c) st[c] = Fmt::Prepare(w[c] + b * kStride);
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
          xv[r] = _mm256_loadu_ps(x[r] + k);
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
        __m256 xv = _mm256_loadu_ps(x[r] + k);
        // Keep the chunk in a register: GCC would otherwise fold the load
        // into each of the C FMAs, and at two loads a cycle the loads, not
        // the FMAs, would set the pace.
        if constexpr (C > 1) asm("" : "+x"(xv));
        PAGODA_UNROLL
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(wv[c], xv, acc[r][c]);
      }
    }
  }
  PAGODA_UNROLL
  for (int r = 0; r < R; ++r) {
    PAGODA_UNROLL
    for (int c = 0; c < C; ++c) {
      float s = HorizontalSum(acc[r][c]);
      // Only file order has a tail (kFloatX8 needs k_len % 8 == 0).
      for (int64_t k = blocks * Fmt::kBlock; k < k_len; ++k) s = Fma(Fmt::Scalar(w[c], k), x[r][k], s);
      y[r * y_stride + c] = s;
    }
  }
}

// Rows [m, m + R) of x against the C weight rows starting at `rows`.
template <class Fmt, int R, int C, int kGroup>
void RunTile(const uint8_t* const* rows, const float* x, int64_t m, int64_t k_len, float* y,
             int64_t y_stride, int64_t prefetch = 0) {
  const float* xr[R];
  for (int r = 0; r < R; ++r) xr[r] = x + (m + r) * k_len;
  Tile<Fmt, R, C, kGroup>(rows, xr, k_len, y + m * y_stride, y_stride, prefetch);
}

// All rows of x against C weight rows: tiles of R (at most 4) rows, then
// the rest.
template <class Fmt, int R, int C, int kGroup>
void AllRows(const uint8_t* const* rows, const float* x, int64_t num_rows, int64_t k_len,
             float* y, int64_t y_stride) {
  static_assert(R >= 1 && R <= 4);
  int64_t m = 0;
  for (; m + R <= num_rows; m += R) RunTile<Fmt, R, C, kGroup>(rows, x, m, k_len, y, y_stride);
  switch (num_rows - m) {
    case 3: if constexpr (R > 3) RunTile<Fmt, 3, C, kGroup>(rows, x, m, k_len, y, y_stride); break;
    case 2: if constexpr (R > 2) RunTile<Fmt, 2, C, kGroup>(rows, x, m, k_len, y, y_stride); break;
    case 1: if constexpr (R > 1) RunTile<Fmt, 1, C, kGroup>(rows, x, m, k_len, y, y_stride); break;
    default: break;
  }
}

// One x row against whole groups of kFloatX8 rows [n_begin, n_end), both
// multiples of 8. Each group is one contiguous run of bytes, read front to
// back by an 8-row tile, and consecutive groups are contiguous too: the
// slice is a single stream, which the hardware prefetcher follows at the
// machine's full read bandwidth (file order's four 2-KiB rows side by side
// were four short streams restarting every tile, ~80% of it when memory is
// fast). The software prefetch runs a fixed distance ahead of that stream
// so crossing a page never stalls it.
template <class Fmt, class RowAt>
void DecodeGroups(RowAt row_at, const float* x, int64_t k_len, float* y, int64_t n_begin,
                  int64_t n_end) {
  constexpr int64_t kAhead = 4096;
  for (int64_t n = n_begin; n < n_end; n += 8) {
    const uint8_t* rows[8];
    for (int c = 0; c < 8; ++c) rows[c] = row_at(n + c);
    RunTile<Fmt, 1, 8, 8>(rows, x, 0, k_len, y + (n - n_begin), 1, kAhead);
  }
}

// `row_at(n)` gives weight row n's bytes; y[m * y_stride + (n - n_begin)]
// receives the result. One x row (decode): 4 weight rows per tile so four
// accumulators hide FMA latency, and the next tile's rows are prefetched
// (four short rows side by side are too short a run for the hardware
// prefetcher; decode waits on weight bytes). Several rows: 3 weight rows x
// 4 x-rows, twelve accumulators, each weight chunk used 4 times and each x
// chunk 3 times (7 loads per 12 FMAs, under the two loads a cycle); the x rows
// go in blocks of about 256 KiB, which stay in L2 while every weight row of
// the slice passes over them (a 512-token prompt is 2 MiB of x: streaming
// it from L3 once per weight pair would starve the FMAs).
//
// kGroup as for Tile. With 8 (kFloatX8), n_begin and n_end are multiples
// of 8 (MatMul's slices keep groups whole).
template <class Fmt, int kGroup = 1, class RowAt>
void Columns(RowAt row_at, const float* x, int64_t num_rows, int64_t k_len, float* y,
             int64_t y_stride, int64_t n_begin, int64_t n_end) {
  if constexpr (kGroup == 8) {
    if (num_rows == 1) return DecodeGroups<Fmt>(row_at, x, k_len, y, n_begin, n_end);
  }
  if (num_rows == 1) {
    int64_t n = n_begin;
    for (; n + 4 <= n_end; n += 4) {
      const uint8_t* rows[4] = {row_at(n), row_at(n + 1), row_at(n + 2), row_at(n + 3)};
      // Rows are contiguous in a mapped file: the next tile starts 4 rows on.
      const int64_t ahead = n + 8 <= n_end ? row_at(n + 4) - row_at(n) : 0;
      RunTile<Fmt, 1, 4, kGroup>(rows, x, 0, k_len, y + (n - n_begin), y_stride, ahead);
    }
    for (; n < n_end; ++n) {
      const uint8_t* rows[1] = {row_at(n)};
      RunTile<Fmt, 1, 1, kGroup>(rows, x, 0, k_len, y + (n - n_begin), y_stride);
    }
    return;
  }
  const int64_t row_block =
      std::clamp<int64_t>((int64_t{256} << 10) / (k_len * static_cast<int64_t>(sizeof(float))) / 4 * 4,
                          4, 64);
  for (int64_t m0 = 0; m0 < num_rows; m0 += row_block) {
    const int64_t rows = std::min(row_block, num_rows - m0);
    const float* xb = x + m0 * k_len;
    float* yb = y + m0 * y_stride;
    if constexpr (kGroup == 8) {
      // Two tiles of 4 weight rows x 3 x-rows per group: twelve
      // accumulators and 7 loads per 12 FMAs like file order's 3 x 4, and
      // for F16 each tile's chunks of a block are one cache line.
      for (int64_t n = n_begin; n < n_end; n += 4) {
        const uint8_t* w4[4] = {row_at(n), row_at(n + 1), row_at(n + 2), row_at(n + 3)};
        AllRows<Fmt, 3, 4, kGroup>(w4, xb, rows, k_len, yb + (n - n_begin), y_stride);
      }
      continue;
    }
    int64_t n = n_begin;
    for (; n + 3 <= n_end; n += 3) {
      const uint8_t* w3[3] = {row_at(n), row_at(n + 1), row_at(n + 2)};
      AllRows<Fmt, 4, 3, kGroup>(w3, xb, rows, k_len, yb + (n - n_begin), y_stride);
    }
    if (n + 2 <= n_end) {
      const uint8_t* w2[2] = {row_at(n), row_at(n + 1)};
      AllRows<Fmt, 4, 2, kGroup>(w2, xb, rows, k_len, yb + (n - n_begin), y_stride);
      n += 2;
    }
    for (; n < n_end; ++n) {
      const uint8_t* w1[1] = {row_at(n)};
      AllRows<Fmt, 4, 1, kGroup>(w1, xb, rows, k_len, yb + (n - n_begin), y_stride);
    }
  }
}

}  // namespace pagoda::avx2::tile
