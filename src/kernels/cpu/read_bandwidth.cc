#include "kernels/cpu/read_bandwidth.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "base/check.h"
#include "kernels/cpu/isa.h"

namespace pagoda::cpu {

uint64_t SumWordsPortable(const uint8_t* p, size_t bytes) {
  uint64_t a[4] = {0, 0, 0, 0};
  for (size_t i = 0; i + 32 <= bytes; i += 32) {
    for (int j = 0; j < 4; ++j) {
      uint64_t v;
      std::memcpy(&v, p + i + 8 * j, 8);
      a[j] += v;
    }
  }
  return a[0] + a[1] + a[2] + a[3];
}

ReadBandwidth MeasureReadBandwidth(ThreadPool* pool, size_t bytes, int passes) {
  bytes &= ~size_t{4095};
  ReadBandwidth r;
  if (bytes == 0 || passes <= 0) return r;
  // Anonymous pages of its own, so the buffer leaves nothing behind in the
  // allocator (and in the resident set) once unmapped.
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(mem != MAP_FAILED) << "MeasureReadBandwidth: mmap of " << bytes << " bytes failed";
  auto* buf = static_cast<uint8_t*>(mem);
  // Distinct non-zero contents: zero pages could be shared, and reading them
  // would measure the cache, not memory.
  for (size_t i = 0; i < bytes; i += 64) buf[i] = static_cast<uint8_t>(i >> 6) | 1;
  const bool avx2 = SelectedIsa() == Isa::kAvx2;
  std::atomic<uint64_t> sink{0};
  constexpr int64_t kChunk = 1 << 20;  // the pool splits in whole MiB
  const int64_t chunks = static_cast<int64_t>(bytes / kChunk);
  auto pass = [&] {
    auto read = [&](int64_t b, int64_t e) {
      const uint8_t* p = buf + b * kChunk;
      const size_t n = static_cast<size_t>(e - b) * kChunk;
      sink.fetch_add(avx2 ? avx2::SumWords(p, n) : SumWordsPortable(p, n), std::memory_order_relaxed);
    };
    if (pool != nullptr) {
      pool->ParallelFor(chunks, read);
    } else {
      read(0, chunks);
    }
  };
  pass();  // untimed: faults the pages in
  for (int i = 0; i < passes; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    pass();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.passes_gb_s.push_back(static_cast<double>(chunks * kChunk) / s / 1e9);
  }
  ::munmap(mem, bytes);
  std::vector<double> sorted = r.passes_gb_s;
  std::sort(sorted.begin(), sorted.end());
  r.best_gb_s = sorted.back();
  r.median_gb_s = sorted[sorted.size() / 2];
  return r;
}

}  // namespace pagoda::cpu
