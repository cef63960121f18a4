#include "base/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace pagoda {

namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// How long an idle worker spins before it sleeps on the condition variable.
// Decode runs ~10k parallel regions a second with gaps of a few microseconds
// between them, so a worker that spins this long almost never pays for an OS
// wake-up while a model runs, and an idle engine still goes quiet quickly.
constexpr auto kSpinTime = std::chrono::microseconds(100);

// Chunks per thread and region: enough that the others can absorb the
// share of a thread that was descheduled, few enough that claiming them
// (one atomic each) stays far below the region's cost.
constexpr int64_t kChunksPerThread = 4;

// Set while a thread runs inside some ParallelFor body (caller or worker), so
// a nested ParallelFor runs inline instead of deadlocking on the pool.
thread_local int tls_parallel_depth = 0;

struct DepthGuard {
  DepthGuard() { ++tls_parallel_depth; }
  ~DepthGuard() { --tls_parallel_depth; }
};

}  // namespace

struct ThreadPool::Impl {
  int num_threads = 1;
  std::vector<std::thread> workers;

  // Serialises ParallelFor calls coming from different threads.
  std::mutex call_mu;

  // The job currently published. Written by the caller before `generation`
  // is bumped (release), read by workers after they see the bump (acquire).
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0;

  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};  // workers that have not finished the job
  std::atomic<bool> stop{false};

  // Sleeping workers wait here; the mutex guards only the sleep/wake hand-off.
  std::mutex sleep_mu;
  std::condition_variable sleep_cv;

  // The range is cut into fixed chunks (a function of n, grain and
  // num_threads only) that threads claim from a shared counter, so a thread
  // that loses its core to another process does not hold up the region:
  // the others take its chunks. Which thread runs a chunk depends on
  // timing; what a chunk is does not.
  std::atomic<int64_t> next_chunk{0};
  int64_t chunk_size = 1;
  int64_t num_chunks = 0;

  void RunChunks() {
    DepthGuard guard;
    for (;;) {
      const int64_t c = next_chunk.fetch_add(1, std::memory_order_relaxed);
      if (c >= num_chunks) return;
      const int64_t b = c * chunk_size;
      (*fn)(b, std::min(n, b + chunk_size));
    }
  }

  void WorkerLoop(int t) {
    uint64_t seen = 0;
    for (;;) {
      // Spin first: the next region usually starts within microseconds.
      uint64_t g = generation.load(std::memory_order_acquire);
      if (g == seen && !stop.load(std::memory_order_relaxed)) {
        const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
        int iter = 0;
        while ((g = generation.load(std::memory_order_acquire)) == seen &&
               !stop.load(std::memory_order_relaxed)) {
          CpuRelax();
          if ((++iter & 63) == 0) {
            if (std::chrono::steady_clock::now() > deadline) break;
            // With more threads than free cores, a spinning worker holds the
            // core that a worker still owing its share needs. Yielding every
            // few microseconds costs ~0.3 us when nobody waits, and keeps an
            // oversubscribed pool from stalling for whole scheduler slices
            // (measured 4 threads on 2 cores: 620 us a region without, 14 us
            // with).
            std::this_thread::yield();
          }
        }
      }
      if (g == seen && !stop.load(std::memory_order_relaxed)) {
        std::unique_lock<std::mutex> lock(sleep_mu);
        sleep_cv.wait(lock, [&] {
          return generation.load(std::memory_order_acquire) != seen ||
                 stop.load(std::memory_order_relaxed);
        });
        g = generation.load(std::memory_order_acquire);
      }
      if (stop.load(std::memory_order_acquire)) return;
      seen = g;
      RunChunks();
      pending.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
};

ThreadPool::ThreadPool(int num_threads) : impl_(new Impl) {
  if (num_threads <= 0) {
    num_threads = static_cast<int>(std::thread::hardware_concurrency());
    if (num_threads <= 0) num_threads = 1;
  }
  impl_->num_threads = num_threads;
  impl_->workers.reserve(num_threads - 1);
  for (int t = 1; t < num_threads; ++t) {
    impl_->workers.emplace_back([this, t] { impl_->WorkerLoop(t); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->sleep_mu);
    impl_->stop.store(true, std::memory_order_release);
  }
  impl_->sleep_cv.notify_all();
  for (std::thread& w : impl_->workers) w.join();
  delete impl_;
}

int ThreadPool::num_threads() const { return impl_->num_threads; }

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                             int64_t grain) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  // Nested call, a single thread, or a single grain: nothing to share.
  if (tls_parallel_depth > 0 || impl_->num_threads == 1 || n <= grain) {
    DepthGuard guard;
    fn(0, n);
    return;
  }

  std::lock_guard<std::mutex> call_lock(impl_->call_mu);
  Impl& p = *impl_;
  p.fn = &fn;
  p.n = n;
  // About kChunksPerThread chunks per thread, each a whole number of grains.
  const int64_t grains = (n + grain - 1) / grain;
  const int64_t target = static_cast<int64_t>(p.num_threads) * kChunksPerThread;
  p.chunk_size = (grains + target - 1) / target * grain;
  p.num_chunks = (n + p.chunk_size - 1) / p.chunk_size;
  p.next_chunk.store(0, std::memory_order_relaxed);
  p.pending.store(p.num_threads - 1, std::memory_order_relaxed);
  {
    // Bumping under sleep_mu closes the window between a worker's predicate
    // check and its wait, so no wake-up is lost.
    std::lock_guard<std::mutex> lock(p.sleep_mu);
    p.generation.fetch_add(1, std::memory_order_release);
  }
  p.sleep_cv.notify_all();

  p.RunChunks();

  // The workers are running (or about to run) their shares: spin, yielding
  // now and then in case one of them is waiting for this core.
  int iter = 0;
  while (p.pending.load(std::memory_order_acquire) != 0) {
    CpuRelax();
    if ((++iter & 63) == 0) std::this_thread::yield();
  }
  p.fn = nullptr;
}

}  // namespace pagoda
