// Paged attention over the block-table KV cache, reading K/V in place (never
// gathering a copy). The work is cut into tiles: a few consecutive query
// tokens of one sequence times the query heads of one kv head, so each K/V
// row loaded serves up to eight query rows (prefill is then compute-bound
// on FMAs, not on loads). The arithmetic per query row is fixed in
// attention.h; this file holds the driver, the portable tile kernel and the
// cache write, each once for both cache element types.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "base/check.h"
#include "kernels/cpu/exp.h"

namespace pagoda::cpu {

template <class T>
void AttendTilePortable(const AttentionTile<T>& t) {
  const int hd = t.head_dim;
  for (int i = 0; i < t.num_queries; ++i) {
    const float* q = t.q[i];
    float* s = t.scores + i * t.scores_stride;
    float m = -INFINITY;
    for (int p = 0; p <= t.pos[i]; ++p) {
      // Position p's key: element d sits block_size elements after d - 1.
      const T* k = t.KBlock(p / t.block_size) + p % t.block_size;
      float acc = 0.0f;
      for (int d = 0; d < hd; ++d) {
        acc = std::fma(q[d], KvToFloat(k[static_cast<int64_t>(d) * t.block_size]), acc);
      }
      s[p] = acc * t.scale;
      m = std::max(m, s[p]);
    }
    float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int p = 0; p <= t.pos[i]; ++p) {
      s[p] = ExpPortable(s[p] - m);
      lanes[p % 8] += s[p];
    }
    const float denom = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) +
                        ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
    float* o = t.out[i];
    for (int d = 0; d < hd; ++d) o[d] = 0.0f;
    for (int p = 0; p <= t.pos[i]; ++p) {
      const T* v = t.V(p);
      for (int d = 0; d < hd; ++d) o[d] = std::fma(s[p], KvToFloat(v[d]), o[d]);
    }
    const float inv = 1.0f / denom;
    for (int d = 0; d < hd; ++d) o[d] *= inv;
  }
}

namespace {

struct TileSpec {
  int seq;
  int kv_head;
  int t_begin, t_end;  // query tokens (global row indices)
};

float* Scratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

}  // namespace

template <class T>
void PagedAttentionOn(Isa isa, const float* q, const T* k_cache, const T* v_cache,
                      const AttentionMetadata& meta, int num_heads, int num_kv_heads,
                      int head_dim, float scale, float* out, ThreadPool* pool) {
  CHECK_GT(num_kv_heads, 0);
  CHECK_EQ(num_heads % num_kv_heads, 0);
  if (meta.num_seqs <= 0) return;
  const int group = num_heads / num_kv_heads;
  const int64_t kv_width = static_cast<int64_t>(num_kv_heads) * head_dim;
  // Tokens per tile: the group's heads times this many tokens fill a tile.
  const int tokens_per_tile = std::max(1, kMaxTileQueries / group);
  // The AVX2 tile wants whole 8-float vectors of head_dim (every real model
  // has them); other sizes take the portable tile, which gives the same bits.
  const bool avx2 = UsesAvx2(isa) && head_dim % 8 == 0 && head_dim <= 512;

  // Tiles ordered sequence, kv head, tokens: the pool's contiguous split
  // then hands each thread whole kv heads of a prompt, which balances the
  // causal (triangular) work.
  std::vector<TileSpec> tiles;
  for (int s = 0; s < meta.num_seqs; ++s) {
    for (int g = 0; g < num_kv_heads; ++g) {
      for (int t = meta.query_start_loc[s]; t < meta.query_start_loc[s + 1]; t += tokens_per_tile) {
        tiles.push_back({s, g, t, std::min(meta.query_start_loc[s + 1], t + tokens_per_tile)});
      }
    }
  }

  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      const TileSpec& ts = tiles[static_cast<size_t>(idx)];
      const int q_len = meta.query_start_loc[ts.seq + 1] - meta.query_start_loc[ts.seq];
      const int first_pos = meta.seq_lens[ts.seq] - q_len;
      AttentionTile<T> tile;
      tile.k_cache = k_cache;
      tile.v_cache = v_cache;
      tile.block_table = meta.block_tables + static_cast<int64_t>(ts.seq) * meta.max_blocks_per_seq;
      tile.block_size = meta.block_size;
      tile.block_elems = kv_width * meta.block_size;
      tile.head_block_off = static_cast<int64_t>(ts.kv_head) * head_dim * meta.block_size;
      tile.head_dim = head_dim;
      tile.scale = scale;
      int n = 0;
      for (int t = ts.t_begin; t < ts.t_end; ++t) {
        for (int j = 0; j < group; ++j) {
          const int64_t h = static_cast<int64_t>(ts.kv_head) * group + j;
          tile.q[n] = q + (t * num_heads + h) * head_dim;
          tile.out[n] = out + (t * num_heads + h) * head_dim;
          tile.pos[n] = first_pos + (t - meta.query_start_loc[ts.seq]);
          ++n;
        }
      }
      tile.num_queries = n;
      tile.min_pos = *std::min_element(tile.pos, tile.pos + n);
      tile.max_pos = *std::max_element(tile.pos, tile.pos + n);
      tile.scores_stride = tile.max_pos + 9;
      tile.scores = Scratch(static_cast<size_t>(n * tile.scores_stride));
      if (avx2) {
        avx2::AttendTile(tile);
      } else {
        AttendTilePortable(tile);
      }
    }
  };
  const int64_t num_tiles = static_cast<int64_t>(tiles.size());
  if (pool == nullptr) {
    run(0, num_tiles);
  } else {
    pool->ParallelFor(num_tiles, run, 1);
  }
}

