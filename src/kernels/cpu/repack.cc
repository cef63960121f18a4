// Conversions between file-order Q4_0 / Q8_0 rows and the kQ4_0x8 /
// kQ8_0x8 layouts (kernels/cpu/repack.h): plain byte copies, so the round
// trip is exact.
#include "kernels/cpu/repack.h"

#include <cstring>

#include "base/check.h"

namespace pagoda::cpu {

namespace {

// The two by-eight block layouts differ only in the file block's size: an
// fp16 scale then qs_bytes of quants (16 for Q4_0, 32 for Q8_0), which
// land in qs_bytes / 4 chunks after the eight scales.
struct X8Format {
  DType dtype;
  WeightLayout layout;
  size_t qs_bytes;
  constexpr size_t file_block() const { return 2 + qs_bytes; }
  constexpr size_t x8_block() const { return 8 * file_block(); }
};

constexpr X8Format kQ4_0x8Format{DType::kQ4_0, WeightLayout::kQ4_0x8, sizeof(BlockQ4_0::qs)};
constexpr X8Format kQ8_0x8Format{DType::kQ8_0, WeightLayout::kQ8_0x8, sizeof(BlockQ8_0::qs)};
static_assert(kQ4_0x8Format.x8_block() == kQ4_0x8BlockBytes && kQ8_0x8Format.x8_block() == kQ8_0x8BlockBytes);

// Copies between one file-order row block (scale, then quants) and row r's
// place in an x8 block; to_x8 picks the direction.
void MoveBlock(const X8Format& f, uint8_t* row_block, uint8_t* x8_block, int r, bool to_x8) {
  auto move = [&](uint8_t* x8, uint8_t* row, size_t n) {
    if (to_x8) {
      std::memcpy(x8, row, n);
    } else {
      std::memcpy(row, x8, n);
    }
  };
  move(x8_block + 2 * r, row_block, 2);
  for (size_t j = 0; j < f.qs_bytes / 4; ++j) move(x8_block + 16 + 32 * j + 4 * r, row_block + 2 + 4 * j, 4);
}

void Convert(const X8Format& f, const WeightMatrix& w, uint8_t* rows_data, uint8_t* x8_data, bool to_x8) {
  const int64_t blocks = w.cols / 32;
  const size_t group_bytes = static_cast<size_t>(blocks) * f.x8_block();
  for (int64_t g = 0; g < w.rows / 8; ++g) {
    for (int r = 0; r < 8; ++r) {
      uint8_t* row = rows_data + static_cast<size_t>(g * 8 + r) * w.row_bytes;
      for (int64_t b = 0; b < blocks; ++b) {
        MoveBlock(f, row + b * f.file_block(), x8_data + g * group_bytes + b * f.x8_block(), r, to_x8);
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

bool CanRepackX8(const X8Format& f, const WeightMatrix& w) {
  return w.dtype == f.dtype && w.layout == WeightLayout::kRows && w.rows > 0 && w.rows % 8 == 0 &&
         w.cols % 32 == 0 && w.row_bytes == static_cast<size_t>(w.cols / 32) * f.file_block();
}

WeightMatrix RepackX8(const X8Format& f, const WeightMatrix& w, uint8_t* dst) {
  CHECK(CanRepackX8(f, w)) << "repacking by eight: not a file-order " << DTypeName(f.dtype)
                           << " matrix with rows % 8 == 0";
  // The source is only read; Convert's shared signature takes it mutable.
  Convert(f, w, const_cast<uint8_t*>(w.data), dst, true);
  return At(w, dst, f.layout);
}

WeightMatrix UnpackX8(const X8Format& f, const WeightMatrix& w, uint8_t* dst) {
  CHECK(w.dtype == f.dtype && w.layout == f.layout) << "unpacking: not " << DTypeName(f.dtype) << " by eight";
  Convert(f, w, dst, const_cast<uint8_t*>(w.data), false);
  return At(w, dst, WeightLayout::kRows);
}

}  // namespace

bool CanRepackQ4_0x8(const WeightMatrix& w) { return CanRepackX8(kQ4_0x8Format, w); }
WeightMatrix RepackQ4_0x8(const WeightMatrix& w, uint8_t* dst) { return RepackX8(kQ4_0x8Format, w, dst); }
WeightMatrix UnpackQ4_0x8(const WeightMatrix& w, uint8_t* dst) { return UnpackX8(kQ4_0x8Format, w, dst); }

bool CanRepackQ8_0x8(const WeightMatrix& w) { return CanRepackX8(kQ8_0x8Format, w); }
WeightMatrix RepackQ8_0x8(const WeightMatrix& w, uint8_t* dst) { return RepackX8(kQ8_0x8Format, w, dst); }
WeightMatrix UnpackQ8_0x8(const WeightMatrix& w, uint8_t* dst) { return UnpackX8(kQ8_0x8Format, w, dst); }

void X8RowBytes(const WeightMatrix& w, int64_t row, uint8_t* dst) {
  CHECK(w.layout == WeightLayout::kQ4_0x8 || w.layout == WeightLayout::kQ8_0x8) << "X8RowBytes: not by eight";
  CHECK(row >= 0 && row < w.rows) << "X8RowBytes: row " << row << " of " << w.rows;
  const X8Format& f = w.layout == WeightLayout::kQ4_0x8 ? kQ4_0x8Format : kQ8_0x8Format;
  const int64_t blocks = w.cols / 32;
  const uint8_t* group = w.data + static_cast<size_t>(row / 8 * blocks) * f.x8_block();
  for (int64_t b = 0; b < blocks; ++b) {
    // MoveBlock only reads the x8 side when copying out of it.
    MoveBlock(f, dst + b * f.file_block(), const_cast<uint8_t*>(group + b * f.x8_block()), static_cast<int>(row % 8),
              /*to_x8=*/false);
  }
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

bool CanRepack(const WeightMatrix& w) { return CanRepackQ4_0x8(w) || CanRepackQ8_0x8(w) || CanRepackFloatX8(w); }

WeightMatrix Repack(const WeightMatrix& w, uint8_t* dst) {
  if (CanRepackQ4_0x8(w)) return RepackQ4_0x8(w, dst);
  if (CanRepackQ8_0x8(w)) return RepackQ8_0x8(w, dst);
  return RepackFloatX8(w, dst);
}

}  // namespace pagoda::cpu
