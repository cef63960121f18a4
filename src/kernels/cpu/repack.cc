// Conversions between file-order Q4_0 rows and the kQ4_0x8 layout
// (kernels/cpu/repack.h): plain byte copies, so the round trip is exact.
#include "kernels/cpu/repack.h"

#include <cstring>

#include "base/check.h"

namespace pagoda::cpu {

namespace {

// Copies between one file-order row block and its place in an x8 block;
// to_x8 picks the direction.
void MoveBlock(BlockQ4_0* row_block, uint8_t* x8_block, int r, bool to_x8) {
  uint8_t* scale = x8_block + 2 * r;
  if (to_x8) {
    std::memcpy(scale, &row_block->d, 2);
  } else {
    std::memcpy(&row_block->d, scale, 2);
  }
  for (int j = 0; j < 4; ++j) {
    uint8_t* lane = x8_block + 16 + 32 * j + 4 * r;
    if (to_x8) {
      std::memcpy(lane, row_block->qs + 4 * j, 4);
    } else {
      std::memcpy(row_block->qs + 4 * j, lane, 4);
    }
  }
}

void Convert(const WeightMatrix& w, uint8_t* rows_data, uint8_t* x8_data, bool to_x8) {
  const int64_t blocks = w.cols / 32;
  const size_t group_bytes = Q4_0x8GroupBytes(w.cols);
  for (int64_t g = 0; g < w.rows / kQ4_0x8Rows; ++g) {
    for (int r = 0; r < kQ4_0x8Rows; ++r) {
      auto* row = reinterpret_cast<BlockQ4_0*>(rows_data + (g * kQ4_0x8Rows + r) * w.row_bytes);
      for (int64_t b = 0; b < blocks; ++b) {
        MoveBlock(row + b, x8_data + g * group_bytes + b * kQ4_0x8BlockBytes, r, to_x8);
      }
    }
  }
}

// w's matrix, now at dst in `layout`.
WeightMatrix At(const WeightMatrix& w, uint8_t* dst, WeightLayout layout) {
  WeightMatrix out = w;
  out.data = dst;
  out.layout = layout;
  return out;
}

}  // namespace

bool CanRepackQ4_0x8(const WeightMatrix& w) {
  return w.dtype == DType::kQ4_0 && w.layout == WeightLayout::kRows && w.rows > 0 &&
         w.rows % kQ4_0x8Rows == 0 && w.cols % 32 == 0 &&
         w.row_bytes == static_cast<size_t>(w.cols / 32) * sizeof(BlockQ4_0);
}

WeightMatrix RepackQ4_0x8(const WeightMatrix& w, uint8_t* dst) {
  CHECK(CanRepackQ4_0x8(w)) << "RepackQ4_0x8: not a file-order Q4_0 matrix with rows % 8 == 0";
  // The source is only read; Convert's shared signature takes it mutable.
  Convert(w, const_cast<uint8_t*>(w.data), dst, true);
  return At(w, dst, WeightLayout::kQ4_0x8);
}

WeightMatrix UnpackQ4_0x8(const WeightMatrix& w, uint8_t* dst) {
  CHECK(w.dtype == DType::kQ4_0 && w.layout == WeightLayout::kQ4_0x8) << "UnpackQ4_0x8: not kQ4_0x8";
  Convert(w, dst, const_cast<uint8_t*>(w.data), false);
  return At(w, dst, WeightLayout::kRows);
}

namespace {

// Copies row chunks between file order (rows_data) and kFloatX8 (x8_data).
void ConvertFloatX8(const WeightMatrix& w, uint8_t* rows_data, uint8_t* x8_data, bool to_x8) {
  const size_t chunk = w.row_bytes / static_cast<size_t>(w.cols) * 8;
  WeightMatrix x8 = w;
  x8.data = x8_data;
  for (int64_t n = 0; n < w.rows; ++n) {
    for (int64_t j = 0; j < w.cols / 8; ++j) {
      uint8_t* packed = const_cast<uint8_t*>(FloatX8Chunk(x8, n, j));
      uint8_t* row = rows_data + static_cast<size_t>(n) * w.row_bytes + static_cast<size_t>(j) * chunk;
      if (to_x8) {
        std::memcpy(packed, row, chunk);
      } else {
        std::memcpy(row, packed, chunk);
      }
    }
  }
}

}  // namespace

bool CanRepackFloatX8(const WeightMatrix& w) {
  return IsFloatX8Type(w.dtype) && w.layout == WeightLayout::kRows && w.rows > 0 &&
         w.rows % kFloatX8Rows == 0 && w.cols > 0 && w.cols % 8 == 0 &&
         w.row_bytes == static_cast<size_t>(w.cols) * GetDTypeInfo(w.dtype).block_bytes;
}

WeightMatrix RepackFloatX8(const WeightMatrix& w, uint8_t* dst) {
  CHECK(CanRepackFloatX8(w)) << "RepackFloatX8: not a file-order F32/F16/BF16 matrix with rows, cols % 8 == 0";
  ConvertFloatX8(w, const_cast<uint8_t*>(w.data), dst, true);
  return At(w, dst, WeightLayout::kFloatX8);
}

WeightMatrix UnpackFloatX8(const WeightMatrix& w, uint8_t* dst) {
  CHECK(IsFloatX8Type(w.dtype) && w.layout == WeightLayout::kFloatX8) << "UnpackFloatX8: not kFloatX8";
  ConvertFloatX8(w, dst, const_cast<uint8_t*>(w.data), false);
  return At(w, dst, WeightLayout::kRows);
}

bool CanRepack(const WeightMatrix& w) { return CanRepackQ4_0x8(w) || CanRepackFloatX8(w); }

WeightMatrix Repack(const WeightMatrix& w, uint8_t* dst) {
  return CanRepackQ4_0x8(w) ? RepackQ4_0x8(w, dst) : RepackFloatX8(w, dst);
}

}  // namespace pagoda::cpu
