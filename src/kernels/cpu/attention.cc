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
      const T* k = t.K(p);
      float acc = 0.0f;
      for (int d = 0; d < hd; ++d) acc = std::fma(q[d], KvToFloat(k[d]), acc);
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
  const bool avx2 = isa == Isa::kAvx2 && head_dim % 8 == 0 && head_dim <= 512;

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
      tile.kv_width = kv_width;
      tile.head_off = static_cast<int64_t>(ts.kv_head) * head_dim;
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
                    int64_t num_tokens, int num_kv_heads, int head_dim, T* k_cache, T* v_cache) {
  const int64_t width = static_cast<int64_t>(num_kv_heads) * head_dim;
  auto store = [&](const float* src, T* dst) {
    if constexpr (std::is_same_v<T, float>) {
      std::memcpy(dst, src, static_cast<size_t>(width) * sizeof(float));
    } else if (isa == Isa::kAvx2) {
      avx2::RoundToFp16(src, dst, width);
    } else {
      for (int64_t i = 0; i < width; ++i) dst[i] = F32ToFp16(src[i]);
    }
  };
  for (int64_t t = 0; t < num_tokens; ++t) {
    const int64_t slot = slot_mapping[t];
    if (slot < 0) continue;  // padding token: nothing to store
    store(k + t * width, k_cache + slot * width);
    store(v + t * width, v_cache + slot * width);
  }
}

#define PAGODA_KV_INSTANTIATE(T)                                                                  \
  template void AttendTilePortable<T>(const AttentionTile<T>&);                                   \
  template void PagedAttentionOn<T>(Isa, const float*, const T*, const T*,                        \
                                    const AttentionMetadata&, int, int, int, float, float*,       \
                                    ThreadPool*);                                                 \
  template void WriteKvCacheOn<T>(Isa, const float*, const float*, const int64_t*, int64_t, int, \
                                  int, T*, T*);
PAGODA_KV_INSTANTIATE(float)
PAGODA_KV_INSTANTIATE(uint16_t)
#undef PAGODA_KV_INSTANTIATE

}  // namespace pagoda::cpu