template <class T>
void WriteKvCacheOn(Isa isa, const float* k, const float* v, const int64_t* slot_mapping,
                    int64_t num_tokens, int num_kv_heads, int head_dim, int block_size,
                    T* k_cache, T* v_cache) {
  CHECK_GT(block_size, 0);
  const int64_t width = static_cast<int64_t>(num_kv_heads) * head_dim;
  // n values converted to the cache's element type.
  auto store = [&](const float* src, T* dst, int64_t n) {
    if constexpr (std::is_same_v<T, float>) {
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    } else if (UsesAvx2(isa)) {
      avx2::RoundToFp16(src, dst, n);
    } else {
      for (int64_t i = 0; i < n; ++i) dst[i] = F32ToFp16(src[i]);
    }
  };
  // The layout of kernels/ops.h: kv head h's part of block b starts at
  // (b * num_kv_heads + h) * head_dim * block_size in both caches. V takes
  // the token's row at offset o within it; K takes it transposed (element
  // d at d * block_size + o), converted whole first with the same rounding
  // as V, then scattered.
  std::vector<T> row(static_cast<size_t>(width));
  const int64_t part = static_cast<int64_t>(head_dim) * block_size;
  for (int64_t t = 0; t < num_tokens; ++t) {
    const int64_t slot = slot_mapping[t];
    if (slot < 0) continue;  // padding token: nothing to store
    const int64_t block = slot / block_size, offset = slot % block_size;
    store(k + t * width, row.data(), width);
    for (int h = 0; h < num_kv_heads; ++h) {
      const int64_t base = (block * num_kv_heads + h) * part;
      store(v + t * width + h * head_dim, v_cache + base + offset * head_dim, head_dim);
      T* dst = k_cache + base + offset;
      const T* src = row.data() + static_cast<int64_t>(h) * head_dim;
      for (int d = 0; d < head_dim; ++d) dst[static_cast<int64_t>(d) * block_size] = src[d];
    }
  }
}

#define PAGODA_KV_INSTANTIATE(T)                                                                  \
  template void AttendTilePortable<T>(const AttentionTile<T>&);                                   \
  template void PagedAttentionOn<T>(Isa, const float*, const T*, const T*,                        \
                                    const AttentionMetadata&, int, int, int, float, float*,       \
                                    ThreadPool*);                                                 \
  template void WriteKvCacheOn<T>(Isa, const float*, const float*, const int64_t*, int64_t, int, \
                                  int, int, T*, T*);
PAGODA_KV_INSTANTIATE(float)
PAGODA_KV_INSTANTIATE(uint16_t)
#undef PAGODA_KV_INSTANTIATE

}  // namespace pagoda::cpu
