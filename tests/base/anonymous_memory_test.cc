// AnonymousMemory (base/mmap.h): the memory the loader repacks weights
// into starts on a 2 MiB boundary, is zeroed and writable to its end, and
// separate allocations do not overlap.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "base/mmap.h"

namespace pagoda {
namespace {

TEST(AnonymousMemoryTest, AlignedZeroedAndWritable) {
  for (size_t bytes : {size_t{1}, size_t{4096}, (size_t{2} << 20) + 1, size_t{5} << 20}) {
    auto m = AnonymousMemory::Allocate(bytes);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    uint8_t* p = (*m)->data();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (uintptr_t{2} << 20), 0u) << bytes;
    EXPECT_EQ(p[0], 0);
    EXPECT_EQ(p[bytes - 1], 0);
    p[0] = 1;
    p[bytes - 1] = 2;
    EXPECT_EQ(p[bytes - 1], 2);
  }
}

TEST(AnonymousMemoryTest, AllocationsAreDisjoint) {
  auto a = AnonymousMemory::Allocate(4096);
  auto b = AnonymousMemory::Allocate(4096);
  ASSERT_TRUE(a.ok() && b.ok());
  (*a)->data()[0] = 7;
  EXPECT_EQ((*b)->data()[0], 0);
  EXPECT_NE((*a)->data(), (*b)->data());
}

}  // namespace
}  // namespace pagoda
