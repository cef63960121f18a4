#include "kv/kv_cache_manager.h"

#include <algorithm>

#include "base/check.h"

namespace pagoda {

KVCacheManager::KVCacheManager(KVCacheConfig config)
    : config_(config), block_pool_(config.num_blocks, config.enable_prefix_caching) {
  CHECK_GT(config_.block_size, 0);
}

const std::vector<BlockHash>& KVCacheManager::BlockHashesFor(const KVRequestView& request) {
  auto it = req_to_block_hashes_.find(request.request_id);
  if (it == req_to_block_hashes_.end()) {
    it = req_to_block_hashes_.emplace(std::string(request.request_id), std::vector<BlockHash>()).first;
  }
  ExtendBlockHashes(request.token_ids, config_.block_size,
                    BlockHashExtraKeys{.lora_id = request.lora_id, .cache_salt = request.cache_salt},
                    &it->second);
  return it->second;
}

ComputedBlocks KVCacheManager::GetComputedBlocks(const KVRequestView& request) {
  ComputedBlocks out;
  if (!config_.enable_prefix_caching || request.skip_prefix_cache_read) return out;
  const auto num_tokens = static_cast<int32_t>(request.token_ids.size());
  const std::vector<BlockHash>& hashes = BlockHashesFor(request);
  // num_tokens - 1: a full hit would leave nothing to run the forward on.
  const size_t max_hit_blocks = std::min<size_t>((num_tokens - 1) / config_.block_size, hashes.size());
  for (size_t i = 0; i < max_hit_blocks; ++i) {
    KVCacheBlock* block = block_pool_.GetCachedBlock(hashes[i]);
    if (block == nullptr) break;  // keys chain: a miss ends the prefix
    out.blocks.push_back(block);
  }
  out.num_computed_tokens = static_cast<int32_t>(out.blocks.size()) * config_.block_size;
  ++prefix_cache_stats_.requests;
  prefix_cache_stats_.queries += num_tokens;
  prefix_cache_stats_.hits += out.num_computed_tokens;
  return out;
}

std::optional<KVCacheBlocks> KVCacheManager::AllocateSlots(const KVRequestView& request, int num_new_tokens,
                                                           int num_new_computed_tokens,
                                                           std::span<KVCacheBlock* const> new_computed_blocks,
                                                           int num_lookahead_tokens) {
  CHECK_GT(num_new_tokens, 0) << "request " << request.request_id;
  CHECK_EQ(static_cast<int>(new_computed_blocks.size()) * config_.block_size, num_new_computed_tokens);
  const int bs = config_.block_size;
  const int num_computed_tokens = request.num_computed_tokens + num_new_computed_tokens;
  const int num_tokens_need_slot = num_computed_tokens + num_new_tokens + num_lookahead_tokens;

  auto blocks_it = req_to_blocks_.find(request.request_id);
  const int num_held = blocks_it == req_to_blocks_.end() ? 0 : static_cast<int>(blocks_it->second.size());
  // A running request has its blocks already; only a newly admitted (or
  // resumed) one brings cache hits.
  CHECK(new_computed_blocks.empty() || num_held == 0) << "request " << request.request_id;
  const int num_required = (num_tokens_need_slot + bs - 1) / bs;
  const int num_to_allocate =
      std::max(0, num_required - num_held - static_cast<int>(new_computed_blocks.size()));

  // Hits on free blocks take those blocks out of the free queue, so they do
  // not count as free for the new allocation.
  const auto num_evictable_hits = static_cast<int>(std::count_if(
      new_computed_blocks.begin(), new_computed_blocks.end(),
      [](const KVCacheBlock* b) { return b->ref_cnt == 0 && !b->is_null; }));
  if (num_to_allocate > block_pool_.num_free_blocks() - num_evictable_hits) return std::nullopt;

  if (blocks_it == req_to_blocks_.end()) {
    blocks_it = req_to_blocks_.emplace(std::string(request.request_id), KVCacheBlocks()).first;
    num_cached_blocks_.emplace(std::string(request.request_id), 0);
  }
  KVCacheBlocks& req_blocks = blocks_it->second;
  auto cached_it = num_cached_blocks_.find(request.request_id);
  if (!new_computed_blocks.empty()) {
    CHECK(config_.enable_prefix_caching);
    block_pool_.Touch(new_computed_blocks);
    req_blocks.insert(req_blocks.end(), new_computed_blocks.begin(), new_computed_blocks.end());
    cached_it->second = static_cast<int>(req_blocks.size());
  }
  KVCacheBlocks new_blocks = block_pool_.GetNewBlocks(num_to_allocate);
  req_blocks.insert(req_blocks.end(), new_blocks.begin(), new_blocks.end());

  if (config_.enable_prefix_caching) {
    // Lookahead slots hold drafts that may be rejected: never cache them.
    const int num_tokens_to_cache =
        std::min<int>(num_computed_tokens + num_new_tokens, static_cast<int>(request.token_ids.size()));
    const int num_full_blocks = num_tokens_to_cache / bs;
    if (num_full_blocks > cached_it->second) {
      const std::vector<BlockHash>& hashes = BlockHashesFor(request);
      block_pool_.CacheFullBlocks(req_blocks, hashes, cached_it->second, num_full_blocks);
      cached_it->second = num_full_blocks;
    }
  }
  return new_blocks;
}

void KVCacheManager::Free(const KVRequestView& request) {
  auto it = req_to_blocks_.find(request.request_id);
  if (it == req_to_blocks_.end()) return;
  KVCacheBlocks& blocks = it->second;
  auto cached_it = num_cached_blocks_.find(request.request_id);
  const int num_computed_full = request.num_computed_tokens / config_.block_size;
  for (int i = num_computed_full; i < cached_it->second; ++i) {
    // Only this request can hold such a block: hits cover computed tokens.
    CHECK_EQ(blocks[i]->ref_cnt, 1);
    block_pool_.UncacheBlock(blocks[i]);
  }
  KVCacheBlocks reversed(blocks.rbegin(), blocks.rend());
  block_pool_.FreeBlocks(reversed);
  req_to_blocks_.erase(it);
  num_cached_blocks_.erase(cached_it);
}

void KVCacheManager::FreeBlockHashes(std::string_view request_id) {
  auto it = req_to_block_hashes_.find(request_id);
  if (it != req_to_block_hashes_.end()) req_to_block_hashes_.erase(it);
}

std::vector<int32_t> KVCacheManager::GetBlockIds(std::string_view request_id) const {
  std::vector<int32_t> ids;
  auto it = req_to_blocks_.find(request_id);
  if (it == req_to_blocks_.end()) return ids;
  ids.reserve(it->second.size());
  for (const KVCacheBlock* b : it->second) ids.push_back(b->block_id);
  return ids;
}

}  // namespace pagoda
