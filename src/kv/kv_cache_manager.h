// KVCacheManager: hands out KV cache blocks to requests and finds prefix-cache
// hits, as vLLM V1's KVCacheManager does for one full-attention group.
// Owned by the Scheduler on the engine thread: not thread-safe, by design.
//
// kv/ sits below sched/, so it never sees a sched::Request: callers describe
// the request with a KVRequestView, valid for one call. The manager keeps, per
// live request, its block table and the prefix-cache keys of its full blocks
// (hashed once, extended as the request grows).
//
// Only full blocks are cached. A block is cached as soon as it is scheduled to
// be filled (vLLM does the same), so a request admitted later in the same step
// can share it; see sched/scheduler_output.h for what that asks of the runner.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kv/block_hash.h"
#include "kv/block_pool.h"

namespace pagoda {

struct KVCacheConfig {
  int num_blocks = 0;  // including the reserved null block 0
  int block_size = 16;
  bool enable_prefix_caching = true;
};

// What the manager needs to know about a request.
struct KVRequestView {
  std::string_view request_id{};
  std::span<const int32_t> token_ids{};  // all tokens: prompt, then output
  int32_t num_computed_tokens = 0;
  int64_t lora_id = 0;
  std::string_view cache_salt{};
  // Cached positions produce no logits, so a request that wants
  // prompt_logprobs computes its whole prompt instead of reading the cache
  // (its full blocks are still cached for others).
  bool skip_prefix_cache_read = false;
};

using KVCacheBlocks = std::vector<KVCacheBlock*>;

struct ComputedBlocks {
  KVCacheBlocks blocks;             // cache hits, in block-table order
  int32_t num_computed_tokens = 0;  // blocks.size() * block_size
};

// Cumulative prefix-cache counters (as vLLM's PrefixCacheStats).
struct PrefixCacheStats {
  int64_t requests = 0;  // lookups
  int64_t queries = 0;   // tokens looked up
  int64_t hits = 0;      // tokens found
  double HitRate() const { return queries == 0 ? 0.0 : static_cast<double>(hits) / queries; }
};

class KVCacheManager {
 public:
  explicit KVCacheManager(KVCacheConfig config);
  KVCacheManager(const KVCacheManager&) = delete;
  KVCacheManager& operator=(const KVCacheManager&) = delete;

  // The longest run of cached full blocks that prefixes the request. Never
  // the whole request: at least one token is left to compute, because the
  // last position's forward is what produces the next token's logits. Called
  // for requests with no computed tokens (new or preempted); takes no
  // references (AllocateSlots does).
  ComputedBlocks GetComputedBlocks(const KVRequestView& request);

  // Makes room for num_new_tokens more tokens after the request's
  // num_computed_tokens + num_new_computed_tokens (the prefix-cache hit in
  // new_computed_blocks, from GetComputedBlocks, taken over here), plus
  // num_lookahead_tokens (speculative drafts). Caches the blocks this step
  // fills. Returns the newly allocated blocks, or nullopt — not an error —
  // when too few blocks are free; then nothing has changed.
  std::optional<KVCacheBlocks> AllocateSlots(const KVRequestView& request, int num_new_tokens,
                                             int num_new_computed_tokens = 0,
                                             std::span<KVCacheBlock* const> new_computed_blocks = {},
                                             int num_lookahead_tokens = 0);

  // Returns the request's blocks to the pool (last block first, so the tail
  // of its sequence is evicted before its shareable head). Keeps its
  // prefix-cache keys: a preempted request resumes with the same keys.
  // Blocks it cached beyond request.num_computed_tokens leave the cache:
  // they were cached when scheduled, and a request preempted in the step
  // that scheduled them never computes them.
  void Free(const KVRequestView& request);
  // Forgets the request's prefix-cache keys (it finished).
  void FreeBlockHashes(std::string_view request_id);

  // The request's block table, in order (empty for an unknown request).
  std::vector<int32_t> GetBlockIds(std::string_view request_id) const;

  // Fraction of usable blocks in use.
  double Usage() const { return block_pool_.Usage(); }
  const PrefixCacheStats& prefix_cache_stats() const { return prefix_cache_stats_; }
  // Drops all cached keys; false while any request holds blocks.
  bool ResetPrefixCache() { return block_pool_.ResetPrefixCache(); }

  int block_size() const { return config_.block_size; }
  int num_free_blocks() const { return block_pool_.num_free_blocks(); }
  bool enable_prefix_caching() const { return config_.enable_prefix_caching; }
  const BlockPool& block_pool() const { return block_pool_; }

 private:
  // Heterogeneous lookup: callers hold string_views, the maps own strings.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  // The request's keys, extended to cover all its current full blocks.
  const std::vector<BlockHash>& BlockHashesFor(const KVRequestView& request);

  KVCacheConfig config_;
  BlockPool block_pool_;
  StringMap<KVCacheBlocks> req_to_blocks_;
  // How many leading blocks of each request are already in the prefix cache.
  StringMap<int> num_cached_blocks_;
  StringMap<std::vector<BlockHash>> req_to_block_hashes_;
  PrefixCacheStats prefix_cache_stats_;
};

}  // namespace pagoda
