// GrammarMatcher behaviour: rollback (speculative decoding), stop and
// special tokens, jump-forward strings, MinBytesToEnd, use from another
// thread; GrammarCompiler's cache; TokenizerInfo's token bytes.

#include <gtest/gtest.h>

#include <future>
#include <random>
#include <thread>

#include "formats/gguf.h"
#include "guided/random_walk.h"
#include "guided/test_util.h"

namespace pagoda {
namespace {

using guided_test::BitSet;
using guided_test::ByteVocab;
using guided_test::MustCompile;
using guided_test::SharedTokenizerInfo;

const char* kSchema = R"({"type":"object","properties":{"name":{"type":"string","maxLength":6},
  "n":{"type":"integer","minimum":0,"maximum":99},"ok":{"type":"boolean"}},"required":["name","n"]})";

std::vector<uint32_t> Mask(GrammarMatcher& m) {
  std::vector<uint32_t> mask(m.BitmaskWords());
  m.FillNextTokenBitmask(mask.data());
  return mask;
}

// Rollback restores exactly the earlier states: masks recorded going
// forward match those seen going back, and a different continuation works.
void CheckRollback(const std::shared_ptr<const CompiledGrammar>& g, uint64_t seed) {
  const RandomWalkResult walk = RandomWalk(g, {.seed = seed, .free_steps = 30, .time_masks = false});
  ASSERT_TRUE(walk.terminated) << walk.error;
  GrammarMatcher m(g);
  std::vector<std::vector<uint32_t>> masks = {Mask(m)};
  for (int32_t id : walk.tokens) {
    ASSERT_TRUE(m.AcceptToken(id));
    masks.push_back(Mask(m));
  }
  EXPECT_TRUE(m.IsTerminated());
  EXPECT_FALSE(m.AcceptToken(walk.tokens.front())) << "nothing after the stop token";
  std::mt19937_64 rng(seed);
  size_t pos = walk.tokens.size();
  while (pos > 0) {
    const size_t back = std::min<size_t>(pos, 1 + rng() % 4);  // like rejected draft tokens
    m.Rollback(static_cast<int32_t>(back));
    pos -= back;
    EXPECT_EQ(m.num_steps(), static_cast<int32_t>(pos));
    EXPECT_EQ(Mask(m), masks[pos]) << "after rolling back to step " << pos;
    EXPECT_FALSE(m.IsTerminated());
    // Re-accept the same token and roll it back again: state unchanged.
    if (pos < walk.tokens.size()) {
      ASSERT_TRUE(m.AcceptToken(walk.tokens[pos]));
      EXPECT_EQ(Mask(m), masks[pos + 1]);
      m.Rollback(1);
    }
  }
  m.Reset();
  EXPECT_EQ(Mask(m), masks[0]);
}

TEST(Matcher, RollbackSmallVocabulary) {
  GrammarCompiler compiler(ByteVocab({"\":", "\",", "12", "true", "{\""}));
  auto g = MustCompile(compiler, Constraint::JsonSchema(kSchema));
  for (uint64_t seed = 1; seed <= 20; ++seed) CheckRollback(g, seed);
}

TEST(Matcher, RollbackLlama3) {
  auto info = SharedTokenizerInfo("tokenizers/llama3/tokenizer.json");
  if (!info) GTEST_SKIP() << "needs " << testing::SharedModelPath("tokenizers/llama3/tokenizer.json");
  GrammarCompiler compiler(info);
  for (const Constraint& c : {Constraint::JsonSchema(kSchema), Constraint::JsonObject(),
                              Constraint::Gbnf("root ::= (\"(\" root \")\")* \"x\"\n")}) {
    auto g = MustCompile(compiler, c);
    for (uint64_t seed = 1; seed <= 4; ++seed) CheckRollback(g, seed);
  }
}

