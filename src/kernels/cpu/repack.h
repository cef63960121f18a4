// The row-interleaved layouts and the conversions between them and the
// file's rows: Q4_0 and Q8_0 by eight (WeightLayout::kQ4_0x8, kQ8_0x8),
// and the plain float types F32/F16/BF16 by eight (WeightLayout::kFloatX8,
// below).
//
// Why: batch-1 decode of a Q4_0 or Q8_0 model is bound by the integer-dot
// kernel's instruction count, not by memory (the file-order kernels stream
// weights well below what the machine reads: Q8_0 at ~50-60%). With eight
// rows' blocks side by side, one 32-byte load feeds eight rows, one
// vcvtph2ps widens their eight scales, and one vector accumulator holds
// eight outputs, so no horizontal sums are left (llama.cpp repacks Q4_0 the
// same way, "Q4_0_8_8", on AVX2 CPUs). The model loader repacks at load
// time (model/weight_repack.h).
//
// Layout, for a Q4_0 matrix of `rows` (a multiple of 8) x `cols` (a
// multiple of 32), blocks = cols / 32:
//   group g (rows 8g .. 8g+7) starts at g * blocks * 144 bytes; inside it
//   block b (elements 32b .. 32b+31) starts at b * 144 and holds
//     bytes   0 ..  15: the eight rows' fp16 scales d, row r at bytes 2r, 2r+1;
//     bytes  16 .. 143: four chunks of 32 bytes; chunk j (bytes 16 + 32j ..)
//       holds, in its 32-bit lane r (bytes 4r .. 4r+3), row r's qs bytes
//       4j .. 4j+3 of block b.
// So (chunk_j & 0x0f) has row r's elements 4j .. 4j+3 in lane r, and
// ((chunk_j >> 4) & 0x0f) its elements 4j+16 .. 4j+19. The total size is
// the file's (rows * cols / 32 * 18 bytes); a kQ4_0x8 WeightMatrix keeps
// row_bytes = the Q4_0 row size (cols / 32 * 18), which is not a stride:
// rows * row_bytes is still the matrix's size.
//
// kQ8_0x8 is the same arrangement for Q8_0's 32 signed bytes per block:
//   group g starts at g * blocks * 272 bytes; block b at b * 272 holds
//     bytes   0 ..  15: the eight rows' fp16 scales d, row r at bytes 2r, 2r+1;
//     bytes  16 .. 271: eight chunks of 32 bytes; chunk j (bytes 16 + 32j ..)
//       holds, in its 32-bit lane r, row r's qs bytes 4j .. 4j+3 (its
//       elements 4j .. 4j+3) of block b.
// 272 = 8 x 34, so the size is the file's, and row_bytes stays the Q8_0
// row size (cols / 32 * 34), not a stride, as for kQ4_0x8.
//
// Pure functions over caller-owned memory: thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/ops.h"

