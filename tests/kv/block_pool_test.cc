#include "kv/block_pool.h"

#include <gtest/gtest.h>

#include <vector>

namespace pagoda {
namespace {

std::vector<int32_t> Ids(const std::vector<KVCacheBlock*>& blocks) {
  std::vector<int32_t> ids;
  for (const KVCacheBlock* b : blocks) ids.push_back(b->block_id);
  return ids;
}

BlockHash Key(uint64_t n) { return BlockHash{n, n * 7 + 1}; }

TEST(BlockPool, BlockZeroIsTheReservedNullBlock) {
  BlockPool pool(5, true);
  EXPECT_EQ(pool.num_free_blocks(), 4);
  EXPECT_TRUE(pool.block(0).is_null);
  EXPECT_EQ(pool.FreeBlockIds(), (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(Ids(pool.GetNewBlocks(4)), (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(pool.num_free_blocks(), 0);
  EXPECT_DOUBLE_EQ(pool.Usage(), 1.0);
}

TEST(BlockPool, FreedBlocksGoToTheTailAndAllocationTakesTheHead) {
  BlockPool pool(6, true);
  std::vector<KVCacheBlock*> a = pool.GetNewBlocks(3);  // 1 2 3
  EXPECT_EQ(pool.FreeBlockIds(), (std::vector<int32_t>{4, 5}));
  EXPECT_DOUBLE_EQ(pool.Usage(), 0.6);
  std::vector<KVCacheBlock*> rev = {a[2], a[1], a[0]};
  pool.FreeBlocks(rev);
  EXPECT_EQ(pool.FreeBlockIds(), (std::vector<int32_t>{4, 5, 3, 2, 1}));
  EXPECT_EQ(Ids(pool.GetNewBlocks(3)), (std::vector<int32_t>{4, 5, 3}));
}

TEST(BlockPool, SharedBlockIsFreedWhenTheLastReferenceGoes) {
  BlockPool pool(4, true);
  std::vector<KVCacheBlock*> a = pool.GetNewBlocks(1);
  pool.Touch(a);
  EXPECT_EQ(a[0]->ref_cnt, 2);
  pool.FreeBlocks(a);
  EXPECT_EQ(pool.num_free_blocks(), 2);
  pool.FreeBlocks(a);
  EXPECT_EQ(pool.num_free_blocks(), 3);
  EXPECT_EQ(pool.FreeBlockIds(), (std::vector<int32_t>{2, 3, 1}));
}

TEST(BlockPool, CachedFreeBlockStaysFindableUntilEvicted) {
  BlockPool pool(4, true);  // usable: 1 2 3
  std::vector<KVCacheBlock*> a = pool.GetNewBlocks(2);
  const std::vector<BlockHash> keys = {Key(1), Key(2)};
  pool.CacheFullBlocks(a, keys, 0, 2);
  EXPECT_EQ(pool.num_cached_blocks(), 2);
  std::vector<KVCacheBlock*> rev = {a[1], a[0]};
  pool.FreeBlocks(rev);
  EXPECT_EQ(pool.FreeBlockIds(), (std::vector<int32_t>{3, 2, 1}));
  ASSERT_NE(pool.GetCachedBlock(Key(1)), nullptr);
  EXPECT_EQ(pool.GetCachedBlock(Key(1))->block_id, 1);

  // A hit revives a free block: it leaves the free queue.
  std::vector<KVCacheBlock*> hit = {pool.GetCachedBlock(Key(1))};
  pool.Touch(hit);
  EXPECT_EQ(pool.FreeBlockIds(), (std::vector<int32_t>{3, 2}));
  pool.FreeBlocks(hit);
  EXPECT_EQ(pool.FreeBlockIds(), (std::vector<int32_t>{3, 2, 1}));

  // Allocation evicts from the head: 3 (never cached), then 2, whose key goes.
  EXPECT_EQ(Ids(pool.GetNewBlocks(2)), (std::vector<int32_t>{3, 2}));
  EXPECT_EQ(pool.GetCachedBlock(Key(2)), nullptr);
  EXPECT_FALSE(pool.block(2).block_hash.has_value());
  EXPECT_NE(pool.GetCachedBlock(Key(1)), nullptr);
  EXPECT_EQ(pool.num_cached_blocks(), 1);
}

TEST(BlockPool, WithoutCachingNothingIsCached) {
  BlockPool pool(3, false);
  std::vector<KVCacheBlock*> a = pool.GetNewBlocks(1);
  const std::vector<BlockHash> keys = {Key(1)};
  pool.CacheFullBlocks(a, keys, 0, 1);
  EXPECT_EQ(pool.GetCachedBlock(Key(1)), nullptr);
}

TEST(BlockPool, ResetPrefixCacheOnlyWhenIdle) {
  BlockPool pool(3, true);
  std::vector<KVCacheBlock*> a = pool.GetNewBlocks(1);
  const std::vector<BlockHash> keys = {Key(9)};
  pool.CacheFullBlocks(a, keys, 0, 1);
  EXPECT_FALSE(pool.ResetPrefixCache());
  pool.FreeBlocks(a);
  EXPECT_TRUE(pool.ResetPrefixCache());
  EXPECT_EQ(pool.GetCachedBlock(Key(9)), nullptr);
  EXPECT_FALSE(pool.block(1).block_hash.has_value());
}

}  // namespace
}  // namespace pagoda
