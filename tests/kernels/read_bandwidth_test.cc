// The read-bandwidth probes behind `bench latency`'s limit: both read every
// byte they are given (the sum of words is exact) and time each pass.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/read_bandwidth.h"

namespace pagoda {
namespace {

TEST(ReadBandwidthTest, SumWordsPathsAgree) {
  std::vector<uint64_t> words(4096);
  uint64_t want = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    words[i] = i * 0x9e3779b97f4a7c15ull;
    want += words[i];
  }
  const auto* p = reinterpret_cast<const uint8_t*>(words.data());
  EXPECT_EQ(cpu::SumWordsPortable(p, words.size() * 8), want);
  if (cpu::UsesAvx2(cpu::SelectedIsa())) {
    EXPECT_EQ(avx2::SumWords(p, words.size() * 8), want);
  }
}

TEST(ReadBandwidthTest, ProbesReportEveryPass) {
  ThreadPool pool(2);
  const cpu::ReadBandwidth fresh = cpu::MeasureReadBandwidth(&pool, size_t{8} << 20, 3);
  ASSERT_EQ(fresh.passes_gb_s.size(), 3u);
  EXPECT_GT(fresh.best_gb_s, 0);
  EXPECT_GE(fresh.best_gb_s, fresh.median_gb_s);
  // Existing memory in odd-sized, unaligned ranges (trimmed inward to 128
  // bytes), and nothing to read at all.
  std::vector<uint8_t> a((size_t{3} << 20) + 77, 1), b(5000, 2);
  const cpu::ReadBandwidth mine =
      cpu::MeasureReadBandwidthOf(&pool, {{a.data() + 3, a.size() - 3}, {b.data() + 1, b.size() - 1}}, 4);
  ASSERT_EQ(mine.passes_gb_s.size(), 4u);
  EXPECT_GT(mine.best_gb_s, 0);
  EXPECT_EQ(cpu::MeasureReadBandwidthOf(&pool, {{a.data(), 100}}, 4).passes_gb_s.size(), 0u);
  EXPECT_EQ(cpu::MeasureReadBandwidthOf(nullptr, {}, 4).best_gb_s, 0);
}

}  // namespace
}  // namespace pagoda
