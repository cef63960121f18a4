// Unit tests of the tokenizer's parts: NFC, the byte-level alphabet,
// pre-tokenizer split behaviours, special-token matching, BPE merging.

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tokenizer/bpe_model.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/spm_model.h"
#include "tokenizer/vocab.h"

namespace pagoda {
namespace {

TEST(NfcTest, ComposesDecomposesAndOrders) {
  EXPECT_EQ(NfcNormalize("plain ascii"), "plain ascii");
  EXPECT_EQ(NfcNormalize("e\xcc\x81"), "\xc3\xa9");                      // e + U+0301 -> é
  EXPECT_EQ(NfcNormalize("A\xcc\x8a"), "\xc3\x85");                      // A + ring -> Å
  EXPECT_EQ(NfcNormalize("\xe2\x84\xab"), "\xc3\x85");                   // Angstrom sign -> Å
  EXPECT_EQ(NfcNormalize("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8"), "각");  // Hangul jamo L V T
  // d + dot above + dot below: reordered (below first), then composed to ḍ + dot above.
  EXPECT_EQ(NfcNormalize("d\xcc\x87\xcc\xa3"), "\xe1\xb8\x8d\xcc\x87");
  // Composition exclusion: U+0958 stays decomposed as KA + NUKTA.
  EXPECT_EQ(NfcNormalize("\xe0\xa5\x98"), "\xe0\xa4\x95\xe0\xa4\xbc");
  EXPECT_EQ(NfcNormalize("中文 日本語 한국어"), "中文 日本語 한국어");
  // Invalid bytes pass through and block composition.
  EXPECT_EQ(NfcNormalize(std::string("e\xff\xcc\x81", 4)), std::string("e\xff\xcc\x81", 4));
}

TEST(NormalizerTest, SentencePieceEscaping) {
  Normalizer n;
  n.AddPrepend("\xe2\x96\x81");
  n.AddReplace(" ", "\xe2\x96\x81");
  EXPECT_EQ(n.Apply("Hello world"), "\xe2\x96\x81Hello\xe2\x96\x81world");
  EXPECT_EQ(n.Apply(""), "");
}

TEST(ByteLevelTest, Alphabet) {
  std::string enc;
  ByteLevelEncode(" a\n", &enc);
  EXPECT_EQ(enc, "\xc4\xa0" "a" "\xc4\x8a");  // "Ġ", "a", "Ċ"
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string mapped, back;
  ByteLevelEncode(all, &mapped);
  ByteLevelDecode(mapped, &back);
  EXPECT_EQ(back, all);
}

std::vector<std::string> SplitWith(const std::string& pattern, SplitBehavior b,
                                   const std::string& text, bool invert = false) {
  PreTokenizer p;
  EXPECT_TRUE(p.AddRegexSplit(pattern, b, invert).ok());
  std::vector<std::string> words;
  p.Split(text, true, &words);
  return words;
}

TEST(PreTokenizerTest, SplitBehaviours) {
  using V = std::vector<std::string>;
  const std::string t = "the-final--countdown";
  EXPECT_EQ(SplitWith("-", SplitBehavior::kRemoved, t), (V{"the", "final", "countdown"}));
  EXPECT_EQ(SplitWith("-", SplitBehavior::kIsolated, t),
            (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(SplitWith("-", SplitBehavior::kMergedWithPrevious, t),
            (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(SplitWith("-", SplitBehavior::kMergedWithNext, t),
            (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(SplitWith("-", SplitBehavior::kContiguous, t), (V{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(SplitWith(R"(\w+|[^\w\s]+)", SplitBehavior::kRemoved, "Hey  man!", true),
            (V{"Hey", "man", "!"}));
}

TEST(PreTokenizerTest, Gpt2AndLlama3Regexes) {
  using V = std::vector<std::string>;
  PreTokenizer gpt2;
  ASSERT_TRUE(gpt2.AddByteLevel(false, true).ok());
  std::vector<std::string> words;
  gpt2.Split("Hello world's  3.14!!\n", true, &words);
  EXPECT_EQ(words, (V{"Hello", " world", "'s", " ", " 3", ".", "14", "!!", "\n"}));

  auto llama3 = GgufPreRegexes("llama-bpe");
  ASSERT_TRUE(llama3.ok());
  PreTokenizer l3;
  ASSERT_TRUE(l3.AddRegexSplit((*llama3)[0], SplitBehavior::kIsolated).ok());
  words.clear();
  l3.Split("I'M 1234567 ok\n\n  x", true, &words);
  EXPECT_EQ(words, (V{"I", "'M", " ", "123", "456", "7", " ok", "\n\n", " ", " x"}));
  EXPECT_FALSE(GgufPreRegexes("no-such-pre").ok());
}

TEST(PreTokenizerTest, Metaspace) {
  using V = std::vector<std::string>;
  PreTokenizer p;
  ASSERT_TRUE(p.AddMetaspace("\xe2\x96\x81", "always", true).ok());
  std::vector<std::string> words;
  p.Split("Hey friend!", true, &words);
  EXPECT_EQ(words, (V{"\xe2\x96\x81Hey", "\xe2\x96\x81" "friend!"}));
  PreTokenizer first;
  ASSERT_TRUE(first.AddMetaspace("\xe2\x96\x81", "first", false).ok());
  words.clear();
  first.Split("a b", /*first_fragment=*/false, &words);
  EXPECT_EQ(words, (V{"a\xe2\x96\x81" "b"}));
  EXPECT_FALSE(first.AddMetaspace("\xe2\x96\x81", "sometimes", false).ok());
}

TEST(SpecialTokenMatcherTest, LeftmostLongestAndParseSpecial) {
  SpecialTokenMatcher m;
  m.Add("<|a|>", 10, /*special=*/true);
  m.Add("<|a|><|b|>", 11, /*special=*/true);
  m.Add("<tool>", 12, /*special=*/false, /*lstrip=*/true, /*rstrip=*/true);
  auto frags = m.Split("x<|a|><|b|>y  <tool>  z<|a|>", true);
  ASSERT_EQ(frags.size(), 6u);
  EXPECT_EQ(frags[0].text, "x");
  EXPECT_EQ(frags[1].id, 11);
  EXPECT_EQ(frags[2].text, "y");  // lstrip ate the spaces before <tool>
  EXPECT_EQ(frags[3].id, 12);
  EXPECT_EQ(frags[4].text, "z");  // rstrip ate the spaces after it
  EXPECT_EQ(frags[5].id, 10);
  auto plain = m.Split("x<|a|>y<tool>", false);
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[0].text, "x<|a|>y");
  EXPECT_EQ(plain[1].id, 12);
}

TEST(BpeModelTest, MergesByRankLeftmostFirst) {
  Vocab v;
  for (const char* p : {"a", "b", "c", "aa", "ab", "bc", "aab", "aaa"}) v.Add(p, TokenType::kNormal);
  BpeModel bpe(BpeOptions{});
  bpe.AddMergeLine(v, "a a");   // rank 0
  bpe.AddMergeLine(v, "b c");   // rank 1
  bpe.AddMergeLine(v, "aa b");  // rank 2
  bpe.AddMergeLine(v, "x y");   // unknown pieces: skipped
  EXPECT_EQ(bpe.skipped_merges(), 1u);
  std::vector<int32_t> out;
  bpe.EncodeWord(v, "aaabc", &out);
  // "a a" merges leftmost first: [aa, a, b, c] -> "b c" -> [aa, a, bc].
  EXPECT_EQ(out, (std::vector<int32_t>{v.Find("aa"), v.Find("a"), v.Find("bc")}));
  out.clear();
  bpe.EncodeWord(v, "aab", &out);
  EXPECT_EQ(out, (std::vector<int32_t>{v.Find("aab")}));
  // Unknown characters are dropped without unk or byte fallback.
  out.clear();
  bpe.EncodeWord(v, "a?a", &out);
  EXPECT_EQ(out, (std::vector<int32_t>{v.Find("a"), v.Find("a")}));
}

TEST(BpeModelTest, IgnoreMergesAndByteFallback) {
  Vocab v;
  for (const char* p : {"a", "b", "ab", "abb", "<0xC3>", "<0xA9>", "<unk>"}) v.Add(p, TokenType::kNormal);
  v.IndexByteTokens();
  BpeOptions o;
  o.ignore_merges = true;
  o.byte_fallback = true;
  BpeModel bpe(o);
  bpe.AddMergeLine(v, "a b");
  std::vector<int32_t> out;
  bpe.EncodeWord(v, "abb", &out);  // whole word is a token
  EXPECT_EQ(out, (std::vector<int32_t>{v.Find("abb")}));
  out.clear();
  bpe.EncodeWord(v, "ab\xc3\xa9", &out);
  EXPECT_EQ(out, (std::vector<int32_t>{v.Find("ab"), v.Find("<0xC3>"), v.Find("<0xA9>")}));
  BpeOptions u;
  u.unk_id = v.Find("<unk>");
  u.fuse_unk = true;
  BpeModel with_unk(u);
  out.clear();
  with_unk.EncodeWord(v, "a??b", &out);
  EXPECT_EQ(out, (std::vector<int32_t>{v.Find("a"), u.unk_id, v.Find("b")}));
}

TEST(SpmModelTest, MergesByScoreAndFallsBackToBytes) {
  const std::string m = "\xe2\x96\x81";  // "▁"
  Vocab v;
  v.Add("<unk>", TokenType::kUnknown);
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    v.Add(buf, TokenType::kByte);
  }
  v.Add("a", TokenType::kNormal, -1);
  v.Add("b", TokenType::kNormal, -1);
  v.Add(m, TokenType::kNormal, -1);
  v.Add(m + "b", TokenType::kNormal, -2);
  v.Add("ab", TokenType::kNormal, -3);
  v.IndexByteTokens();
  SpmModel spm(v, 0);
  std::vector<int32_t> out;
  spm.Encode(v, "a" + m + "b\xc3\xa9", &out);
  // "▁b" outscores "ab"; é is not in the vocabulary: two byte tokens.
  EXPECT_EQ(out, (std::vector<int32_t>{v.Find("a"), v.Find(m + "b"), v.Find("<0xC3>"),
                                       v.Find("<0xA9>")}));
  // With a piece that spans a word start, words are no longer merged apart.
  v.Add("a" + m + "b", TokenType::kNormal, -4);
  SpmModel joined(v, 0);
  out.clear();
  joined.Encode(v, "a" + m + "b", &out);
  EXPECT_EQ(out, (std::vector<int32_t>{v.Find("a" + m + "b")}));
}

}  // namespace
}  // namespace pagoda
