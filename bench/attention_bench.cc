// PagedAttention at the benchmark model's shape (16 query heads, 8 KV heads,
// head_dim 64, blocks of 16): a 512-token prompt in one pass, and one
// decode token against a 512-token context, batch 1 and 32, each over a
// float32 and a float16 cache (arg kv_bits). Counter GFLOP/s counts QK^T
// and PV (4 * head_dim flops per head and position); KV_GB/s the cache
// bytes the queries' context spans, read once per call.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "kernels/ops.h"

namespace pagoda {
namespace {

constexpr int kHeads = 16, kKvHeads = 8, kHeadDim = 64, kBlock = 16;

ThreadPool& Pool() {
  static ThreadPool pool(0);
  return pool;
}

struct Case {
  std::vector<float> q, k_cache, v_cache, out;
  std::vector<uint16_t> k_half, v_half;  // the same values as float16
  std::vector<int32_t> query_start_loc, seq_lens, block_tables;
  AttentionMetadata meta;
  double flops = 0;
  double kv_bytes_f32 = 0;  // K and V bytes of every context position, float32
};

// num_seqs sequences of context ctx, the last q_len positions of each as
// queries; blocks handed out shuffled.
Case Make(int num_seqs, int ctx, int q_len) {
  Case c;
  const int blocks_per_seq = (ctx + kBlock - 1) / kBlock;
  const int total_blocks = blocks_per_seq * num_seqs;
  std::vector<int32_t> ids(static_cast<size_t>(total_blocks));
  std::iota(ids.begin(), ids.end(), 0);
  std::mt19937 rng(3);
  std::shuffle(ids.begin(), ids.end(), rng);
  c.block_tables = ids;
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const size_t cache = static_cast<size_t>(total_blocks) * kBlock * kKvHeads * kHeadDim;
  c.k_cache.resize(cache);
  c.v_cache.resize(cache);
  for (float& v : c.k_cache) v = dist(rng);
  for (float& v : c.v_cache) v = dist(rng);
  for (float x : c.k_cache) c.k_half.push_back(F32ToFp16(x));
  for (float x : c.v_cache) c.v_half.push_back(F32ToFp16(x));
  c.q.resize(static_cast<size_t>(num_seqs) * q_len * kHeads * kHeadDim);
  for (float& v : c.q) v = dist(rng);
  c.out.resize(c.q.size());
  for (int s = 0; s <= num_seqs; ++s) c.query_start_loc.push_back(s * q_len);
  c.seq_lens.assign(static_cast<size_t>(num_seqs), ctx);
  c.meta.num_seqs = num_seqs;
  c.meta.query_start_loc = c.query_start_loc.data();
  c.meta.seq_lens = c.seq_lens.data();
  c.meta.block_tables = c.block_tables.data();
  c.meta.max_blocks_per_seq = blocks_per_seq;
  c.meta.block_size = kBlock;
  for (int j = 0; j < q_len; ++j) c.flops += 4.0 * kHeads * kHeadDim * (ctx - q_len + j + 1);
  c.flops *= num_seqs;
  c.kv_bytes_f32 = 2.0 * num_seqs * ctx * kKvHeads * kHeadDim * sizeof(float);
  return c;
}

void BM_PagedAttention(benchmark::State& state) {
  const int num_seqs = static_cast<int>(state.range(0));
  const int ctx = static_cast<int>(state.range(1));
  const int q_len = static_cast<int>(state.range(2));
  const bool half = state.range(3) == 16;
  Case c = Make(num_seqs, ctx, q_len);
  for (auto _ : state) {
    if (half) {
      PagedAttention(c.q.data(), c.k_half.data(), c.v_half.data(), c.meta, kHeads, kKvHeads,
                     kHeadDim, 0.125f, c.out.data(), &Pool());
    } else {
      PagedAttention(c.q.data(), c.k_cache.data(), c.v_cache.data(), c.meta, kHeads, kKvHeads,
                     kHeadDim, 0.125f, c.out.data(), &Pool());
    }
    benchmark::DoNotOptimize(c.out.data());
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(iters * c.flops / 1e9, benchmark::Counter::kIsRate);
  state.counters["KV_GB/s"] = benchmark::Counter(iters * c.kv_bytes_f32 / (half ? 2 : 1) / 1e9,
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(std::string(KernelIsa()) + " threads=" + std::to_string(Pool().num_threads()));
}

BENCHMARK(BM_PagedAttention)
    ->Args({1, 512, 512, 32})
    ->Args({1, 512, 512, 16})
    ->Args({1, 512, 1, 32})
    ->Args({1, 512, 1, 16})
    ->Args({32, 256, 1, 32})
    ->Args({32, 256, 1, 16})
    ->ArgNames({"seqs", "ctx", "q_len", "kv_bits"})
    ->UseRealTime();

}  // namespace
}  // namespace pagoda
