// PagedAttention at the benchmark model's shape (16 query heads, 8 KV heads,
// head_dim 64, blocks of 16): a 512-token prompt in one pass, and one
// decode token against a 512-token context, batch 1 and 32, each over a
// float32 and a float16 cache (arg kv_bits). Counter GFLOP/s counts QK^T
// and PV (4 * head_dim flops per head and position); KV_GB/s the cache
// bytes the queries' context spans, read once per call.
//
// With layers > 1 each call reads the next of that many caches, as decode
// walks the layers: 24 layers of a 512-token context (48 MiB in float32)
// outgrow the last-level cache, so the decode case then measures attention
// fed from memory, the case a float16 cache halves.
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
  int layers = 1;
  size_t layer_elems = 0;  // cache elements of one layer
  std::vector<float> q, k_cache, v_cache, out;
  std::vector<uint16_t> k_half, v_half;  // the same values as float16
  std::vector<int32_t> query_start_loc, seq_lens, block_tables;
  AttentionMetadata meta;
  double flops = 0;
  double kv_bytes_f32 = 0;  // K and V bytes of every context position, float32
};

// num_seqs sequences of context ctx, the last q_len positions of each as
// queries; blocks handed out shuffled.
Case Make(int num_seqs, int ctx, int q_len, int layers) {
  Case c;
  c.layers = layers;
  const int blocks_per_seq = (ctx + kBlock - 1) / kBlock;
  const int total_blocks = blocks_per_seq * num_seqs;
  std::vector<int32_t> ids(static_cast<size_t>(total_blocks));
  std::iota(ids.begin(), ids.end(), 0);
  std::mt19937 rng(3);
  std::shuffle(ids.begin(), ids.end(), rng);
  c.block_tables = ids;
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  c.layer_elems = static_cast<size_t>(total_blocks) * kBlock * kKvHeads * kHeadDim;
  const size_t cache = c.layer_elems * static_cast<size_t>(layers);
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
  Case c = Make(num_seqs, ctx, q_len, static_cast<int>(state.range(4)));
  int layer = 0;
  for (auto _ : state) {
    const size_t off = static_cast<size_t>(layer) * c.layer_elems;
    if (half) {
      PagedAttention(c.q.data(), c.k_half.data() + off, c.v_half.data() + off, c.meta, kHeads,
                     kKvHeads, kHeadDim, 0.125f, c.out.data(), &Pool());
    } else {
      PagedAttention(c.q.data(), c.k_cache.data() + off, c.v_cache.data() + off, c.meta, kHeads,
                     kKvHeads, kHeadDim, 0.125f, c.out.data(), &Pool());
    }
    benchmark::DoNotOptimize(c.out.data());
    layer = (layer + 1) % c.layers;
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(iters * c.flops / 1e9, benchmark::Counter::kIsRate);
  state.counters["KV_GB/s"] = benchmark::Counter(iters * c.kv_bytes_f32 / (half ? 2 : 1) / 1e9,
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(std::string(KernelIsa()) + " threads=" + std::to_string(Pool().num_threads()));
}

BENCHMARK(BM_PagedAttention)
    ->Args({1, 512, 512, 32, 1})
    ->Args({1, 512, 512, 16, 1})
    ->Args({1, 512, 1, 32, 1})
    ->Args({1, 512, 1, 16, 1})
    ->Args({1, 512, 1, 32, 24})
    ->Args({1, 512, 1, 16, 24})
    ->Args({32, 256, 1, 32, 1})
    ->Args({32, 256, 1, 16, 1})
    ->ArgNames({"seqs", "ctx", "q_len", "kv_bits", "layers"})
    ->UseRealTime();

}  // namespace
}  // namespace pagoda
