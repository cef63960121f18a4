#include "model/kv_cache.h"

#include <cstdlib>

namespace pagoda {

KvCache::KvCache(int64_t num_layers, int64_t num_blocks, int64_t block_size, int64_t num_kv_heads,
                 int64_t head_dim, DType dtype)
    : num_blocks_(num_blocks),
      block_size_(block_size),
      dtype_(dtype),
      per_layer_elements_(static_cast<size_t>(num_blocks * block_size * num_kv_heads * head_dim)) {
  CHECK(IsSupportedDtype(dtype)) << "KvCache: unsupported dtype " << DTypeName(dtype);
  const size_t elem = ElementBytes(dtype);
  for (int64_t l = 0; l < num_layers; ++l) {
    k_.push_back(std::calloc(per_layer_elements_, elem));
    v_.push_back(std::calloc(per_layer_elements_, elem));
    CHECK(k_.back() != nullptr && v_.back() != nullptr) << "out of memory for the KV cache";
  }
}

KvCache::~KvCache() {
  for (void* p : k_) std::free(p);
  for (void* p : v_) std::free(p);
}

size_t KvCache::ElementBytes(DType dtype) { return dtype == DType::kF16 ? 2 : 4; }

size_t KvCache::bytes() const { return 2 * k_.size() * per_layer_elements_ * ElementBytes(dtype_); }

size_t KvCache::BytesPerBlock(int64_t num_layers, int64_t block_size, int64_t num_kv_heads,
                              int64_t head_dim, DType dtype) {
  return static_cast<size_t>(2 * num_layers * block_size * num_kv_heads * head_dim) *
         ElementBytes(dtype);
}

}  // namespace pagoda
