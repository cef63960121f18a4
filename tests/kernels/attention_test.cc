// PagedAttention against dense causal attention, with K/V written to
// shuffled, non-contiguous cache blocks, several sequences of different
// lengths, mixed prefill chunks and decodes, and grouped-query heads; every
// case with a float32 and with a float16 cache. For float16 the dense
// yardstick takes K and V as the halves the cache holds (rounded by the
// compiler's _Float16), so the same tolerance holds: widening is exact and
// the arithmetic after it is the float32 cache's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/reference.h"

namespace pagoda {
namespace {

using testing::RandomFloats;

struct Seq {
  int seq_len;  // context, including the queries
  int q_len;    // new tokens this step
};

// Owns a whole batch: per-sequence dense K/V/Q, the paged cache (float32
// or float16) and metadata.
struct Batch {
  int num_heads, num_kv_heads, head_dim, block_size, max_blocks;
  bool fp16;
  std::vector<Seq> seqs;
  std::vector<std::vector<float>> dense_k, dense_v;  // [seq_len, kv_heads * head_dim]
  std::vector<float> q;                              // [tokens, heads * head_dim]
  std::vector<int32_t> query_start_loc, seq_lens, block_tables;
  std::vector<float> k_cache, v_cache;      // float32 cache
  std::vector<uint16_t> k_half, v_half;     // float16 cache
  AttentionMetadata meta;

  Batch(std::vector<Seq> s, int heads, int kv_heads, int hd, int bs, uint32_t seed, bool half = false)
      : num_heads(heads), num_kv_heads(kv_heads), head_dim(hd), block_size(bs), fp16(half),
        seqs(std::move(s)) {
    const int width = kv_heads * hd;
    max_blocks = 0;
    int total_blocks = 0;
    for (const Seq& sq : seqs) {
      const int nb = (sq.seq_len + bs - 1) / bs;
      max_blocks = std::max(max_blocks, nb);
      total_blocks += nb;
    }
    total_blocks += 3;  // spare blocks nobody owns
    // Hand out blocks in a shuffled order so no sequence is contiguous.
    std::vector<int32_t> free_blocks(total_blocks);
    std::iota(free_blocks.begin(), free_blocks.end(), 0);
    std::mt19937 rng(seed);
    std::shuffle(free_blocks.begin(), free_blocks.end(), rng);
    block_tables.assign(seqs.size() * max_blocks, -1);
    size_t next = 0;
    for (size_t i = 0; i < seqs.size(); ++i) {
      for (int b = 0; b * bs < seqs[i].seq_len; ++b) block_tables[i * max_blocks + b] = free_blocks[next++];
    }
    // Poison the cache with NaN so a wrong slot, or an unwritten one (the
    // AVX2 tile scores whole groups of eight positions, past the context
    // within its last block), shows up in the result.
    k_cache.assign(static_cast<size_t>(total_blocks) * bs * width, NAN);
    v_cache = k_cache;
    k_half.assign(k_cache.size(), ref::HalfBits(NAN));
    v_half = k_half;
    query_start_loc.push_back(0);
    for (size_t i = 0; i < seqs.size(); ++i) {
      dense_k.push_back(RandomFloats(seed + 10 * i + 1, seqs[i].seq_len * width));
      dense_v.push_back(RandomFloats(seed + 10 * i + 2, seqs[i].seq_len * width));
      std::vector<int64_t> slots(seqs[i].seq_len);
      for (int p = 0; p < seqs[i].seq_len; ++p) {
        slots[p] = static_cast<int64_t>(block_tables[i * max_blocks + p / bs]) * bs + p % bs;
      }
      if (fp16) {
        WriteKvCache(dense_k[i].data(), dense_v[i].data(), slots.data(), seqs[i].seq_len, kv_heads,
                     hd, bs, k_half.data(), v_half.data());
        // What the cache holds, for the dense yardstick.
        for (float& x : dense_k[i]) x = ref::HalfValue(ref::HalfBits(x));
        for (float& x : dense_v[i]) x = ref::HalfValue(ref::HalfBits(x));
      } else {
        WriteKvCache(dense_k[i].data(), dense_v[i].data(), slots.data(), seqs[i].seq_len, kv_heads,
                     hd, bs, k_cache.data(), v_cache.data());
      }
      query_start_loc.push_back(query_start_loc.back() + seqs[i].q_len);
      seq_lens.push_back(seqs[i].seq_len);
    }
    q = RandomFloats(seed + 7, query_start_loc.back() * heads * hd, -2, 2);
    meta = AttentionMetadata{static_cast<int>(seqs.size()), query_start_loc.data(), seq_lens.data(),
                             block_tables.data(), max_blocks, bs};
  }

