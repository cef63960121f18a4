// Cost of one ThreadPool::ParallelFor region (a decode step runs ~10,000 of
// them a second), with an empty body and with a small one.
#include <benchmark/benchmark.h>

#include <atomic>
#include <vector>

#include "base/thread_pool.h"

namespace pagoda {
namespace {

void BM_ParallelForEmpty(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  std::atomic<int64_t> sink{0};
  for (auto _ : state) {
    pool.ParallelFor(pool.num_threads(), [&](int64_t b, int64_t e) {
      sink.fetch_add(e - b, std::memory_order_relaxed);
    });
  }
  benchmark::DoNotOptimize(sink.load());
}
BENCHMARK(BM_ParallelForEmpty)->Arg(1)->Arg(2)->Arg(4)->UseRealTime();

// ~20 us of work split across the threads.
void BM_ParallelForSmall(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  std::vector<float> data(64 * 1024, 1.0f);
  for (auto _ : state) {
    pool.ParallelFor(
        static_cast<int64_t>(data.size()),
        [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) data[i] = data[i] * 0.999f + 0.001f;
        },
        1024);
  }
  benchmark::DoNotOptimize(data.data());
}
BENCHMARK(BM_ParallelForSmall)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace
}  // namespace pagoda
