#include "model/kv_cache.h"

#include <cstdlib>

#include "base/check.h"

namespace pagoda {

KvCache::KvCache(int64_t num_layers, int64_t num_blocks, int64_t block_size, int64_t num_kv_heads,
                 int64_t head_dim)
    : num_blocks_(num_blocks),
      block_size_(block_size),
      per_layer_floats_(static_cast<size_t>(num_blocks * block_size * num_kv_heads * head_dim)) {
  for (int64_t l = 0; l < num_layers; ++l) {
    k_.push_back(static_cast<float*>(std::calloc(per_layer_floats_, sizeof(float))));
    v_.push_back(static_cast<float*>(std::calloc(per_layer_floats_, sizeof(float))));
    CHECK(k_.back() != nullptr && v_.back() != nullptr) << "out of memory for the KV cache";
  }
}

KvCache::~KvCache() {
  for (float* p : k_) std::free(p);
  for (float* p : v_) std::free(p);
}

size_t KvCache::bytes() const { return 2 * k_.size() * per_layer_floats_ * sizeof(float); }

size_t KvCache::BytesPerBlock(int64_t num_layers, int64_t block_size, int64_t num_kv_heads,
                              int64_t head_dim) {
  return static_cast<size_t>(2 * num_layers * block_size * num_kv_heads * head_dim) * sizeof(float);
}

}  // namespace pagoda
