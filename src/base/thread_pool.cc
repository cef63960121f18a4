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
  int64_t grain = 1;

  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};  // workers that have not finished the job
  std::atomic<bool> stop{false};

  // Sleeping workers wait here; the mutex guards only the sleep/wake hand-off.
  std::mutex sleep_mu;
  std::condition_variable sleep_cv;

  // Range of thread `t` (0 = the caller): a contiguous run of whole grains.
  // Depends only on n, grain and num_threads, so splits are reproducible.
  void RangeOf(int t, int64_t* begin, int64_t* end) const {
    const int64_t chunks = (n + grain - 1) / grain;
    const int64_t per = chunks / num_threads;
    const int64_t rem = chunks % num_threads;
    const int64_t first = t * per + std::min<int64_t>(t, rem);
    const int64_t count = per + (t < rem ? 1 : 0);
    *begin = std::min(n, first * grain);
    *end = std::min(n, (first + count) * grain);
  }

  void RunShare(int t) {
    int64_t b, e;
    RangeOf(t, &b, &e);
    if (b < e) {
      DepthGuard guard;
      (*fn)(b, e);
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
      RunShare(t);
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
  p.grain = grain;
  p.pending.store(p.num_threads - 1, std::memory_order_relaxed);
  {
    // Bumping under sleep_mu closes the window between a worker's predicate
    // check and its wait, so no wake-up is lost.
    std::lock_guard<std::mutex> lock(p.sleep_mu);
    p.generation.fetch_add(1, std::memory_order_release);
  }
  p.sleep_cv.notify_all();

  p.RunShare(0);

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
