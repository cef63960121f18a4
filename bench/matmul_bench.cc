// MatMul throughput per weight format at decode (1 row) and prefill (64 and
// 512 rows) shapes, on the selected instruction set, the portable path and, for
// F32, OpenBLAS sgemm as a yardstick; q4_0x8 / q8_0x8 are Q4_0 / Q8_0
// repacked by eight as the model loader does (kernels/cpu/repack.h).
// Counters: weight bytes read per second (what bounds decode) and FLOP/s
// (what bounds prefill).
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/repack.h"
#include "kernels/ops.h"

namespace pagoda {
namespace {

struct Shape {
  int64_t n;  // output features
  int64_t k;  // input features
};
constexpr Shape kShapes[] = {{1024, 1024}, {4864, 1024}};

ThreadPool& Pool() {
  static ThreadPool pool(0);
  return pool;
}

struct Fixture {
  std::vector<uint8_t> bytes;
  WeightMatrix w;
  std::vector<float> x, y;
};

std::unique_ptr<Fixture> Make(DType dtype, Shape s, int64_t rows, bool x8) {
  auto f = std::make_unique<Fixture>();
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const DTypeInfo& info = GetDTypeInfo(dtype);
  const size_t row_bytes = static_cast<size_t>(s.k / info.block_size * info.block_bytes);
  f->bytes.resize(row_bytes * s.n);
  std::vector<float> row(s.k);
  for (int64_t r = 0; r < s.n; ++r) {
    for (float& v : row) v = dist(rng);
    if (dtype == DType::kQ4_K || dtype == DType::kQ5_K || dtype == DType::kQ6_K) {
      // No K-quant quantizer: random bytes with a sane fp16 scale.
      uint8_t* p = f->bytes.data() + r * row_bytes;
      for (size_t i = 0; i < row_bytes; ++i) p[i] = static_cast<uint8_t>(rng());
      for (int64_t b = 0; b < s.k / 256; ++b) {
        uint8_t* blk = p + b * info.block_bytes;
        const uint16_t d = 0x1c00;  // 2^-8
        std::memcpy(blk + (dtype == DType::kQ6_K ? 208 : 0), &d, 2);
        if (dtype == DType::kQ4_K || dtype == DType::kQ5_K) std::memcpy(blk + 2, &d, 2);  // dmin
      }
    } else {
      QuantizeRow(dtype, row.data(), f->bytes.data() + r * row_bytes, s.k);
    }
  }
  f->w = WeightMatrix{dtype, s.n, s.k, f->bytes.data(), row_bytes};
  if (x8) {
    std::vector<uint8_t> file = f->bytes;
    f->w.data = file.data();
    f->w = cpu::Repack(f->w, f->bytes.data());
  }
  f->x.resize(rows * s.k);
  for (float& v : f->x) v = dist(rng);
  f->y.resize(rows * s.n);
  return f;
}

enum class Path { kSelected, kPortable, kBlas };

void BM_MatMul(benchmark::State& state, DType dtype, Path path, bool x8 = false) {
  const Shape s = kShapes[state.range(0)];
  const int64_t rows = state.range(1);
  const bool threaded = state.range(2) != 0;
  auto f = Make(dtype, s, rows, x8);
  ThreadPool* pool = threaded ? &Pool() : nullptr;
  for (auto _ : state) {
    switch (path) {
      case Path::kSelected:
        MatMul(f->w, f->x.data(), rows, f->y.data(), pool);
        break;
      case Path::kPortable:
        cpu::MatMulOn(cpu::Isa::kPortable, f->w, f->x.data(), rows, f->y.data(), pool);
        break;
      case Path::kBlas:
        if (pool == nullptr) {
          cpu::MatMulF32Blas(f->w, f->x.data(), rows, f->y.data(), 0, s.n);
        } else {
          pool->ParallelFor(
              s.n,
              [&](int64_t b, int64_t e) { cpu::MatMulF32Blas(f->w, f->x.data(), rows, f->y.data(), b, e); },
              16);
        }
        break;
    }
    benchmark::DoNotOptimize(f->y.data());
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["weight_GB/s"] = benchmark::Counter(
      iters * static_cast<double>(f->bytes.size()) / 1e9, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(
      iters * 2.0 * rows * s.n * s.k / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel(std::string(KernelIsa()) + " threads=" +
                 std::to_string(threaded ? Pool().num_threads() : 1));
}

void Args(benchmark::internal::Benchmark* b) {
  for (int shape = 0; shape < 2; ++shape) {
    for (int rows : {1, 64}) {
      for (int threaded : {0, 1}) b->Args({shape, rows, threaded});
    }
  }
  // A whole 512-token prompt: x no longer fits in L2.
  b->Args({1, 512, 1});
  b->ArgNames({"shape", "rows", "pool"})->UseRealTime()->MinTime(0.2);
}

BENCHMARK_CAPTURE(BM_MatMul, f32, DType::kF32, Path::kSelected)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, f32_blas, DType::kF32, Path::kBlas)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, f16, DType::kF16, Path::kSelected)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, f16x8, DType::kF16, Path::kSelected, true)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, bf16, DType::kBF16, Path::kSelected)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, q8_0, DType::kQ8_0, Path::kSelected)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, q8_0x8, DType::kQ8_0, Path::kSelected, true)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, q4_0, DType::kQ4_0, Path::kSelected)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, q4_0x8, DType::kQ4_0, Path::kSelected, true)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, q4_k, DType::kQ4_K, Path::kSelected)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, q5_k, DType::kQ5_K, Path::kSelected)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, q6_k, DType::kQ6_K, Path::kSelected)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, bf16x8, DType::kBF16, Path::kSelected, true)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, f16_portable, DType::kF16, Path::kPortable)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, q4_0_portable, DType::kQ4_0, Path::kPortable)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, q4_0x8_portable, DType::kQ4_0, Path::kPortable, true)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, q8_0x8_portable, DType::kQ8_0, Path::kPortable, true)->Apply(Args);
BENCHMARK_CAPTURE(BM_MatMul, q4_k_portable, DType::kQ4_K, Path::kPortable)->Apply(Args);

}  // namespace
}  // namespace pagoda
