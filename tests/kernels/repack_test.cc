// The kQ4_0x8 layout (kernels/cpu/repack.h): repacking and unpacking are
// exact inverses, and the bytes land where the layout says.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/cpu/repack.h"

namespace pagoda {
namespace {

using testing::MakeWeight;
using testing::OwnedWeight;

TEST(RepackQ4_0x8Test, RoundTripIsExact) {
  uint32_t seed = 11;
  for (int64_t rows : {8, 16, 40, 64}) {
    for (int64_t cols : {32, 96, 288, 1024}) {
      const OwnedWeight w = MakeWeight(DType::kQ4_0, rows, cols, ++seed);
      ASSERT_TRUE(cpu::CanRepackQ4_0x8(w.view));
      const OwnedWeight x8 = testing::RepackedQ4_0x8(w);
      EXPECT_EQ(x8.view.layout, WeightLayout::kQ4_0x8);
      EXPECT_EQ(x8.view.row_bytes, w.view.row_bytes);
      EXPECT_NE(0, std::memcmp(x8.bytes.data(), w.bytes.data(), w.bytes.size())) << rows << "x" << cols;
      std::vector<uint8_t> back(w.bytes.size(), 0xee);
      const WeightMatrix unpacked = cpu::UnpackQ4_0x8(x8.view, back.data());
      EXPECT_EQ(unpacked.layout, WeightLayout::kRows);
      ASSERT_EQ(back, w.bytes) << rows << "x" << cols;
    }
  }
}

// Every byte of the source at the place the layout defines.
TEST(RepackQ4_0x8Test, BytesFollowTheDocumentedLayout) {
  const int64_t rows = 16, cols = 96, blocks = cols / 32;
  OwnedWeight w = MakeWeight(DType::kQ4_0, rows, cols, 5);
  for (size_t i = 0; i < w.bytes.size(); ++i) w.bytes[i] = static_cast<uint8_t>(i * 131 + 7);
  const OwnedWeight x8 = testing::RepackedQ4_0x8(w);
  for (int64_t n = 0; n < rows; ++n) {
    const int64_t g = n / 8, r = n % 8;
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t* src = w.bytes.data() + n * w.view.row_bytes + b * 18;
      const uint8_t* blk = x8.bytes.data() + g * blocks * 144 + b * 144;
      EXPECT_EQ(blk[2 * r], src[0]);
      EXPECT_EQ(blk[2 * r + 1], src[1]);
      for (int j = 0; j < 4; ++j) {
        for (int i = 0; i < 4; ++i) EXPECT_EQ(blk[16 + 32 * j + 4 * r + i], src[2 + 4 * j + i]);
      }
    }
  }
}

TEST(RepackQ4_0x8Test, OnlyFileOrderQ4_0WithWholeGroups) {
  EXPECT_FALSE(cpu::CanRepackQ4_0x8(MakeWeight(DType::kQ4_0, 12, 64, 1).view));
  EXPECT_FALSE(cpu::CanRepackQ4_0x8(MakeWeight(DType::kQ8_0, 16, 64, 1).view));
  const OwnedWeight x8 = testing::RepackedQ4_0x8(MakeWeight(DType::kQ4_0, 8, 64, 1));
  EXPECT_FALSE(cpu::CanRepackQ4_0x8(x8.view));
}

}  // namespace
}  // namespace pagoda
