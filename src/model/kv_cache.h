// KvCache: the paged key/value storage of every layer, float32, laid out
// [num_blocks, block_size, num_kv_heads, head_dim] per layer for K and for V.
// Which block belongs to which request is kv/'s bookkeeping; this class only
// holds the memory. Not thread-safe: the forward pass owns it while running.
#pragma once

#include <cstdint>
#include <cstddef>
#include <vector>

namespace pagoda {

class KvCache {
 public:
  KvCache(int64_t num_layers, int64_t num_blocks, int64_t block_size, int64_t num_kv_heads,
          int64_t head_dim);
  ~KvCache();
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;
  float* k(int64_t layer) { return k_[static_cast<size_t>(layer)]; }
  float* v(int64_t layer) { return v_[static_cast<size_t>(layer)]; }
  int64_t num_blocks() const { return num_blocks_; }
  int64_t block_size() const { return block_size_; }
  size_t bytes() const;
  // Bytes one block costs across all layers (K and V), for sizing the cache.
  static size_t BytesPerBlock(int64_t num_layers, int64_t block_size, int64_t num_kv_heads,
                              int64_t head_dim);

 private:
  int64_t num_blocks_, block_size_;
  size_t per_layer_floats_;
  // calloc'd: large zeroed allocations come from the OS lazily, so blocks
  // never used never become resident.
  std::vector<float*> k_, v_;
};

}  // namespace pagoda