  int num_tokens() const { return query_start_loc.back(); }

  // fn(k_cache, v_cache) with the cache of this batch's element type.
  template <class Fn>
  void WithCache(Fn&& fn) const {
    if (fp16) {
      fn(k_half.data(), v_half.data());
    } else {
      fn(k_cache.data(), v_cache.data());
    }
  }

  // PagedAttentionOn over this batch's cache, for queries q with metadata m.
  void Run(cpu::Isa isa, const float* queries, const AttentionMetadata& m, float scale, float* out,
           ThreadPool* pool) const {
    WithCache([&](const auto* k, const auto* v) {
      cpu::PagedAttentionOn(isa, queries, k, v, m, num_heads, num_kv_heads, head_dim, scale, out, pool);
    });
  }

  // Textbook causal attention on the dense arrays, in double.
  std::vector<double> Dense(float scale) const {
    const int width = num_kv_heads * head_dim;
    const int group = num_heads / num_kv_heads;
    std::vector<double> out(static_cast<size_t>(num_tokens()) * num_heads * head_dim);
    for (size_t s = 0; s < seqs.size(); ++s) {
      for (int j = 0; j < seqs[s].q_len; ++j) {
        const int t = query_start_loc[s] + j;
        const int pos = seqs[s].seq_len - seqs[s].q_len + j;
        for (int h = 0; h < num_heads; ++h) {
          const int kvh = h / group;
          std::vector<double> w(pos + 1);
          for (int p = 0; p <= pos; ++p) {
            double d = 0;
            for (int i = 0; i < head_dim; ++i) {
              d += double{q[(t * num_heads + h) * head_dim + i]} * dense_k[s][p * width + kvh * head_dim + i];
            }
            w[p] = d * scale;
          }
          const double mx = *std::max_element(w.begin(), w.end());
          double sum = 0;
          for (double& x : w) sum += (x = std::exp(x - mx));
          for (int i = 0; i < head_dim; ++i) {
            double acc = 0;
            for (int p = 0; p <= pos; ++p) acc += w[p] * dense_v[s][p * width + kvh * head_dim + i];
            out[(t * num_heads + h) * head_dim + i] = acc / sum;
          }
        }
      }
    }
    return out;
  }
};

// Values are convex combinations of V entries in [-1, 1]; float softmax and
// dot products over <= a few hundred terms stay well inside 2e-5.
constexpr double kAbsTol = 2e-5;

void RunAgainstDense(const Batch& b, ThreadPool* pool) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(b.head_dim));
  const std::vector<double> dense = b.Dense(scale);
  std::vector<float> out(dense.size(), NAN);
  b.WithCache([&](const auto* k, const auto* v) {
    ref::PagedAttention(b.q.data(), k, v, b.meta, b.num_heads, b.num_kv_heads, b.head_dim, scale,
                        out.data());
  });
  for (size_t i = 0; i < dense.size(); ++i) ASSERT_NEAR(out[i], dense[i], 1e-6) << "reference " << i;
  std::vector<std::vector<float>> per_isa;
  for (cpu::Isa isa : testing::TestableIsas()) {
    std::fill(out.begin(), out.end(), NAN);
    b.Run(isa, b.q.data(), b.meta, scale, out.data(), pool);
    for (size_t i = 0; i < dense.size(); ++i) {
      ASSERT_NEAR(out[i], dense[i], kAbsTol) << cpu::IsaName(isa) << (b.fp16 ? " fp16 " : " fp32 ") << i;
    }
    per_isa.push_back(out);
  }
  for (size_t i = 1; i < per_isa.size(); ++i) {
    ASSERT_EQ(0, std::memcmp(per_isa[i].data(), per_isa[0].data(), out.size() * sizeof(float)))
        << "paths differ" << (b.fp16 ? " (fp16 cache)" : "");
  }
  // The public op takes the selected path.
  b.WithCache([&](const auto* k, const auto* v) {
    PagedAttention(b.q.data(), k, v, b.meta, b.num_heads, b.num_kv_heads, b.head_dim, scale,
                   out.data(), pool);
  });
  for (size_t i = 0; i < dense.size(); ++i) ASSERT_NEAR(out[i], dense[i], kAbsTol) << i;
}

