// BlockPool: every KV cache block of the engine, their reference counts, the
// free-block queue, and the prefix-cache map from block key to cached block.
// Owned by the KVCacheManager on the engine thread: not thread-safe, by design.
//
// The free queue is an LRU (as vLLM's FreeKVCacheBlockQueue): allocation takes
// blocks from the head, freed blocks are appended at the tail. A freed block
// that holds a cached key stays in the map, so a later request can still hit
// it (and take it out of the queue again); its key is dropped only when the
// block is evicted, i.e. popped from the head to be reused.
//
// Block 0 is vLLM's null block: taken out of the queue at start and never
// handed out, so block tables can use it as a placeholder (sliding windows,
// padding) and it never holds real K/V. num_blocks therefore gives
// num_blocks - 1 usable blocks, and the first allocation returns block 1.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "kv/block_hash.h"

namespace pagoda {

struct KVCacheBlock {
  int32_t block_id = 0;
  int ref_cnt = 0;
  // Set while the block is full and in the prefix cache.
  std::optional<BlockHash> block_hash;
  bool is_null = false;

  // Links of the intrusive free queue, so removing a block that a cache hit
  // revives is O(1). Null when the block is not in the queue.
  KVCacheBlock* prev_free = nullptr;
  KVCacheBlock* next_free = nullptr;
};

// Doubly linked list of free blocks with sentinels; the head is the next to
// be evicted.
class FreeKVCacheBlockQueue {
 public:
  FreeKVCacheBlockQueue();
  FreeKVCacheBlockQueue(const FreeKVCacheBlockQueue&) = delete;
  FreeKVCacheBlockQueue& operator=(const FreeKVCacheBlockQueue&) = delete;

  KVCacheBlock* PopLeft();
  void Append(KVCacheBlock* block);
  void Remove(KVCacheBlock* block);
  bool Contains(const KVCacheBlock* block) const { return block->next_free != nullptr; }
  int size() const { return size_; }
  // Head (next evicted) to tail.
  std::vector<int32_t> BlockIds() const;

 private:
  KVCacheBlock head_;
  KVCacheBlock tail_;
  int size_ = 0;
};

class BlockPool {
 public:
  BlockPool(int num_blocks, bool enable_caching);
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  // Takes n blocks from the head of the free queue (least recently freed
  // first), evicting any cached key they hold; each gets ref_cnt 1. The
  // caller checks num_free_blocks() first.
  std::vector<KVCacheBlock*> GetNewBlocks(int n);

  // A cached block with this key, or nullptr.
  KVCacheBlock* GetCachedBlock(const BlockHash& hash) const;

  // Takes a reference on each block (prefix-cache hits); a free block leaves
  // the free queue.
  void Touch(std::span<KVCacheBlock* const> blocks);

  // Drops a reference on each block; blocks that reach zero are appended to
  // the free queue tail in the given order (the caller passes a request's
  // blocks last-first, so a sequence's tail is evicted before its head).
  void FreeBlocks(std::span<KVCacheBlock* const> ordered_blocks);

  // Puts blocks[num_cached_blocks, num_full_blocks) in the prefix cache under
  // block_hashes[i]. Blocks that already hold a key (cache hits) are skipped.
  void CacheFullBlocks(std::span<KVCacheBlock* const> blocks, std::span<const BlockHash> block_hashes,
                       int num_cached_blocks, int num_full_blocks);

  // Takes the block out of the prefix cache (its contents are not valid).
  void UncacheBlock(KVCacheBlock* block) { MaybeEvictCachedBlock(block); }

  // Drops every cached key; refused (false) while any block is in use,
  // because in-use blocks would then be cached under stale keys.
  bool ResetPrefixCache();

  int num_blocks() const { return static_cast<int>(blocks_.size()); }
  int num_usable_blocks() const { return num_blocks() - 1; }
  int num_free_blocks() const { return free_queue_.size(); }
  int num_cached_blocks() const;
  // Fraction of usable blocks in use (referenced), in [0, 1].
  double Usage() const;
  bool enable_caching() const { return enable_caching_; }

  KVCacheBlock* null_block() { return &blocks_[0]; }
  const KVCacheBlock& block(int32_t block_id) const { return blocks_.at(block_id); }
  // Free queue, head (next evicted) to tail: for tests and debugging.
  std::vector<int32_t> FreeBlockIds() const { return free_queue_.BlockIds(); }

 private:
  void MaybeEvictCachedBlock(KVCacheBlock* block);

  bool enable_caching_;
  std::vector<KVCacheBlock> blocks_;  // never resized: blocks are pointed to
  FreeKVCacheBlockQueue free_queue_;
  // Several blocks can hold the same key (two requests that computed the same
  // prefix before either was cached); a hit takes the first, deterministically.
  std::unordered_map<BlockHash, std::vector<KVCacheBlock*>, BlockHashHasher> cached_blocks_;
};

}  // namespace pagoda