TEST(Matcher, StopAndSpecialTokens) {
  // Token 256 "ab", 257 special, 258 stop.
  auto info = TokenizerInfo::FromTokenBytes([] {
    std::vector<std::string> b;
    for (int i = 0; i < 256; ++i) b.push_back(std::string(1, static_cast<char>(i)));
    b.push_back("ab");
    b.push_back("<special>");
    b.push_back("</s>");
    return b;
  }(), {257}, {258}, /*mask_vocab_size=*/300);
  ASSERT_TRUE(info.ok());
  GrammarCompiler compiler(*info);
  auto g = MustCompile(compiler, Constraint::Regex("(ab)+"));
  GrammarMatcher m(g);
  EXPECT_EQ(m.BitmaskWords(), 10);  // 300 ids, padded model vocabulary
  auto mask = Mask(m);
  EXPECT_TRUE(BitSet(mask, 'a'));
  EXPECT_TRUE(BitSet(mask, 256));
  EXPECT_FALSE(BitSet(mask, 257));
  EXPECT_FALSE(BitSet(mask, 258)) << "stop only where the grammar can end";
  EXPECT_FALSE(BitSet(mask, 299)) << "padding ids are never allowed";
  EXPECT_FALSE(m.AcceptToken(258));
  EXPECT_FALSE(m.AcceptToken(257));
  EXPECT_FALSE(m.AcceptToken(299));
  EXPECT_FALSE(m.AcceptToken(-1));
  EXPECT_TRUE(m.AcceptToken(256));
  EXPECT_TRUE(m.CanTerminate());
  mask = Mask(m);
  EXPECT_TRUE(BitSet(mask, 258));
  EXPECT_TRUE(BitSet(mask, 256));
  EXPECT_TRUE(m.AcceptToken(258));
  EXPECT_TRUE(m.IsTerminated());
  mask = Mask(m);
  EXPECT_TRUE(BitSet(mask, 258));
  EXPECT_FALSE(BitSet(mask, 256));
  m.Rollback(1);
  EXPECT_FALSE(m.IsTerminated());
  EXPECT_TRUE(m.AcceptToken('a'));
  EXPECT_FALSE(m.CanTerminate());
  EXPECT_EQ(m.MinBytesToEnd(), 1);
}

TEST(Matcher, JumpForward) {
  GrammarCompiler compiler(ByteVocab());
  auto choice = MustCompile(compiler, Constraint::Choice({"New York", "New Delhi"}));
  GrammarMatcher m(choice);
  EXPECT_EQ(m.FindJumpForwardString(), "New ");
  ASSERT_TRUE(m.AcceptString("New "));
  EXPECT_EQ(m.FindJumpForwardString(), "");  // Y or D
  ASSERT_TRUE(m.AcceptString("D"));
  EXPECT_EQ(m.FindJumpForwardString(), "elhi");
  ASSERT_TRUE(m.AcceptString("elhi"));
  EXPECT_TRUE(m.CanTerminate());
  EXPECT_EQ(m.FindJumpForwardString(), "");

  // A forced JSON document; the jump ends where the output may end.
  auto constant = MustCompile(compiler, Constraint::JsonSchema(R"({"const":{"a":[1,"x"]}})"));
  GrammarMatcher c(constant);
  EXPECT_EQ(c.FindJumpForwardString(), R"({"a":[1,"x"]})");

  // Required keys are forced after the separator choice is made.
  auto obj = MustCompile(compiler, Constraint::JsonSchema(R"({"type":"object","properties":{"key":{"type":"integer"}},
      "required":["key"]})"));
  GrammarMatcher o(obj);
  EXPECT_EQ(o.FindJumpForwardString(), "{");
  ASSERT_TRUE(o.AcceptString("{"));
  EXPECT_EQ(o.FindJumpForwardString(), "");  // whitespace or the key
  ASSERT_TRUE(o.AcceptString("\""));
  EXPECT_EQ(o.FindJumpForwardString(), "key\":");

  // Only whole UTF-8 characters: é and è share their first byte.
  auto accents = MustCompile(compiler, Constraint::Choice({"x\xC3\xA9", "x\xC3\xA8"}));
  GrammarMatcher a(accents);
  EXPECT_EQ(a.FindJumpForwardString(), "x");
}