TEST(PagedAttentionTest, MixedPrefillAndDecodeGqa) {
  ThreadPool pool(3);
  // Full prefill, decode, a prefill chunk after cached context, a one-token
  // sequence, and a long decode crossing many blocks.
  const std::vector<Seq> seqs = {{17, 17}, {40, 1}, {50, 6}, {1, 1}, {129, 1}};
  for (bool fp16 : {false, true}) {
    RunAgainstDense(Batch(seqs, 8, 2, 64, 16, 1, fp16), &pool);
    RunAgainstDense(Batch(seqs, 8, 2, 64, 16, 2, fp16), nullptr);
  }
}

TEST(PagedAttentionTest, OtherShapes) {
  ThreadPool pool(2);
  for (bool fp16 : {false, true}) {
    // Multi-head (no grouping), odd head_dim, tiny blocks.
    RunAgainstDense(Batch({{9, 9}, {23, 2}}, 4, 4, 40, 4, 3, fp16), &pool);
    // Multi-query (one kv head), head_dim not a multiple of 8, block size 1.
    RunAgainstDense(Batch({{5, 3}, {12, 1}, {7, 7}}, 6, 1, 13, 1, 4, fp16), &pool);
    // head_dim 128, block size 32.
    RunAgainstDense(Batch({{70, 70}, {33, 1}}, 4, 2, 128, 32, 5, fp16), &pool);
  }
}

// A sequence's output does not depend on what else is in the batch or on
// the thread count.
TEST(PagedAttentionTest, BatchInvariant) {
  const std::vector<Seq> seqs = {{17, 17}, {40, 1}, {50, 6}, {129, 1}};
  for (bool fp16 : {false, true}) {
    const Batch all(seqs, 8, 2, 64, 16, 9, fp16);
    const float scale = 0.125f;
    const size_t row = static_cast<size_t>(all.num_heads) * all.head_dim;
    ThreadPool pool1(1), pool3(3);
    for (cpu::Isa isa : testing::TestableIsas()) {
      std::vector<float> together(all.num_tokens() * row);
      all.Run(isa, all.q.data(), all.meta, scale, together.data(), &pool3);
      for (size_t s = 0; s < seqs.size(); ++s) {
        // Sequence s alone, over the same cache and block table row.
        const int32_t qsl[2] = {0, seqs[s].q_len};
        const AttentionMetadata one{1, qsl, &all.seq_lens[s], &all.block_tables[s * all.max_blocks],
                                    all.max_blocks, all.block_size};
        std::vector<float> alone(seqs[s].q_len * row);
        all.Run(isa, all.q.data() + all.query_start_loc[s] * row, one, scale, alone.data(), &pool1);
        EXPECT_EQ(0, std::memcmp(alone.data(), together.data() + all.query_start_loc[s] * row,
                                 alone.size() * sizeof(float)))
            << cpu::IsaName(isa) << " seq " << s << (fp16 ? " fp16" : " fp32");
      }
    }
  }
}

