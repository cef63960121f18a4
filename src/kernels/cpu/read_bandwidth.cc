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

namespace {

// Times `passes` passes of `read_all` (after one untimed pass) over `bytes`.
template <class F>
ReadBandwidth TimePasses(size_t bytes, int passes, F read_all) {
  ReadBandwidth r;
  read_all();  // untimed: faults the pages in
  for (int i = 0; i < passes; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    read_all();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.passes_gb_s.push_back(static_cast<double>(bytes) / s / 1e9);
  }
  std::vector<double> sorted = r.passes_gb_s;
  std::sort(sorted.begin(), sorted.end());
  r.best_gb_s = sorted.back();
  r.median_gb_s = sorted[sorted.size() / 2];
  return r;
}

uint64_t Sum(const uint8_t* p, size_t n) {
  return UsesAvx2(SelectedIsa()) ? avx2::SumWords(p, n) : SumWordsPortable(p, n);
}

}  // namespace

ReadBandwidth MeasureReadBandwidthOf(ThreadPool* pool, const std::vector<ByteRange>& ranges, int passes) {
  // Pieces of at most 1 MiB, 128-byte aligned, for the pool to share out.
  constexpr size_t kPiece = size_t{1} << 20;
  std::vector<ByteRange> pieces;
  size_t total = 0;
  for (const ByteRange& r : ranges) {
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(r.data) + 127) & ~uintptr_t{127};
    const uintptr_t end = (reinterpret_cast<uintptr_t>(r.data) + r.bytes) & ~uintptr_t{127};
    for (uintptr_t p = begin; p < end; p += kPiece) {
      const size_t n = std::min<size_t>(kPiece, end - p);
      pieces.push_back({reinterpret_cast<const uint8_t*>(p), n});
      total += n;
    }
  }
  if (pieces.empty() || passes <= 0) return ReadBandwidth{};
  std::atomic<uint64_t> sink{0};
  const int64_t count = static_cast<int64_t>(pieces.size());
  return TimePasses(total, passes, [&] {
    auto read = [&](int64_t b, int64_t e) {
      uint64_t s = 0;
      for (int64_t i = b; i < e; ++i) s += Sum(pieces[static_cast<size_t>(i)].data, pieces[static_cast<size_t>(i)].bytes);
      sink.fetch_add(s, std::memory_order_relaxed);
    };
    if (pool != nullptr) {
      pool->ParallelFor(count, read);
    } else {
      read(0, count);
    }
  });
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
  r = MeasureReadBandwidthOf(pool, {ByteRange{buf, bytes}}, passes);
  ::munmap(mem, bytes);
  return r;
}

}  // namespace pagoda::cpu