TEST(Matcher, ForcedTokensAndDraftPrefixes) {
  // Vocabulary: bytes, then "ab" (256), "abc" (257), stop (last).
  auto info = ByteVocab({"ab", "abc"});
  GrammarCompiler compiler(info);
  auto g = MustCompile(compiler, Constraint::Regex("xyz(ab|q)"));
  GrammarMatcher m(g);
  const std::vector<int32_t> forced = m.FindForcedTokens(10);
  EXPECT_EQ(forced, (std::vector<int32_t>{'x', 'y', 'z'}));  // then 'a', "ab" or 'q'
  EXPECT_EQ(m.num_steps(), 0) << "the matcher is left unchanged";
  const std::vector<int32_t> draft = {'x', 'y', 'z', 257, 'q'};
  EXPECT_EQ(m.AcceptTokens(draft), 3) << "\"abc\" is not allowed after xyz";
  EXPECT_EQ(m.FindForcedTokens(10), std::vector<int32_t>{}) << "'a', \"ab\" and 'q' all allowed";
  ASSERT_TRUE(m.AcceptToken('a'));
  EXPECT_EQ(m.FindForcedTokens(10), (std::vector<int32_t>{'b', info->vocab_size() - 1}));
}

TEST(Matcher, MaskOnAnotherThread) {
  auto info = SharedTokenizerInfo("tokenizers/llama3/tokenizer.json");
  if (!info) GTEST_SKIP() << "needs " << testing::SharedModelPath("tokenizers/llama3/tokenizer.json");
  GrammarCompiler compiler(info);
  auto g = MustCompile(compiler, Constraint::JsonSchema(kSchema));
  const RandomWalkResult walk = RandomWalk(g, {.seed = 3, .free_steps = 20, .time_masks = false});
  ASSERT_TRUE(walk.terminated);
  // Reference: everything on this thread.
  GrammarMatcher ref(g);
  std::vector<std::vector<uint32_t>> expected;
  for (int32_t id : walk.tokens) {
    expected.push_back(Mask(ref));
    ASSERT_TRUE(ref.AcceptToken(id));
  }
  // The engine pattern: the mask is computed on a worker while the "forward
  // pass" runs, then the sampled token is accepted on the engine thread.
  // Several requests (matchers of one grammar) run their masks at once.
  constexpr int kRequests = 4;
  std::vector<std::unique_ptr<GrammarMatcher>> ms;
  for (int r = 0; r < kRequests; ++r) ms.push_back(std::make_unique<GrammarMatcher>(g));
  std::vector<std::vector<uint32_t>> masks(kRequests, std::vector<uint32_t>(info->bitmask_words()));
  for (size_t step = 0; step < walk.tokens.size(); ++step) {
    std::vector<std::future<void>> jobs;
    for (int r = 0; r < kRequests; ++r) {
      jobs.push_back(std::async(std::launch::async, [&, r] { ms[r]->FillNextTokenBitmask(masks[r].data()); }));
    }
    for (auto& j : jobs) j.get();
    for (int r = 0; r < kRequests; ++r) {
      ASSERT_EQ(masks[r], expected[step]) << "request " << r << " step " << step;
      ASSERT_TRUE(ms[r]->AcceptToken(walk.tokens[step]));
    }
  }
}

