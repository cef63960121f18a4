// KvCache: the paged key/value storage of every layer, per layer
//   K: [num_blocks][num_kv_heads][head_dim][block_size] (each kv head's keys
//      of a block transposed, positions fastest),
//   V: [num_blocks][num_kv_heads][block_size][head_dim] (a row per position),
// exactly as kernels/ops.h's WriteKvCache defines them, each
// num_blocks * block_size * num_kv_heads * head_dim elements,
// in float32 or in float16 (IEEE half, stored as uint16_t bits; written
// rounded to nearest-even by WriteKvCache, widened exactly by
// PagedAttention). float16 halves the memory and the bytes attention reads
// per position. Which block belongs to which request is kv/'s bookkeeping;
// this class only holds the memory. Not thread-safe: the forward pass owns
// it while running.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "base/check.h"
#include "tensor/dtype.h"

namespace pagoda {

class KvCache {
 public:
  // dtype: DType::kF32 or DType::kF16 (anything else is a CHECK failure;
  // callers validate user input with IsSupportedDtype first).
  KvCache(int64_t num_layers, int64_t num_blocks, int64_t block_size, int64_t num_kv_heads,
          int64_t head_dim, DType dtype = DType::kF32);
  ~KvCache();
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  DType dtype() const { return dtype_; }
  // The dtype as --kv-cache-dtype names it: "float16" or "float32".
  const char* dtype_name() const { return dtype_ == DType::kF16 ? "float16" : "float32"; }
  // A layer's K or V storage as T = float (kF32) or uint16_t (kF16); asking
  // for the other element type is a CHECK failure.
  template <class T>
  T* k(int64_t layer) {
    CheckElement<T>();
    return static_cast<T*>(k_[static_cast<size_t>(layer)]);
  }
  template <class T>
  T* v(int64_t layer) {
    CheckElement<T>();
    return static_cast<T*>(v_[static_cast<size_t>(layer)]);
  }
  int64_t num_blocks() const { return num_blocks_; }
  int64_t block_size() const { return block_size_; }
  size_t bytes() const;

  static bool IsSupportedDtype(DType dtype) { return dtype == DType::kF32 || dtype == DType::kF16; }
  // Bytes of one cached element: 4 for kF32, 2 for kF16.
  static size_t ElementBytes(DType dtype);
  // Bytes one block costs across all layers (K and V), for sizing the cache.
  static size_t BytesPerBlock(int64_t num_layers, int64_t block_size, int64_t num_kv_heads,
                              int64_t head_dim, DType dtype);

 private:
  template <class T>
  void CheckElement() const {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, uint16_t>);
    CHECK(dtype_ == (std::is_same_v<T, float> ? DType::kF32 : DType::kF16))
        << "KvCache: wrong element type for the cache's dtype";
  }

  int64_t num_blocks_, block_size_;
  DType dtype_;
  size_t per_layer_elements_;
  // calloc'd: large zeroed allocations come from the OS lazily, so blocks
  // never used never become resident.
  std::vector<void*> k_, v_;
};

}  // namespace pagoda