namespace pagoda::cpu {

constexpr int kQ4_0x8Rows = 8;
constexpr size_t kQ4_0x8BlockBytes = 144;  // 8 scales + 8 x 16 nibble bytes

// Whether w (file layout) can be repacked: Q4_0, rows a multiple of 8.
bool CanRepackQ4_0x8(const WeightMatrix& w);

// Bytes of a group of eight rows (= 8 * the Q4_0 row size).
inline size_t Q4_0x8GroupBytes(int64_t cols) {
  return static_cast<size_t>(cols / 32) * kQ4_0x8BlockBytes;
}

constexpr int kQ8_0x8Rows = 8;
constexpr size_t kQ8_0x8BlockBytes = 272;  // 8 scales + 8 x 32 int8 bytes

// Bytes of a group of eight rows (= 8 * the Q8_0 row size).
inline size_t Q8_0x8GroupBytes(int64_t cols) {
  return static_cast<size_t>(cols / 32) * kQ8_0x8BlockBytes;
}

// Writes w (kRows, CanRepackQ4_0x8) into dst (w.rows * w.row_bytes bytes)
// in the kQ4_0x8 layout and returns the matrix that reads it.
WeightMatrix RepackQ4_0x8(const WeightMatrix& w, uint8_t* dst);

// The exact inverse: writes the kQ4_0x8 matrix w back as file-order Q4_0
// rows into dst (w.rows * w.row_bytes bytes) and returns that matrix.
WeightMatrix UnpackQ4_0x8(const WeightMatrix& w, uint8_t* dst);

// As CanRepackQ4_0x8 / RepackQ4_0x8 / UnpackQ4_0x8, for Q8_0 and kQ8_0x8.
bool CanRepackQ8_0x8(const WeightMatrix& w);
WeightMatrix RepackQ8_0x8(const WeightMatrix& w, uint8_t* dst);
WeightMatrix UnpackQ8_0x8(const WeightMatrix& w, uint8_t* dst);

// Row `row` of a kQ4_0x8 or kQ8_0x8 matrix as the file had it: its
// w.row_bytes bytes of Q4_0 / Q8_0 blocks, into dst (what GetRow reads
// when a tied embedding table was repacked with its output matrix).
void X8RowBytes(const WeightMatrix& w, int64_t row, uint8_t* dst);

// kFloatX8: F32, F16 or BF16 rows side by side in groups of eight, eight
// elements at a time. Why: batch-1 decode of these types is bound by
// memory reads, and a tile over four file-order rows reads four 2-KiB
// streams at once that restart every tile; the hardware prefetcher then
// keeps only ~80% of the machine's bandwidth busy when memory is fast. A
// panel's groups of eight interleaved rows are one contiguous stream
// (tile_avx2.h's DecodeGroups). The arithmetic is unchanged: y's bits are the same as
// from file order.
//
// Layout, for `rows` (a multiple of 8) x `cols` (a multiple of 8) elements
// of `e` bytes: the columns are cut into panels of kFloatX8PanelCols (the
// last one narrower when cols is not a multiple), stored one after another;
// panel p (columns p * 1024 ..) of width w starts at p * rows * 1024 * e
// and holds, one after another, the groups of eight rows: group g (rows
// 8g .. 8g+7) at g * 8 * w * e into the panel; inside it chunk j (the
// panel's elements 8j .. 8j+7) at j * 64 * e, row r's eight elements at
// r * 8 * e. row_bytes stays cols * e (not a stride). A matrix of at most
// 1024 columns is one panel: each group is then one contiguous run.
//
// Why panels: a decode product reads x once per group. With a long x row
// (the FFN's down projection: 4864 floats, 19 KiB) the weight stream
// evicts x from L1 before the next group comes round, and the x reloads
// held such products to ~80% of the read probe when memory is fast,
// against ~91% with 1024-column panels, whose 4 KiB of x stays in L1
// while a thread streams the panel's groups (DecodeGroups in tile_avx2.h
// carries the accumulators from one panel to the next, so the FMAs and
// the bits are unchanged).
constexpr int kFloatX8Rows = 8;
constexpr int64_t kFloatX8PanelCols = 1024;

// The element types kFloatX8 holds: F32, F16, BF16.
inline bool IsFloatX8Type(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

// Whether w (file layout) can be repacked: F32/F16/BF16, rows and cols
// multiples of 8.
bool CanRepackFloatX8(const WeightMatrix& w);

// Row n's elements 8j .. 8j+7 in a kFloatX8 matrix. Inside a panel a row's
// next chunk is kFloatX8Rows chunks further on.
inline const uint8_t* FloatX8Chunk(const WeightMatrix& w, int64_t n, int64_t j) {
  constexpr int64_t kPanelChunks = kFloatX8PanelCols / 8;
  // No division by a runtime value here: prefill tiles call this for each
  // panel, and one 64-bit division per call cost them ~12%.
  const size_t chunk = (w.dtype == DType::kF32 ? 4 : 2) * 8;
  const int64_t panel = j / kPanelChunks, in_panel = j % kPanelChunks;
  const int64_t width = std::min(kPanelChunks, w.cols / 8 - panel * kPanelChunks);  // chunks per row
  return w.data + static_cast<size_t>(panel * kPanelChunks * w.rows) * chunk +
         static_cast<size_t>((n / kFloatX8Rows) * kFloatX8Rows * width + in_panel * kFloatX8Rows +
                             n % kFloatX8Rows) * chunk;
}

// As RepackQ4_0x8 / UnpackQ4_0x8, for kFloatX8.
WeightMatrix RepackFloatX8(const WeightMatrix& w, uint8_t* dst);
WeightMatrix UnpackFloatX8(const WeightMatrix& w, uint8_t* dst);

// Any repacking, whichever applies to w (kQ4_0x8 for Q4_0, kQ8_0x8 for
// Q8_0, kFloatX8 for F32/F16/BF16); CanRepack says whether one does.
bool CanRepack(const WeightMatrix& w);
WeightMatrix Repack(const WeightMatrix& w, uint8_t* dst);

}  // namespace pagoda::cpu
