#include "kv/kv_cache_manager.h"

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

namespace pagoda {
namespace {

using Ids = std::vector<int32_t>;

// A request as the manager sees it.
struct FakeRequest {
  std::string id;
  std::vector<int32_t> tokens;
  int32_t num_computed_tokens = 0;
  int64_t lora_id = 0;
  std::string cache_salt{};
  bool skip_read = false;

  KVRequestView View() const {
    return {.request_id = id,
            .token_ids = tokens,
            .num_computed_tokens = num_computed_tokens,
            .lora_id = lora_id,
            .cache_salt = cache_salt,
            .skip_prefix_cache_read = skip_read};
  }
};

std::vector<int32_t> Range(int32_t start, int n) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

Ids BlockIdsOf(const KVCacheBlocks& blocks) {
  Ids ids;
  for (const KVCacheBlock* b : blocks) ids.push_back(b->block_id);
  return ids;
}

// Admits a request the way the scheduler does: look up hits, allocate the rest.
Ids Admit(KVCacheManager& m, FakeRequest& r, int num_new_tokens = -1) {
  ComputedBlocks hit = m.GetComputedBlocks(r.View());
  if (num_new_tokens < 0) num_new_tokens = static_cast<int>(r.tokens.size()) - hit.num_computed_tokens;
  auto blocks = m.AllocateSlots(r.View(), num_new_tokens, hit.num_computed_tokens, hit.blocks);
  if (!blocks) return {-1};
  r.num_computed_tokens = hit.num_computed_tokens + num_new_tokens;
  return m.GetBlockIds(r.id);
}

TEST(KVCacheManager, PromptThenDecodeAllocatesBlockByBlock) {
  KVCacheManager m({.num_blocks = 10, .block_size = 4});
  FakeRequest a{.id = "a", .tokens = Range(100, 10)};
  auto blocks = m.AllocateSlots(a.View(), 10);
  ASSERT_TRUE(blocks.has_value());
  EXPECT_EQ(BlockIdsOf(*blocks), (Ids{1, 2, 3}));
  a.num_computed_tokens = 10;
  // Only the two full blocks are cached.
  EXPECT_TRUE(m.block_pool().block(1).block_hash.has_value());
  EXPECT_TRUE(m.block_pool().block(2).block_hash.has_value());
  EXPECT_FALSE(m.block_pool().block(3).block_hash.has_value());

  // Decode: tokens 10 and 11 fit in block 3; when it fills it is cached.
  for (int step = 0; step < 2; ++step) {
    a.tokens.push_back(500 + step);
    blocks = m.AllocateSlots(a.View(), 1);
    ASSERT_TRUE(blocks.has_value());
    EXPECT_TRUE(blocks->empty());
    ++a.num_computed_tokens;
  }
  EXPECT_TRUE(m.block_pool().block(3).block_hash.has_value());
  a.tokens.push_back(502);
  blocks = m.AllocateSlots(a.View(), 1);
  EXPECT_EQ(BlockIdsOf(*blocks), (Ids{4}));
  EXPECT_EQ(m.GetBlockIds("a"), (Ids{1, 2, 3, 4}));
  EXPECT_DOUBLE_EQ(m.Usage(), 4.0 / 9.0);
}

TEST(KVCacheManager, SharedPrefixReusesBlocksButNeverTheWholePrompt) {
  KVCacheManager m({.num_blocks = 10, .block_size = 4});
  FakeRequest a{.id = "a", .tokens = Range(100, 12)};
  EXPECT_EQ(Admit(m, a), (Ids{1, 2, 3}));
  EXPECT_EQ(m.prefix_cache_stats().hits, 0);
  EXPECT_EQ(m.prefix_cache_stats().queries, 12);

  // The same 12 tokens: 3 blocks are cached, but the last token must be
  // computed, so only 2 blocks (8 tokens) hit.
  FakeRequest b{.id = "b", .tokens = a.tokens};
  ComputedBlocks hit = m.GetComputedBlocks(b.View());
  EXPECT_EQ(BlockIdsOf(hit.blocks), (Ids{1, 2}));
  EXPECT_EQ(hit.num_computed_tokens, 8);
  auto blocks = m.AllocateSlots(b.View(), 4, 8, hit.blocks);
  EXPECT_EQ(BlockIdsOf(*blocks), (Ids{4}));
  EXPECT_EQ(m.GetBlockIds("b"), (Ids{1, 2, 4}));
  EXPECT_EQ(m.block_pool().block(1).ref_cnt, 2);
  EXPECT_EQ(m.block_pool().block(2).ref_cnt, 2);

  // One more token: all three blocks hit.
  FakeRequest c{.id = "c", .tokens = Range(100, 13)};
  EXPECT_EQ(Admit(m, c), (Ids{1, 2, 3, 5}));
  EXPECT_EQ(m.block_pool().block(3).ref_cnt, 2);

  const PrefixCacheStats& s = m.prefix_cache_stats();
  EXPECT_EQ(s.requests, 3);
  EXPECT_EQ(s.queries, 12 + 12 + 13);
  EXPECT_EQ(s.hits, 8 + 12);
}

TEST(KVCacheManager, OutOfBlocksIsNulloptAndChangesNothing) {
  KVCacheManager m({.num_blocks = 4, .block_size = 4});  // 3 usable
  FakeRequest a{.id = "a", .tokens = Range(0, 12)};
  EXPECT_EQ(Admit(m, a), (Ids{1, 2, 3}));
  FakeRequest b{.id = "b", .tokens = Range(50, 2)};
  EXPECT_FALSE(m.AllocateSlots(b.View(), 2).has_value());
  EXPECT_TRUE(m.GetBlockIds("b").empty());
  EXPECT_EQ(m.num_free_blocks(), 0);
  m.Free(a.View());
  EXPECT_EQ(m.num_free_blocks(), 3);
  EXPECT_EQ(BlockIdsOf(*m.AllocateSlots(b.View(), 2)), (Ids{3}));
}

TEST(KVCacheManager, HitsOnFreeBlocksDoNotCountAsFreeSpace) {
  KVCacheManager m({.num_blocks = 4, .block_size = 4});  // 3 usable
  FakeRequest a{.id = "a", .tokens = Range(0, 8)};
  EXPECT_EQ(Admit(m, a), (Ids{1, 2}));
  m.Free(a.View());
  EXPECT_EQ(m.block_pool().FreeBlockIds(), (Ids{3, 2, 1}));

  // 13 tokens = 4 blocks: 2 hits (free, so revived) + 2 new > 3 usable.
  FakeRequest b{.id = "b", .tokens = Range(0, 13)};
  EXPECT_EQ(Admit(m, b), (Ids{-1}));
  EXPECT_EQ(m.block_pool().FreeBlockIds(), (Ids{3, 2, 1}));  // untouched

  // 12 tokens = 3 blocks: the hits on 1 and 2 leave block 3 to allocate.
  FakeRequest c{.id = "c", .tokens = Range(0, 12)};
  EXPECT_EQ(Admit(m, c), (Ids{1, 2, 3}));
  EXPECT_EQ(m.num_free_blocks(), 0);
}

TEST(KVCacheManager, FreeingPutsTheTailFirstSoItIsEvictedFirst) {
  KVCacheManager m({.num_blocks = 7, .block_size = 4});  // 6 usable
  FakeRequest a{.id = "a", .tokens = Range(0, 12)};
  EXPECT_EQ(Admit(m, a), (Ids{1, 2, 3}));
  m.Free(a.View());
  EXPECT_EQ(m.block_pool().FreeBlockIds(), (Ids{4, 5, 6, 3, 2, 1}));

  // An unrelated request takes 4 blocks from the head: 4, 5, 6, then a's
  // tail block 3, whose key is dropped.
  FakeRequest d{.id = "d", .tokens = Range(1000, 16)};
  EXPECT_EQ(Admit(m, d), (Ids{4, 5, 6, 3}));
  EXPECT_EQ(m.block_pool().FreeBlockIds(), (Ids{2, 1}));

  // a's prompt plus one token would hit 3 blocks; block 3 is gone, 1 and 2 remain.
  FakeRequest e{.id = "e", .tokens = Range(0, 13)};
  ComputedBlocks hit = m.GetComputedBlocks(e.View());
  EXPECT_EQ(BlockIdsOf(hit.blocks), (Ids{1, 2}));
}

TEST(KVCacheManager, CacheSaltAndLoraIdSeparateTheCache) {
  KVCacheManager m({.num_blocks = 20, .block_size = 4});
  FakeRequest a{.id = "a", .tokens = Range(0, 9), .cache_salt = "tenant-1"};
  EXPECT_EQ(Admit(m, a), (Ids{1, 2, 3}));

  FakeRequest unsalted{.id = "u", .tokens = a.tokens};
  EXPECT_EQ(m.GetComputedBlocks(unsalted.View()).num_computed_tokens, 0);
  FakeRequest other{.id = "o", .tokens = a.tokens, .cache_salt = "tenant-2"};
  EXPECT_EQ(m.GetComputedBlocks(other.View()).num_computed_tokens, 0);
  FakeRequest lora{.id = "l", .tokens = a.tokens, .lora_id = 7, .cache_salt = "tenant-1"};
  EXPECT_EQ(m.GetComputedBlocks(lora.View()).num_computed_tokens, 0);
  FakeRequest same{.id = "s", .tokens = a.tokens, .cache_salt = "tenant-1"};
  EXPECT_EQ(BlockIdsOf(m.GetComputedBlocks(same.View()).blocks), (Ids{1, 2}));
}

TEST(KVCacheManager, DuplicateKeysStayConsistent) {
  KVCacheManager m({.num_blocks = 10, .block_size = 4});
  // a computes its first 2 tokens; b, with the same prompt, misses and
  // computes all 8, caching its blocks first; then a fills its own blocks.
  FakeRequest a{.id = "a", .tokens = Range(0, 8)};
  EXPECT_EQ(Admit(m, a, 2), (Ids{1}));
  FakeRequest b{.id = "b", .tokens = Range(0, 8)};
  EXPECT_EQ(Admit(m, b), (Ids{2, 3}));
  ASSERT_TRUE(m.AllocateSlots(a.View(), 6).has_value());
  a.num_computed_tokens = 8;
  EXPECT_EQ(m.GetBlockIds("a"), (Ids{1, 4}));
  EXPECT_EQ(m.block_pool().num_cached_blocks(), 4);

  m.Free(b.View());
  m.Free(a.View());
  // The first block cached under a key answers hits.
  FakeRequest c{.id = "c", .tokens = Range(0, 9)};
  EXPECT_EQ(BlockIdsOf(m.GetComputedBlocks(c.View()).blocks), (Ids{2, 3}));
  // Evict b's blocks; a's copies still answer.
  FakeRequest filler{.id = "f", .tokens = Range(500, 28)};
  EXPECT_EQ(Admit(m, filler), (Ids{5, 6, 7, 8, 9, 3, 2}));
  EXPECT_EQ(BlockIdsOf(m.GetComputedBlocks(c.View()).blocks), (Ids{1, 4}));
}

TEST(KVCacheManager, PrefixCachingOff) {
  KVCacheManager m({.num_blocks = 10, .block_size = 4, .enable_prefix_caching = false});
  FakeRequest a{.id = "a", .tokens = Range(0, 12)};
  EXPECT_EQ(Admit(m, a), (Ids{1, 2, 3}));
  EXPECT_FALSE(m.block_pool().block(1).block_hash.has_value());
  FakeRequest b{.id = "b", .tokens = Range(0, 12)};
  EXPECT_EQ(Admit(m, b), (Ids{4, 5, 6}));
  EXPECT_EQ(m.prefix_cache_stats().requests, 0);
}

TEST(KVCacheManager, PromptLogprobsRequestsComputeEverythingButStillCache) {
  KVCacheManager m({.num_blocks = 10, .block_size = 4});
  FakeRequest a{.id = "a", .tokens = Range(0, 9)};
  EXPECT_EQ(Admit(m, a), (Ids{1, 2, 3}));
  FakeRequest b{.id = "b", .tokens = Range(0, 9), .skip_read = true};
  EXPECT_EQ(Admit(m, b), (Ids{4, 5, 6}));
  m.Free(a.View());
  m.Free(b.View());
  // a's blocks were cached first and answer for the key.
  FakeRequest c{.id = "c", .tokens = Range(0, 9)};
  EXPECT_EQ(BlockIdsOf(m.GetComputedBlocks(c.View()).blocks), (Ids{1, 2}));
}

TEST(KVCacheManager, PreemptedRequestKeepsItsKeysAndHitsItsOwnBlocks) {
  KVCacheManager m({.num_blocks = 10, .block_size = 4});
  FakeRequest a{.id = "a", .tokens = Range(0, 10)};
  EXPECT_EQ(Admit(m, a), (Ids{1, 2, 3}));
  a.tokens.push_back(77);
  a.tokens.push_back(78);
  ASSERT_TRUE(m.AllocateSlots(a.View(), 1).has_value());  // computes token 10
  a.num_computed_tokens = 11;
  m.Free(a.View());  // preempted
  a.num_computed_tokens = 0;
  // Blocks 1 and 2 were cached; block 3 held only 11 tokens when it was
  // last scheduled, so it was not, and a fresh block comes from the head.
  EXPECT_EQ(m.block_pool().FreeBlockIds(), (Ids{4, 5, 6, 7, 8, 9, 3, 2, 1}));
  EXPECT_EQ(Admit(m, a), (Ids{1, 2, 4}));
  EXPECT_EQ(a.num_computed_tokens, 12);
  m.FreeBlockHashes("a");
}

TEST(KVCacheManager, FreeUncachesBlocksThatWereScheduledButNeverComputed) {
  KVCacheManager m({.num_blocks = 10, .block_size = 4});
  FakeRequest a{.id = "a", .tokens = Range(0, 6)};
  EXPECT_EQ(Admit(m, a), (Ids{1, 2}));
  a.tokens.push_back(50);
  a.tokens.push_back(51);
  // Scheduling tokens 6 and 7 fills block 2, which is cached at once...
  ASSERT_TRUE(m.AllocateSlots(a.View(), 2).has_value());
  EXPECT_TRUE(m.block_pool().block(2).block_hash.has_value());
  // ...but the request is preempted in the same step, before computing them.
  m.Free(a.View());
  EXPECT_TRUE(m.block_pool().block(1).block_hash.has_value());
  EXPECT_FALSE(m.block_pool().block(2).block_hash.has_value());
  FakeRequest b{.id = "b", .tokens = a.tokens};
  b.tokens.push_back(52);
  EXPECT_EQ(BlockIdsOf(m.GetComputedBlocks(b.View()).blocks), (Ids{1}));
}

}  // namespace
}  // namespace pagoda