// A query row's output does not depend on the chunk it arrives in: a whole
// prompt in one pass, token by token, and in uneven chunks give the same
// bits (tiles group different rows in each case), and the two paths agree.
TEST(PagedAttentionTest, ChunkingInvariantAndPathsAgree) {
  for (bool fp16 : {false, true}) {
    for (int head_dim : {64, 40, 13}) {
      const int len = 37;
      const Batch whole({{len, len}}, 8, 2, head_dim, 16, 11, fp16);
      const size_t row = static_cast<size_t>(whole.num_heads) * head_dim;
      ThreadPool pool(2);
      std::vector<std::vector<float>> per_isa;
      for (cpu::Isa isa : testing::TestableIsas()) {
        std::vector<float> all(len * row);
        whole.Run(isa, whole.q.data(), whole.meta, 0.2f, all.data(), &pool);
        for (const std::vector<int>& chunks : {std::vector<int>{1}, std::vector<int>{5, 1, 3, 7}}) {
          std::vector<float> pieces(all.size());
          int done = 0;
          size_t ci = 0;
          while (done < len) {
            const int n = std::min(chunks[ci++ % chunks.size()], len - done);
            const int32_t qsl[2] = {0, n};
            const int32_t seq_len = done + n;
            const AttentionMetadata m{1, qsl, &seq_len, whole.block_tables.data(), whole.max_blocks,
                                      whole.block_size};
            whole.Run(isa, whole.q.data() + done * row, m, 0.2f, pieces.data() + done * row, &pool);
            done += n;
          }
          ASSERT_EQ(0, std::memcmp(pieces.data(), all.data(), all.size() * sizeof(float)))
              << cpu::IsaName(isa) << " head_dim " << head_dim << " chunks of " << chunks.size()
              << (fp16 ? " fp16" : " fp32");
        }
        per_isa.push_back(std::move(all));
      }
      for (size_t i = 1; i < per_isa.size(); ++i) {
        ASSERT_EQ(0, std::memcmp(per_isa[i].data(), per_isa[0].data(), per_isa[0].size() * sizeof(float)))
            << "paths differ, head_dim " << head_dim << (fp16 ? " fp16" : " fp32");
      }
    }
  }
}

// Random shapes, mostly with a float16 cache (every fourth trial float32):
// GQA groups 1-8, head_dims (multiples of 8 for the AVX2 tile, and not),
// block sizes 1-32 (multiples of 8, which the AVX2 tile reads in place, and
// others, which it gathers), contexts and prefill chunks of any length
// (query positions rarely multiples of 8). The two paths agree bit for bit,
// and both stay within kAbsTol of double-precision attention over the
// cached values.
TEST(PagedAttentionTest, RandomShapesPathsAgree) {
  std::mt19937 rng(2024);
  auto pick = [&](std::initializer_list<int> xs) {
    return *(xs.begin() + std::uniform_int_distribution<size_t>(0, xs.size() - 1)(rng));
  };
  ThreadPool pool(3);
  for (int trial = 0; trial < 32; ++trial) {
    const int kv_heads = pick({1, 2, 3, 4});
    const int group = pick({1, 2, 3, 4, 8});
    const int head_dim = pick({8, 16, 24, 40, 64, 128, 13, 36});
    const int block_size = pick({1, 3, 5, 8, 12, 16, 24, 32});
    std::vector<Seq> seqs;
    const int num_seqs = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int s = 0; s < num_seqs; ++s) {
      const int seq_len = std::uniform_int_distribution<int>(1, 150)(rng);
      const int kind = std::uniform_int_distribution<int>(0, 2)(rng);
      // A decode, a whole prompt, or a chunk after cached context.
      const int q_len = kind == 0   ? 1
                        : kind == 1 ? seq_len
                                    : std::uniform_int_distribution<int>(1, seq_len)(rng);
      seqs.push_back({seq_len, q_len});
    }
    const bool fp16 = trial % 4 != 3;
    const Batch b(seqs, kv_heads * group, kv_heads, head_dim, block_size, 100 + trial, fp16);
    SCOPED_TRACE("trial " + std::to_string(trial) + (fp16 ? " fp16" : " fp32") + ": kv_heads " +
                 std::to_string(kv_heads) +
                 ", group " + std::to_string(group) + ", head_dim " + std::to_string(head_dim) +
                 ", block " + std::to_string(block_size));
    RunAgainstDense(b, trial % 2 == 0 ? &pool : nullptr);
  }
}

}  // namespace
}  // namespace pagoda
