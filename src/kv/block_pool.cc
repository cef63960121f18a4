#include "kv/block_pool.h"

#include <algorithm>

#include "base/check.h"

namespace pagoda {

FreeKVCacheBlockQueue::FreeKVCacheBlockQueue() {
  head_.block_id = tail_.block_id = -1;
  head_.next_free = &tail_;
  tail_.prev_free = &head_;
}

KVCacheBlock* FreeKVCacheBlockQueue::PopLeft() {
  CHECK_GT(size_, 0) << "no free KV cache blocks";
  KVCacheBlock* block = head_.next_free;
  Remove(block);
  return block;
}

void FreeKVCacheBlockQueue::Append(KVCacheBlock* block) {
  CHECK(!Contains(block)) << "block " << block->block_id << " is already free";
  KVCacheBlock* last = tail_.prev_free;
  last->next_free = block;
  block->prev_free = last;
  block->next_free = &tail_;
  tail_.prev_free = block;
  ++size_;
}

void FreeKVCacheBlockQueue::Remove(KVCacheBlock* block) {
  CHECK(Contains(block)) << "block " << block->block_id << " is not free";
  block->prev_free->next_free = block->next_free;
  block->next_free->prev_free = block->prev_free;
  block->prev_free = block->next_free = nullptr;
  --size_;
}

std::vector<int32_t> FreeKVCacheBlockQueue::BlockIds() const {
  std::vector<int32_t> ids;
  ids.reserve(size_);
  for (const KVCacheBlock* b = head_.next_free; b != &tail_; b = b->next_free) ids.push_back(b->block_id);
  return ids;
}

BlockPool::BlockPool(int num_blocks, bool enable_caching)
    : enable_caching_(enable_caching), blocks_(num_blocks) {
  CHECK_GE(num_blocks, 2) << "need the null block and at least one usable block";
  for (int i = 0; i < num_blocks; ++i) {
    blocks_[i].block_id = i;
    free_queue_.Append(&blocks_[i]);
  }
  KVCacheBlock* null = free_queue_.PopLeft();
  CHECK_EQ(null->block_id, 0);
  null->is_null = true;
}

std::vector<KVCacheBlock*> BlockPool::GetNewBlocks(int n) {
  CHECK_GE(n, 0);
  CHECK_LE(n, num_free_blocks()) << "asked for " << n << " blocks, " << num_free_blocks() << " free";
  std::vector<KVCacheBlock*> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    KVCacheBlock* block = free_queue_.PopLeft();
    if (enable_caching_) MaybeEvictCachedBlock(block);
    CHECK_EQ(block->ref_cnt, 0);
    block->ref_cnt = 1;
    out.push_back(block);
  }
  return out;
}

void BlockPool::MaybeEvictCachedBlock(KVCacheBlock* block) {
  if (!block->block_hash) return;
  auto it = cached_blocks_.find(*block->block_hash);
  CHECK(it != cached_blocks_.end());
  auto& same_key = it->second;
  same_key.erase(std::find(same_key.begin(), same_key.end(), block));
  if (same_key.empty()) cached_blocks_.erase(it);
  block->block_hash.reset();
}

KVCacheBlock* BlockPool::GetCachedBlock(const BlockHash& hash) const {
  auto it = cached_blocks_.find(hash);
  return it == cached_blocks_.end() ? nullptr : it->second.front();
}

void BlockPool::Touch(std::span<KVCacheBlock* const> blocks) {
  for (KVCacheBlock* block : blocks) {
    // A free block with ref_cnt 0 is a cache hit on a block that waited in
    // the LRU: it is in use again, so it must not be evicted.
    if (block->ref_cnt == 0 && !block->is_null) free_queue_.Remove(block);
    ++block->ref_cnt;
  }
}

void BlockPool::FreeBlocks(std::span<KVCacheBlock* const> ordered_blocks) {
  for (KVCacheBlock* block : ordered_blocks) {
    CHECK_GT(block->ref_cnt, 0) << "block " << block->block_id << " freed twice";
    --block->ref_cnt;
    if (block->ref_cnt == 0 && !block->is_null) free_queue_.Append(block);
  }
}

void BlockPool::CacheFullBlocks(std::span<KVCacheBlock* const> blocks,
                                std::span<const BlockHash> block_hashes, int num_cached_blocks,
                                int num_full_blocks) {
  if (!enable_caching_ || num_cached_blocks >= num_full_blocks) return;
  CHECK_LE(static_cast<size_t>(num_full_blocks), blocks.size());
  CHECK_LE(static_cast<size_t>(num_full_blocks), block_hashes.size());
  for (int i = num_cached_blocks; i < num_full_blocks; ++i) {
    KVCacheBlock* block = blocks[i];
    if (block->block_hash) {
      CHECK(*block->block_hash == block_hashes[i]) << "block " << block->block_id << " re-keyed";
      continue;
    }
    block->block_hash = block_hashes[i];
    cached_blocks_[block_hashes[i]].push_back(block);
  }
}

bool BlockPool::ResetPrefixCache() {
  if (num_free_blocks() != num_usable_blocks()) return false;
  for (auto& [hash, same_key] : cached_blocks_) {
    for (KVCacheBlock* block : same_key) block->block_hash.reset();
  }
  cached_blocks_.clear();
  return true;
}

int BlockPool::num_cached_blocks() const {
  int n = 0;
  for (const auto& [hash, same_key] : cached_blocks_) n += static_cast<int>(same_key.size());
  return n;
}

double BlockPool::Usage() const {
  return 1.0 - static_cast<double>(num_free_blocks()) / num_usable_blocks();
}

}  // namespace pagoda