TEST(Compiler, CachesEachConstraintOnce) {
  GrammarCompiler compiler(ByteVocab(), {.max_cached = 3, .limits = {}, .num_threads = 1});
  auto a1 = MustCompile(compiler, Constraint::Regex("a+"));
  auto a2 = MustCompile(compiler, Constraint::Regex("a+"));
  EXPECT_EQ(a1.get(), a2.get());
  auto s1 = MustCompile(compiler, Constraint::JsonSchema(kSchema));
  auto s2 = MustCompile(compiler, Constraint::JsonSchema(kSchema, {.any_whitespace = true}));
  EXPECT_NE(s1.get(), s2.get()) << "options are part of the key";
  EXPECT_EQ(compiler.cache_size(), 3u);
  // Choices are keyed by their list, not a joined string.
  auto c1 = MustCompile(compiler, Constraint::Choice({"a,b"}));
  auto c2 = MustCompile(compiler, Constraint::Choice({"a", "b"}));
  EXPECT_NE(c1.get(), c2.get());
  EXPECT_EQ(compiler.cache_size(), 3u) << "least recently used entries are evicted";
  EXPECT_EQ(MustCompile(compiler, Constraint::Choice({"a", "b"})).get(), c2.get());
  compiler.ClearCache();
  EXPECT_EQ(compiler.cache_size(), 0u);
}

TEST(Compiler, ConcurrentRequestsCompileOnce) {
  GrammarCompiler compiler(ByteVocab());
  std::vector<std::future<std::shared_ptr<const CompiledGrammar>>> fs;
  for (int i = 0; i < 8; ++i) {
    fs.push_back(std::async(std::launch::async, [&] { return *compiler.Compile(Constraint::JsonSchema(kSchema)); }));
  }
  const CompiledGrammar* first = nullptr;
  for (auto& f : fs) {
    auto g = f.get();
    if (!first) first = g.get();
    EXPECT_EQ(g.get(), first);
  }
  EXPECT_EQ(compiler.cache_size(), 1u);
}

TEST(TokenizerInfoTest, ByteLevelTokensConcatenateToTheText) {
  const std::string rel = "tokenizers/llama3/tokenizer.json";
  auto info = SharedTokenizerInfo(rel);
  if (!info) GTEST_SKIP() << "needs " << testing::SharedModelPath(rel);
  auto tok = Tokenizer::FromHf(testing::SharedModelPath(rel));
  ASSERT_TRUE(tok.ok());
  for (const std::string text : {"Hello world", "{\"a\": [1, 2]}\n", "naïve 日本語 🦙", "  spaces\t"}) {
    std::string joined;
    for (int32_t id : (*tok)->Encode(text, false)) joined += info->TokenBytes(id);
    EXPECT_EQ(joined, text);
  }
  EXPECT_TRUE(info->IsStop((*tok)->eos_id()));
  EXPECT_EQ(info->TokenBytes((*tok)->eos_id()), "");
  EXPECT_GT(info->num_sorted(), 120000);
}

TEST(TokenizerInfoTest, SentencePieceKeepsTheLeadingSpace) {
  const std::string rel = "vocab-tests/ggml-vocab-llama-spm.gguf";
  if (!testing::HaveSharedModel(rel)) GTEST_SKIP() << "needs " << testing::SharedModelPath(rel);
  auto gguf = GgufFile::Open(testing::SharedModelPath(rel));
  ASSERT_TRUE(gguf.ok());
  auto tok = Tokenizer::FromGguf(**gguf);
  ASSERT_TRUE(tok.ok());
  auto info = TokenizerInfo::Create(**tok);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  for (const std::string text : {"Hello world", "a\nb", "日本"}) {
    std::string joined;
    for (int32_t id : (*tok)->Encode(text, false)) joined += (*info)->TokenBytes(id);
    // SentencePiece adds a dummy-prefix space that decoding later drops.
    EXPECT_EQ(joined, " " + text);
  }
  // Byte-fallback tokens are single raw bytes.
  GrammarCompiler compiler(*info);
  auto g = MustCompile(compiler, Constraint::Regex("\xE2\x82\xAC"));
  GrammarMatcher m(g);
  auto mask = Mask(m);
  int allowed = 0;
  for (int32_t id = 0; id < (*info)->vocab_size(); ++id) allowed += BitSet(mask, id);
  EXPECT_GE(allowed, 2);  // "€" itself and the byte token <0xE2>
}

}  // namespace
}  // namespace pagoda
