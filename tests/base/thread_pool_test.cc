#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace pagoda {
namespace {

// Runs one ParallelFor and returns how often each index was visited; checks
// that every range is a whole number of grains (except one ending at n).
std::vector<int> Visit(ThreadPool& pool, int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  std::atomic<bool> bad_range{false};
  pool.ParallelFor(
      n,
      [&](int64_t b, int64_t e) {
        if (b < 0 || e > n || b >= e || b % grain != 0 || ((e - b) % grain != 0 && e != n)) {
          bad_range = true;
        }
        for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
      },
      grain);
  EXPECT_FALSE(bad_range) << "n=" << n << " grain=" << grain;
  std::vector<int> out;
  for (auto& h : hits) out.push_back(h.load());
  return out;
}

TEST(ThreadPoolTest, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 5, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.num_threads(), threads);
    for (int64_t n : {0, 1, 2, 7, 16, 100, 1001, 4099}) {
      for (int64_t grain : {1, 3, 16, 1000}) {
        const std::vector<int> hits = Visit(pool, n, grain);
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(hits[i], 1) << "threads=" << threads << " n=" << n << " grain=" << grain
                                << " i=" << i;
        }
      }
    }
  }
}

TEST(ThreadPoolTest, DefaultUsesHardwareThreads) {
  ThreadPool pool(0);
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  EXPECT_EQ(pool.num_threads(), hw > 0 ? hw : 1);
  ThreadPool neg(-3);
  EXPECT_EQ(neg.num_threads(), pool.num_threads());
}

TEST(ThreadPoolTest, SplitIsDeterministic) {
  ThreadPool pool(4);
  auto ranges = [&] {
    std::mutex mu;
    std::vector<std::pair<int64_t, int64_t>> r;
    pool.ParallelFor(
        1000,
        [&](int64_t b, int64_t e) {
          std::lock_guard<std::mutex> lock(mu);
          r.emplace_back(b, e);
        },
        8);
    std::sort(r.begin(), r.end());
    return r;
  };
  const auto first = ranges();
  // 125 grains in chunks of ceil(125 / (4 threads * 4)) = 8 grains: 16
  // chunks, each a multiple of the grain but the last.
  ASSERT_EQ(first.size(), 16u);
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].first, static_cast<int64_t>(i) * 64);
    EXPECT_EQ(first[i].second, std::min<int64_t>(1000, (static_cast<int64_t>(i) + 1) * 64));
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(ranges(), first);
}

TEST(ThreadPoolTest, NestedCallsRunInline) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(50 * 40);
  pool.ParallelFor(50, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const std::thread::id outer = std::this_thread::get_id();
      pool.ParallelFor(40, [&](int64_t b2, int64_t e2) {
        EXPECT_EQ(std::this_thread::get_id(), outer);
        for (int64_t j = b2; j < e2; ++j) hits[i * 40 + j].fetch_add(1);
      });
    }
  });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST(ThreadPoolTest, CallsFromSeveralThreadsAreSerialised) {
  ThreadPool pool(3);
  constexpr int kCallers = 4;
  std::atomic<int64_t> total{0};
  std::atomic<int> active[kCallers] = {};
  std::atomic<bool> overlap{false};
  auto caller = [&](int me) {
    for (int rep = 0; rep < 200; ++rep) {
      pool.ParallelFor(
          64,
          [&](int64_t b, int64_t e) {
            active[me].fetch_add(1);
            for (int o = 0; o < kCallers; ++o) {
              if (o != me && active[o].load() != 0) overlap = true;
            }
            total.fetch_add(e - b);
            active[me].fetch_sub(1);
          },
          4);
    }
  };
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) callers.emplace_back(caller, i);
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), int64_t{kCallers} * 200 * 64);
  EXPECT_FALSE(overlap.load());
}

TEST(ThreadPoolTest, ManyShortRegions) {
  ThreadPool pool(2);
  int64_t sum = 0;
  for (int rep = 0; rep < 2000; ++rep) {
    std::atomic<int64_t> s{0};
    pool.ParallelFor(10, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) s.fetch_add(i);
    });
    sum += s.load();
  }
  EXPECT_EQ(sum, 2000 * 45);
}

}  // namespace
}  // namespace pagoda
