// Batch-1 decode as the model sees it: one x row against a weight matrix of
// ~256 MiB, far larger than the caches, so every weight byte comes from
// memory as in a real decode step. Counter weight_GB/s is comparable with
// BM_ReadBandwidth, the machine's streaming-read limit measured the same way
// (pagoda's pool, 2 threads on the 2-core machine).
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "kernels/cpu/read_bandwidth.h"
#include "kernels/ops.h"

namespace pagoda {
namespace {

constexpr int64_t kCols = 1024;
constexpr size_t kTargetBytes = size_t{256} << 20;

ThreadPool& Pool() {
  static ThreadPool pool(0);
  return pool;
}

struct Big {
  std::vector<uint8_t> bytes;
  WeightMatrix w;
};

// Random bytes with every scale (and every F16 value) made small and
// finite: quantizing 256 MiB of weights would take longer than the
// benchmark, and the kernels' speed does not depend on the values.
const Big& BigMatrix(DType dtype) {
  static std::unique_ptr<Big> cache[16];
  std::unique_ptr<Big>& slot = cache[static_cast<int>(dtype) % 16];
  if (slot) return *slot;
  slot = std::make_unique<Big>();
  const DTypeInfo& info = GetDTypeInfo(dtype);
  const size_t row_bytes = static_cast<size_t>(kCols / info.block_size * info.block_bytes);
  const int64_t rows = static_cast<int64_t>(kTargetBytes / row_bytes);
  slot->bytes.resize(row_bytes * static_cast<size_t>(rows));
  std::mt19937_64 rng(7);
  for (size_t i = 0; i + 8 <= slot->bytes.size(); i += 8) {
    const uint64_t v = rng();
    std::memcpy(slot->bytes.data() + i, &v, 8);
  }
  const uint16_t scale = F32ToFp16(0.01f);
  if (dtype == DType::kF16) {
    auto* h = reinterpret_cast<uint16_t*>(slot->bytes.data());
    for (size_t i = 0; i < slot->bytes.size() / 2; ++i) h[i] = static_cast<uint16_t>((h[i] & 0x83ff) | 0x3800);
  } else {
    const size_t blocks = slot->bytes.size() / info.block_bytes;
    for (size_t b = 0; b < blocks; ++b) {
      uint8_t* blk = slot->bytes.data() + b * info.block_bytes;
      if (dtype == DType::kQ6_K) {
        std::memcpy(blk + 208, &scale, 2);
      } else {
        std::memcpy(blk, &scale, 2);
        if (dtype == DType::kQ4_K || dtype == DType::kQ5_K) std::memcpy(blk + 2, &scale, 2);
      }
    }
  }
  slot->w = WeightMatrix{dtype, rows, kCols, slot->bytes.data(), row_bytes};
  return *slot;
}

void BM_DecodeStream(benchmark::State& state, DType dtype) {
  const Big& big = BigMatrix(dtype);
  std::vector<float> x(kCols), y(static_cast<size_t>(big.w.rows));
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& v : x) v = dist(rng);
  for (auto _ : state) {
    MatMul(big.w, x.data(), 1, y.data(), &Pool());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_GB/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(big.bytes.size()) / 1e9,
      benchmark::Counter::kIsRate);
  state.SetLabel(std::string(KernelIsa()) + " threads=" + std::to_string(Pool().num_threads()));
}

void BM_ReadBandwidth(benchmark::State& state) {
  double best = 0;
  for (auto _ : state) {
    const cpu::ReadBandwidth r = cpu::MeasureReadBandwidth(&Pool(), kTargetBytes, 3);
    best = std::max(best, r.best_gb_s);
  }
  state.counters["best_GB/s"] = best;
  state.SetLabel("threads=" + std::to_string(Pool().num_threads()));
}

BENCHMARK(BM_ReadBandwidth)->Iterations(3)->UseRealTime();
BENCHMARK_CAPTURE(BM_DecodeStream, f16, DType::kF16)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeStream, q8_0, DType::kQ8_0)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeStream, q4_0, DType::kQ4_0)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeStream, q4_k, DType::kQ4_K)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeStream, q6_k, DType::kQ6_K)->UseRealTime()->MinTime(1.0);

}  // namespace
}  // namespace pagoda
