// The kQ4_0x8, kQ8_0x8 and kFloatX8 layouts (kernels/cpu/repack.h):
// repacking and unpacking are exact inverses, and the bytes land where the
// layout says.
#include <gtest/gtest.h>

#include <algorithm>

#include <cstring>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/cpu/repack.h"

namespace pagoda {
namespace {

using testing::MakeWeight;
using testing::OwnedWeight;

// The block types repacked by eight, their layout and its inverse.
struct BlockX8 {
  DType dtype;
  WeightLayout layout;
  WeightMatrix (*unpack)(const WeightMatrix&, uint8_t*);
};
const BlockX8 kBlockX8[] = {{DType::kQ4_0, WeightLayout::kQ4_0x8, cpu::UnpackQ4_0x8},
                            {DType::kQ8_0, WeightLayout::kQ8_0x8, cpu::UnpackQ8_0x8}};

TEST(RepackBlockX8Test, RoundTripIsExact) {
  uint32_t seed = 11;
  for (const BlockX8& t : kBlockX8) {
    for (int64_t rows : {8, 16, 40, 64}) {
      for (int64_t cols : {32, 96, 288, 1024}) {
        const OwnedWeight w = MakeWeight(t.dtype, rows, cols, ++seed);
        ASSERT_TRUE(cpu::CanRepack(w.view));
        const OwnedWeight x8 = testing::Repacked(w);
        EXPECT_EQ(x8.view.layout, t.layout);
        EXPECT_EQ(x8.view.row_bytes, w.view.row_bytes);
        EXPECT_NE(0, std::memcmp(x8.bytes.data(), w.bytes.data(), w.bytes.size()))
            << DTypeName(t.dtype) << " " << rows << "x" << cols;
        std::vector<uint8_t> back(w.bytes.size(), 0xee);
        const WeightMatrix unpacked = t.unpack(x8.view, back.data());
        EXPECT_EQ(unpacked.layout, WeightLayout::kRows);
        ASSERT_EQ(back, w.bytes) << DTypeName(t.dtype) << " " << rows << "x" << cols;
        // One row at a time (a tied embedding's lookup): the file's bytes,
        // and GetRow's floats are the file row's.
        std::vector<uint8_t> row(w.view.row_bytes, 0xee);
        std::vector<float> got(static_cast<size_t>(cols)), want(got.size());
        for (int64_t r = 0; r < rows; ++r) {
          cpu::X8RowBytes(x8.view, r, row.data());
          ASSERT_EQ(0, std::memcmp(row.data(), w.bytes.data() + r * w.view.row_bytes, row.size()))
              << DTypeName(t.dtype) << " row " << r;
          GetRow(x8.view, r, got.data());
          GetRow(w.view, r, want.data());
          ASSERT_EQ(got, want) << DTypeName(t.dtype) << " row " << r;
        }
      }
    }
  }
}

// Every byte of the source at the place the layout defines: file blocks of
// 2 + s bytes (scale, s quant bytes) become x8 blocks of 8 * (2 + s) bytes,
// the eight scales first, then chunk j's lane r holds row r's quant bytes
// 4j .. 4j+3.
TEST(RepackBlockX8Test, BytesFollowTheDocumentedLayout) {
  for (const BlockX8& t : kBlockX8) {
    const int64_t rows = 16, cols = 96, blocks = cols / 32;
    const int64_t file_block = t.dtype == DType::kQ4_0 ? 18 : 34, qs = file_block - 2;
    const int64_t x8_block = t.dtype == DType::kQ4_0 ? 144 : 272;
    OwnedWeight w = MakeWeight(t.dtype, rows, cols, 5);
    for (size_t i = 0; i < w.bytes.size(); ++i) w.bytes[i] = static_cast<uint8_t>(i * 131 + 7);
    const OwnedWeight x8 = testing::Repacked(w);
    for (int64_t n = 0; n < rows; ++n) {
      const int64_t g = n / 8, r = n % 8;
      for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t* src = w.bytes.data() + n * w.view.row_bytes + b * file_block;
        const uint8_t* blk = x8.bytes.data() + g * blocks * x8_block + b * x8_block;
        EXPECT_EQ(blk[2 * r], src[0]) << DTypeName(t.dtype);
        EXPECT_EQ(blk[2 * r + 1], src[1]) << DTypeName(t.dtype);
        for (int64_t j = 0; j < qs / 4; ++j) {
          for (int i = 0; i < 4; ++i) {
            ASSERT_EQ(blk[16 + 32 * j + 4 * r + i], src[2 + 4 * j + i])
                << DTypeName(t.dtype) << " n=" << n << " b=" << b << " j=" << j;
          }
        }
      }
    }
  }
}

TEST(RepackBlockX8Test, OnlyFileOrderBlocksWithWholeGroups) {
  EXPECT_FALSE(cpu::CanRepackQ4_0x8(MakeWeight(DType::kQ4_0, 12, 64, 1).view));
  EXPECT_FALSE(cpu::CanRepackQ4_0x8(MakeWeight(DType::kQ8_0, 16, 64, 1).view));
  EXPECT_FALSE(cpu::CanRepackQ8_0x8(MakeWeight(DType::kQ8_0, 12, 64, 1).view));
  EXPECT_FALSE(cpu::CanRepackQ8_0x8(MakeWeight(DType::kQ4_0, 16, 64, 1).view));
  EXPECT_FALSE(cpu::CanRepack(MakeWeight(DType::kQ8_0, 12, 64, 1).view));
  EXPECT_TRUE(cpu::CanRepackQ8_0x8(MakeWeight(DType::kQ8_0, 8, 64, 1).view));
  EXPECT_FALSE(cpu::CanRepackQ4_0x8(testing::Repacked(MakeWeight(DType::kQ4_0, 8, 64, 1)).view));
  EXPECT_FALSE(cpu::CanRepackQ8_0x8(testing::Repacked(MakeWeight(DType::kQ8_0, 8, 64, 1)).view));
}

}  // namespace
}  // namespace pagoda

