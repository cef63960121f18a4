// Batch-1 decode as the model sees it: one x row against a weight matrix of
// ~256 MiB, far larger than the caches, so every weight byte comes from
// memory as in a real decode step (BM_DecodeStream), and the same through
// the benchmark model's 24 layers of matrix shapes and fused calls
// (BM_DecodeLayers: Q/K/V in one pass, O, gate/up with SiLU, down). Counter
// weight_GB/s is comparable with BM_ReadBandwidth, the machine's
// streaming-read limit measured the same way (pagoda's pool, 2 threads on
// the 2-core machine). BM_DecodeLayersVsProbe gives the layers' speed as a
// fraction of a read probe of the same bytes taken right before and after
// each round, for machines whose memory changes speed from one minute to
// the next (docs/benchmarks.md).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "base/mmap.h"
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

// A matrix's bytes in huge-page-aligned anonymous memory, as the model
// loader keeps repacked weights (4 KiB pages read measurably slower).
struct Bytes {
  std::shared_ptr<AnonymousMemory> mem;
  size_t n = 0;
  uint8_t* data() const { return mem->data(); }
  size_t size() const { return n; }
};

struct Big {
  Bytes bytes;
  WeightMatrix w;
};

// Random bytes with every scale (and every F16 value) made small and
// finite: quantizing 256 MiB of weights would take longer than the
// benchmark, and the kernels' speed does not depend on the values.
std::unique_ptr<Big> MakeMatrix(DType dtype, int64_t rows, int64_t cols, bool x8) {
  auto slot = std::make_unique<Big>();
  const DTypeInfo& info = GetDTypeInfo(dtype);
  const size_t row_bytes = static_cast<size_t>(cols / info.block_size * info.block_bytes);
  slot->bytes.n = row_bytes * static_cast<size_t>(rows);
  slot->bytes.mem = *AnonymousMemory::Allocate(slot->bytes.n);
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
    std::vector<uint8_t> file(slot->bytes.data(), slot->bytes.data() + slot->bytes.size());
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

constexpr int kLayers = 24;
constexpr int64_t kHidden = 1024, kKv = 512, kFfn = 4864;

const std::vector<Layer>& Layers(DType dtype, bool x8) {
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
  return ls;
}

std::vector<const Big*> Matrices(const Layer& l) {
  return {l.q.get(), l.k.get(), l.v.get(), l.o.get(), l.gate.get(), l.up.get(), l.down.get()};
}

size_t LayerBytes(const std::vector<Layer>& ls) {
  size_t bytes = 0;
  for (const Layer& l : ls) {
    for (const Big* m : Matrices(l)) bytes += m->bytes.size();
  }
  return bytes;
}

// One token's matrix products through every layer.
struct DecodePass {
  std::vector<float> x = std::vector<float>(kFfn, 0.01f), q = std::vector<float>(kHidden),
                     k = std::vector<float>(kKv), v = std::vector<float>(kKv),
                     h = std::vector<float>(kHidden), f = std::vector<float>(kFfn);
  void Run(const std::vector<Layer>& ls) {
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
};

void BM_DecodeLayers(benchmark::State& state, DType dtype, bool x8 = false) {
  const std::vector<Layer>& ls = Layers(dtype, x8);
  DecodePass pass;
  for (auto _ : state) pass.Run(ls);
  state.counters["weight_GB/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(LayerBytes(ls)) / 1e9,
      benchmark::Counter::kIsRate);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
  state.SetLabel(std::string(KernelIsa()) + " threads=" + std::to_string(Pool().num_threads()));
}

// Each iteration is a round: a read probe of the layers' own bytes, four
// passes through the layers, another probe. Rounds whose two probes agree
// within 7% count; fraction is the median over them of the layers' read
// speed / the faster probe (probe_GB/s: the median of those probes).
void BM_DecodeLayersVsProbe(benchmark::State& state, DType dtype, bool x8) {
  const std::vector<Layer>& ls = Layers(dtype, x8);
  std::vector<cpu::ByteRange> ranges;
  for (const Layer& l : ls) {
    for (const Big* m : Matrices(l)) ranges.push_back({m->bytes.data(), m->bytes.size()});
  }
  const double bytes = static_cast<double>(LayerBytes(ls));
  DecodePass pass;
  std::vector<double> fractions, probes;
  for (auto _ : state) {
    const double p0 = cpu::MeasureReadBandwidthOf(&Pool(), ranges, 2).best_gb_s;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 4; ++i) pass.Run(ls);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double p1 = cpu::MeasureReadBandwidthOf(&Pool(), ranges, 2).best_gb_s;
    const double hi = std::max(p0, p1);
    if (std::min(p0, p1) >= 0.93 * hi) {
      fractions.push_back(4 * bytes / s / 1e9 / hi);
      probes.push_back(hi);
    }
  }
  auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  state.counters["fraction"] = median(fractions);
  state.counters["probe_GB/s"] = median(probes);
  state.counters["rounds_kept"] = static_cast<double>(fractions.size());
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
BENCHMARK_CAPTURE(BM_DecodeStream, q5_k, DType::kQ5_K)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeStream, q6_k, DType::kQ6_K)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeLayers, f16, DType::kF16)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeLayers, f16x8, DType::kF16, true)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeLayers, q8_0, DType::kQ8_0)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeLayers, q8_0x8, DType::kQ8_0, true)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeLayers, q4_0, DType::kQ4_0)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeLayers, q4_0x8, DType::kQ4_0, true)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_DecodeLayersVsProbe, f16x8, DType::kF16, true)->UseRealTime()->Iterations(40);
BENCHMARK_CAPTURE(BM_DecodeLayersVsProbe, q8_0x8, DType::kQ8_0, true)->UseRealTime()->Iterations(40);
BENCHMARK_CAPTURE(BM_DecodeLayersVsProbe, q4_0x8, DType::kQ4_0, true)->UseRealTime()->Iterations(40);

}  // namespace
}  // namespace pagoda
