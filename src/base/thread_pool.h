// ThreadPool: a persistent pool of worker threads for data-parallel kernels.
//
// ParallelFor(n, fn) splits [0, n) into a few contiguous chunks per thread,
// runs fn(begin, end) for each on the calling thread plus the workers
// (whichever is free claims the next chunk), and returns when all are done.
// Workers spin briefly before sleeping, because a decode step runs
// thousands of short parallel regions per second and an OS wake-up costs
// tens of microseconds. The chunks depend only on n, the grain and
// num_threads(), never on timing; which thread runs a chunk does, so fn
// must compute a chunk's results the same on any thread (every kernel
// does: an output element is computed whole by one call).
// Thread-safety: one ParallelFor at a time (calls from several threads are
// serialised by an internal mutex); fn must be safe to run concurrently on
// disjoint ranges. A nested ParallelFor from inside fn runs inline.
#pragma once

#include <cstdint>
#include <functional>

namespace pagoda {

class ThreadPool {
 public:
  // num_threads <= 0 means all hardware threads.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const;
  // Calls fn(begin, end) over disjoint ranges covering [0, n). Ranges are
  // multiples of `grain` (except the last) so callers can keep tiles whole.
  void ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                   int64_t grain = 1);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace pagoda
