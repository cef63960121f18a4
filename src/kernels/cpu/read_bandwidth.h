// The machine's memory read bandwidth, measured the way decode reads
// weights: every thread of the pool streams through its own contiguous
// share of a buffer much larger than the caches. This is the ceiling of
// batch-1 decode (each token reads every weight once), so the benchmarks
// report decode speed as a fraction of it. Thread-safe as far as the pool
// is (one ParallelFor per pass).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/thread_pool.h"

namespace pagoda::cpu {

struct ReadBandwidth {
  double best_gb_s = 0;     // the fastest pass: the limit
  double median_gb_s = 0;
  std::vector<double> passes_gb_s;
};

// Reads `bytes` (rounded down to a multiple of 4 KiB) `passes` times after
// one untimed pass that faults the pages in; the buffer is freed before
// returning. GB = 1e9 bytes.
ReadBandwidth MeasureReadBandwidth(ThreadPool* pool, size_t bytes = size_t{512} << 20,
                                   int passes = 5);

// A range of existing memory to stream.
struct ByteRange {
  const uint8_t* data = nullptr;
  size_t bytes = 0;
};

// Streams existing memory — a model's own weights, say — the same way:
// one untimed pass, then `passes` timed ones; each range is trimmed inward
// to 128-byte boundaries. In a virtual machine, pages mapped long ago can
// read at another speed than a freshly allocated buffer, so the bytes
// decode itself reads give a second view of its limit.
ReadBandwidth MeasureReadBandwidthOf(ThreadPool* pool, const std::vector<ByteRange>& ranges, int passes = 5);

// Sum of the 64-bit words of [p, p + bytes) (bytes a multiple of 128): the
// streaming loop itself, kept opaque so the reads cannot be optimised away.
uint64_t SumWordsPortable(const uint8_t* p, size_t bytes);

}  // namespace pagoda::cpu

namespace pagoda::avx2 {

uint64_t SumWords(const uint8_t* p, size_t bytes);

}  // namespace pagoda::avx2
