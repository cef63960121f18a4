// Batch-1 decode as the model sees it: one x row against a weight matrix of
// ~256 MiB, far larger than the caches, so every weight byte comes from
// memory as in a real decode step (BM_DecodeStream), and the same through
// the benchmark model's 24 layers of matrix shapes and fused calls
// (BM_DecodeLayers: Q/K/V in one pass, O, gate/up with SiLU, down). Counter
// weight_GB/s is comparable with BM_ReadBandwidth, the machine's
// streaming-read limit measured the same way (pagoda's pool, 2 threads on
// the 2-core machine).
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "kernels/cpu/read_bandwidth.h"
#include "kernels/cpu/repack.h"
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
std::unique_ptr<Big> MakeMatrix(DType dtype, int64_t rows, int64_t cols, bool x8) {
  auto slot = std::make_unique<Big>();
  const DTypeInfo& info = GetDTypeInfo(dtype);
  const size_t row_bytes = static_cast<size_t>(cols / info.block_size * info.block_bytes);
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
  slot->w = WeightMatrix{dtype, rows, cols, slot->bytes.data(), row_bytes};
  if (x8) {
    std::vector<uint8_t> file = slot->bytes;
    slot->w.data = file.data();
    slot->w = cpu::Repack(slot->w, slot->bytes.data());
  }
  return slot;
}

const Big& BigMatrix(DType dtype, bool x8) {
  static std::unique_ptr<Big> cache[2][16];
  std::unique_ptr<Big>& slot = cache[x8][static_cast<int>(dtype) % 16];
  if (!slot) {
    const DTypeInfo& info = GetDTypeInfo(dtype);
    const size_t row_bytes = static_cast<size_t>(kCols / info.block_size * info.block_bytes);
    const int64_t rows = static_cast<int64_t>(kTargetBytes / row_bytes);
    slot = MakeMatrix(dtype, x8 ? rows / 8 * 8 : rows, kCols, x8);
  }
  return *slot;
}

// The benchmark model's layer: hidden 1024, 16 heads / 8 KV heads of 64,
// FFN 4864.
struct Layer {
  std::unique_ptr<Big> q, k, v, o, gate, up, down;
};

void BM_DecodeLayers(benchmark::State& state, DType dtype, bool x8 = false) {
  constexpr int kLayers = 24;
  constexpr int64_t kHidden = 1024, kKv = 512, kFfn = 4864;
  static std::vector<Layer> layers[2][16];
  std::vector<Layer>& ls = layers[x8][static_cast<int>(dtype) % 16];
  if (ls.empty()) {
    for (int l = 0; l < kLayers; ++l) {
      ls.push_back({MakeMatrix(dtype, kHidden, kHidden, x8), MakeMatrix(dtype, kKv, kHidden, x8),
                    MakeMatrix(dtype, kKv, kHidden, x8), MakeMatrix(dtype, kHidden, kHidden, x8),
                    MakeMatrix(dtype, kFfn, kHidden, x8), MakeMatrix(dtype, kFfn, kHidden, x8),
                    MakeMatrix(dtype, kHidden, kFfn, x8)});
    }
  }
  size_t bytes = 0;
  for (const Layer& l : ls) {
    for (const Big* m : {l.q.get(), l.k.get(), l.v.get(), l.o.get(), l.gate.get(), l.up.get(), l.down.get()}) {
      bytes += m->bytes.size();
    }
  }
  std::vector<float> x(kFfn, 0.01f), q(kHidden), k(kKv), v(kKv), h(kHidden), f(kFfn);
  for (auto _ : state) {
    for (const Layer& l : ls) {
      const WeightMatrix qkv[3] = {l.q->w, l.k->w, l.v->w};
      float* const outs[3] = {q.data(), k.data(), v.data()};
      MatMulMany(qkv, 3, x.data(), 1, outs, &Pool());
      MatMul(l.o->w, q.data(), 1, h.data(), &Pool());
      MatMulSiluMul(l.gate->w, l.up->w, h.data(), 1, f.data(), &Pool());
      MatMul(l.down->w, f.data(), 1, h.data(), &Pool());
    }
    benchmark::DoNotOptimize(h.data());
  }
  state.counters["weight_GB/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(bytes) / 1e9, benchmark::Counter::kIsRate);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
  state.SetLabel(std::string(KernelIsa()) + " threads=" + std::to_string(Pool().num_threads()));
}

void BM_DecodeStream(benchmark::State& state, DType dtype, bool x8 = false) {
  const Big& big = BigMatrix(dtype, x8);
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
BENCHMARK_CAPTURE(BM_DecodeStream, f16x8, DType::kF16, true)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeStream, q8_0, DType::kQ8_0)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeStream, q8_0x8, DType::kQ8_0, true)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeStream, q4_0, DType::kQ4_0)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeStream, q4_0x8, DType::kQ4_0, true)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeStream, q4_k, DType::kQ4_K)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeStream, q6_k, DType::kQ6_K)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeLayers, f16, DType::kF16)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeLayers, f16x8, DType::kF16, true)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeLayers, q8_0, DType::kQ8_0)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeLayers, q8_0x8, DType::kQ8_0, true)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeLayers, q4_0, DType::kQ4_0)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeLayers, q4_0x8, DType::kQ4_0, true)->UseRealTime()->MinTime(1.0);

}  // namespace
}  // namespace pagoda