namespace pagoda {
namespace {

using testing::MakeWeight;
using testing::OwnedWeight;

TEST(RepackFloatX8Test, RoundTripIsExactAndBytesFollowTheLayout) {
  uint32_t seed = 3;
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    const size_t e = static_cast<size_t>(GetDTypeInfo(dtype).block_bytes);
    for (int64_t rows : {8, 24}) {
      for (int64_t cols : {8, 40, 1024, 1032, 2104}) {
        const OwnedWeight w = MakeWeight(dtype, rows, cols, ++seed);
        ASSERT_TRUE(cpu::CanRepackFloatX8(w.view)) << DTypeName(dtype);
        ASSERT_TRUE(cpu::CanRepack(w.view));
        std::vector<uint8_t> x8(w.bytes.size(), 0xee);
        const WeightMatrix v = cpu::Repack(w.view, x8.data());
        EXPECT_EQ(v.layout, WeightLayout::kFloatX8);
        EXPECT_EQ(v.row_bytes, w.view.row_bytes);
        // Row n, element k: panel k / 1024 (width w), group n / 8 in it,
        // chunk k % 1024 / 8 in the group, row n % 8 in the chunk.
        for (int64_t n = 0; n < rows; ++n) {
          for (int64_t k = 0; k < cols; ++k) {
            const int64_t p = k / 1024, width = std::min<int64_t>(1024, cols - 1024 * p), kp = k % 1024;
            const size_t at = static_cast<size_t>(p * rows * 1024 + (n / 8) * 8 * width + (kp / 8) * 64 +
                                                  (n % 8) * 8 + kp % 8) * e;
            ASSERT_EQ(0, std::memcmp(x8.data() + at, w.bytes.data() + n * w.view.row_bytes + k * e, e))
                << DTypeName(dtype) << " n=" << n << " k=" << k;
            ASSERT_EQ(cpu::FloatX8Chunk(v, n, k / 8) + (k % 8) * e, x8.data() + at);
          }
        }
        std::vector<uint8_t> back(w.bytes.size(), 0xee);
        const WeightMatrix unpacked = cpu::UnpackFloatX8(v, back.data());
        EXPECT_EQ(unpacked.layout, WeightLayout::kRows);
        ASSERT_EQ(back, w.bytes) << DTypeName(dtype) << " " << rows << "x" << cols;
      }
    }
  }
}

TEST(RepackFloatX8Test, OnlyFileOrderFloatsWithWholeGroups) {
  EXPECT_FALSE(cpu::CanRepackFloatX8(MakeWeight(DType::kF16, 12, 64, 1).view));  // rows % 8
  EXPECT_FALSE(cpu::CanRepackFloatX8(MakeWeight(DType::kF16, 16, 60, 1).view));  // cols % 8
  EXPECT_FALSE(cpu::CanRepackFloatX8(MakeWeight(DType::kQ8_0, 16, 64, 1).view));
  EXPECT_FALSE(cpu::CanRepackFloatX8(MakeWeight(DType::kQ4_0, 16, 64, 1).view));
  const OwnedWeight w = MakeWeight(DType::kF16, 8, 64, 1);
  std::vector<uint8_t> x8(w.bytes.size());
  EXPECT_FALSE(cpu::CanRepackFloatX8(cpu::RepackFloatX8(w.view, x8.data())));
}

}  // namespace
}  // namespace pagoda
