#include "kv/block_hash.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

namespace pagoda {
namespace {

// Reference values computed with the xxHash library (libxxhash 0.8).
TEST(XXHash64, MatchesReferenceVectors) {
  EXPECT_EQ(XXHash64("", 0, 0), 0xEF46DB3751D8E999ull);
  EXPECT_EQ(XXHash64("a", 1, 0), 0xD24EC4F1A98C6E5Bull);
  EXPECT_EQ(XXHash64("abc", 3, 0), 0x44BC2CF5AD770999ull);
  const char* text = "Nobody inspects the spammish repetition";  // >= 32 bytes: the stripe loop
  EXPECT_EQ(XXHash64(text, std::strlen(text), 0), 0xFBCEA83C8A378BF1ull);
  std::vector<uint8_t> bytes(100);
  std::iota(bytes.begin(), bytes.end(), 0);
  EXPECT_EQ(XXHash64(bytes.data(), bytes.size(), 0x243F6A8885A308D3ull), 0xCBFA0771632251C8ull);
  std::string xs(37, 'x');
  EXPECT_EQ(XXHash64(xs.data(), xs.size(), 7), 0xF9A5519F283C36CDull);
}

TEST(BlockHash, DependsOnParentTokensAndExtraKeys) {
  const std::vector<int32_t> tokens = {1, 2, 3, 4};
  const BlockHash base = HashBlockTokens(kRootBlockHash, true, tokens, {});
  EXPECT_EQ(base, HashBlockTokens(kRootBlockHash, true, tokens, {}));
  EXPECT_NE(base.hi, base.lo);

  const std::vector<int32_t> swapped = {1, 2, 4, 3};
  EXPECT_NE(base, HashBlockTokens(kRootBlockHash, true, swapped, {}));
  EXPECT_NE(base, HashBlockTokens(base, false, tokens, {}));  // another parent
  EXPECT_NE(base, HashBlockTokens(kRootBlockHash, true, tokens, {.lora_id = 3}));
  EXPECT_NE(base, HashBlockTokens(kRootBlockHash, true, tokens, {.cache_salt = "tenant-a"}));
  EXPECT_NE(HashBlockTokens(kRootBlockHash, true, tokens, {.cache_salt = "tenant-a"}),
            HashBlockTokens(kRootBlockHash, true, tokens, {.cache_salt = "tenant-b"}));
  // An empty salt is no salt.
  EXPECT_EQ(base, HashBlockTokens(kRootBlockHash, true, tokens, {.cache_salt = ""}));
  // The salt enters the first block only; later blocks inherit it through the parent.
  EXPECT_EQ(HashBlockTokens(base, false, tokens, {}),
            HashBlockTokens(base, false, tokens, {.cache_salt = "tenant-a"}));
  // The LoRA id enters every block.
  EXPECT_NE(HashBlockTokens(base, false, tokens, {}), HashBlockTokens(base, false, tokens, {.lora_id = 1}));
}

TEST(BlockHash, ExtendCoversOnlyFullBlocksAndIsIncremental) {
  std::vector<int32_t> tokens(37);
  std::iota(tokens.begin(), tokens.end(), 100);
  const BlockHashExtraKeys extra{.lora_id = 2, .cache_salt = "s"};

  std::vector<BlockHash> all;
  ExtendBlockHashes(tokens, 16, extra, &all);
  ASSERT_EQ(all.size(), 2u);  // 37 tokens: two full blocks of 16
  EXPECT_EQ(all[0], HashBlockTokens(kRootBlockHash, true, std::span(tokens).first(16), extra));
  EXPECT_EQ(all[1], HashBlockTokens(all[0], false, std::span(tokens).subspan(16, 16), extra));

  // Growing token by token gives the same chain.
  std::vector<BlockHash> grown;
  for (size_t n = 1; n <= tokens.size(); ++n) {
    ExtendBlockHashes(std::span(tokens).first(n), 16, extra, &grown);
    EXPECT_EQ(grown.size(), n / 16);
  }
  EXPECT_EQ(grown, all);
}

TEST(BlockHash, SamePrefixSameKeysDifferentSuffixDiverges) {
  std::vector<int32_t> a(48), b(48);
  std::iota(a.begin(), a.end(), 0);
  b = a;
  b[20] = 999;  // inside the second block
  std::vector<BlockHash> ha, hb;
  ExtendBlockHashes(a, 16, {}, &ha);
  ExtendBlockHashes(b, 16, {}, &hb);
  EXPECT_EQ(ha[0], hb[0]);
  EXPECT_NE(ha[1], hb[1]);
  EXPECT_NE(ha[2], hb[2]);  // the chain carries the difference on
}

}  // namespace
}  // namespace pagoda
