// IncrementalDetokenizer and Decode on real vocabularies: random Unicode text
// (CJK, emoji and ZWJ sequences, combining marks, control characters, long
// whitespace runs), fed one id or several at a time, gives deltas that are
// each valid UTF-8 and concatenate to the full decode; continuing after a
// prompt keeps SentencePiece's leading space; random ids (broken UTF-8
// everywhere) stream to the same U+FFFD-repaired text as Decode.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "testutil/shared_data.h"
#include "tokenizer/incremental_detokenizer.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace pagoda {
namespace {

using testing::HaveSharedModel;
using testing::SharedModelPath;

std::unique_ptr<Tokenizer> Load(const std::string& rel) {
  if (rel.ends_with(".gguf")) {
    auto gguf = GgufFile::Open(SharedModelPath(rel));
    EXPECT_TRUE(gguf.ok()) << gguf.status().ToString();
    if (!gguf.ok()) return nullptr;
    auto tok = Tokenizer::FromGguf(**gguf);
    EXPECT_TRUE(tok.ok()) << tok.status().ToString();
    return tok.ok() ? std::move(tok).value() : nullptr;
  }
  auto tok = Tokenizer::FromHf(SharedModelPath(rel));
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

// A random string mixing scripts and awkward characters.
std::string RandomText(std::mt19937& rng) {
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
  };
  std::string s;
  const int parts = static_cast<int>(pick(1, 12));
  for (int p = 0; p < parts; ++p) {
    switch (pick(0, 10)) {
      case 0: s += " the quick brown fox"; break;
      case 1: s += std::string(pick(1, 20), ' '); break;
      case 2: s += pick(0, 1) ? "\n\n\t " : "\r\n"; break;
      case 3: for (int i = pick(1, 6); i > 0; --i) AppendUtf8(pick(0x4E00, 0x9FFF), &s); break;
      case 4: AppendUtf8(pick(0x1F300, 0x1F64F), &s); break;
      case 5: s += "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7"; break;
      case 6:  // a letter with stacked combining marks
        s.push_back(static_cast<char>('a' + pick(0, 25)));
        for (int i = pick(1, 3); i > 0; --i) AppendUtf8(pick(0x0300, 0x036F), &s);
        break;
      case 7: AppendUtf8(pick(0x01, 0x1F), &s); break;
      case 8: for (int i = pick(1, 5); i > 0; --i) AppendUtf8(pick(0xAC00, 0xD7A3), &s); break;
      case 9: AppendUtf8(pick(0x0900, 0x097F), &s); AppendUtf8(pick(0x0600, 0x06FF), &s); break;
      default: s += std::to_string(pick(0, 99999)); break;
    }
  }
  return s;
}

// Streams `ids` after `prompt` in random chunks; checks every delta.
std::string Stream(const Tokenizer& tok, std::span<const int32_t> prompt,
                   const std::vector<int32_t>& ids, const DecodeOptions& opts, std::mt19937& rng) {
  IncrementalDetokenizer detok(tok, prompt, opts);
  std::string all;
  for (size_t i = 0; i < ids.size();) {
    const size_t n = std::min<size_t>(ids.size() - i, std::uniform_int_distribution<size_t>(1, 3)(rng));
    const std::string delta =
        n == 1 ? detok.Add(ids[i]) : detok.Add(std::span<const int32_t>(ids).subspan(i, n));
    EXPECT_TRUE(IsValidUtf8(delta)) << "delta after id " << i;
    EXPECT_LE(detok.num_held_bytes(), 3u);
    all += delta;
    i += n;
  }
  const std::string tail = detok.Finish();
  EXPECT_TRUE(IsValidUtf8(tail));
  all += tail;
  EXPECT_EQ(all, detok.text());
  EXPECT_EQ(detok.num_tokens(), ids.size());
  return all;
}

struct Case {
  const char* path;
  bool byte_level;
  bool nfc;
};

class DetokenizerTest : public ::testing::TestWithParam<Case> {};

TEST_P(DetokenizerTest, DeltasConcatenateToDecode) {
  const Case& c = GetParam();
  if (!HaveSharedModel(c.path)) GTEST_SKIP() << "needs " << SharedModelPath(c.path);
  auto tok = Load(c.path);
  ASSERT_NE(tok, nullptr);
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 150; ++iter) {
    const std::string s = RandomText(rng);
    const std::vector<int32_t> ids = tok->Encode(s, /*add_special=*/iter % 2 == 0);
    const std::string full = tok->Decode(ids);
    ASSERT_TRUE(IsValidUtf8(full));
    if (c.byte_level) {
      EXPECT_EQ(full, c.nfc ? NfcNormalize(s) : s) << "round trip";
    }
    EXPECT_EQ(Stream(*tok, {}, ids, DecodeOptions{}, rng), full) << s;
    DecodeOptions keep{.skip_special_tokens = false};
    EXPECT_EQ(Stream(*tok, {}, ids, keep, rng), tok->Decode(ids, keep)) << s;

    // Cut into prompt + output: the output streams to DecodeAfter, and
    // prompt text + output text is the whole text when the cut falls
    // between characters.
    const size_t cut = std::uniform_int_distribution<size_t>(0, ids.size())(rng);
    const std::span<const int32_t> prompt(ids.data(), cut);
    const std::vector<int32_t> output(ids.begin() + cut, ids.end());
    const std::string after = tok->DecodeAfter(prompt, output, DecodeOptions{});
    EXPECT_EQ(Stream(*tok, prompt, output, DecodeOptions{}, rng), after);
    DecodeState st;
    std::string prompt_bytes;
    for (int32_t id : prompt) tok->AppendTokenBytes(id, DecodeOptions{}, &st, &prompt_bytes);
    if (IsValidUtf8(prompt_bytes)) {
      EXPECT_EQ(tok->Decode(prompt, DecodeOptions{}) + after, full) << s << " cut " << cut;
    }
  }
}

TEST_P(DetokenizerTest, RandomIdsStreamToTheRepairedDecode) {
  const Case& c = GetParam();
  if (!HaveSharedModel(c.path)) GTEST_SKIP() << "needs " << SharedModelPath(c.path);
  auto tok = Load(c.path);
  ASSERT_NE(tok, nullptr);
  std::mt19937 rng(99);
  std::uniform_int_distribution<int32_t> any(0, tok->vocab_size() - 1);
  for (int iter = 0; iter < 100; ++iter) {
    std::vector<int32_t> ids(std::uniform_int_distribution<int>(1, 40)(rng));
    for (int32_t& id : ids) id = any(rng);
    const std::string full = tok->Decode(ids);
    ASSERT_TRUE(IsValidUtf8(full));
    EXPECT_EQ(Stream(*tok, {}, ids, DecodeOptions{}, rng), full);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Vocabs, DetokenizerTest,
    ::testing::Values(Case{"vocab-tests/ggml-vocab-gpt-2.gguf", true, false},
                      Case{"tokenizers/llama3", true, false},
                      Case{"tokenizers/qwen3", true, true},
                      Case{"vocab-tests/ggml-vocab-llama-spm.gguf", false, false},
                      Case{"stories260K/stories260K.gguf", false, false},
                      Case{"vocab-tests/ggml-vocab-bert-bge.gguf", false, false}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name = info.param.path;
      for (char& ch : name) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(DetokenizerSpmTest, ContinuationKeepsTheLeadingSpace) {
  const std::string rel = "stories260K/stories260K.gguf";
  if (!HaveSharedModel(rel)) GTEST_SKIP() << "needs " << SharedModelPath(rel);
  auto tok = Load(rel);
  ASSERT_NE(tok, nullptr);
  const std::vector<int32_t> prompt = {1, 403, 407};  // <s> Once upon
  const std::vector<int32_t> output = {261, 378};     // ▁a ▁time
  EXPECT_EQ(tok->Decode(output), "a time");  // a text of its own
  EXPECT_EQ(tok->DecodeAfter(prompt, output, DecodeOptions{}), " a time");
  IncrementalDetokenizer detok(*tok, prompt);
  EXPECT_EQ(detok.Add(261), " a");
  EXPECT_EQ(detok.Add(378), " time");
  EXPECT_EQ(detok.Finish(), "");
  // A prompt of BOS alone decodes to nothing: the output starts the text.
  IncrementalDetokenizer fresh(*tok, std::vector<int32_t>{1});
  EXPECT_EQ(fresh.Add(403), "Once");
  // Unless BOS is kept in the text.
  IncrementalDetokenizer kept(*tok, std::vector<int32_t>{1}, DecodeOptions{.skip_special_tokens = false});
  EXPECT_EQ(kept.Add(403), " Once");
}

TEST(DetokenizerSpmTest, ByteFallbackHeldUntilTheCharacterCompletes) {
  const std::string rel = "stories260K/stories260K.gguf";
  if (!HaveSharedModel(rel)) GTEST_SKIP() << "needs " << SharedModelPath(rel);
  auto tok = Load(rel);
  ASSERT_NE(tok, nullptr);
  // "🦙" is outside this 512-piece vocabulary: four byte-fallback tokens.
  const std::string llama = "\xF0\x9F\xA6\x99";
  const std::vector<int32_t> ids = tok->Encode(llama, false);
  ASSERT_EQ(ids.size(), 5u) << ::testing::PrintToString(ids);  // ▁ and the four bytes
  IncrementalDetokenizer detok(*tok);
  EXPECT_EQ(detok.Add(ids[0]), "");  // the dummy-prefix space, removed
  EXPECT_EQ(detok.Add(ids[1]), "");
  EXPECT_EQ(detok.num_held_bytes(), 1u);
  EXPECT_EQ(detok.Add(ids[2]), "");
  EXPECT_EQ(detok.Add(ids[3]), "");
  EXPECT_EQ(detok.Add(ids[4]), llama);
  EXPECT_EQ(detok.num_held_bytes(), 0u);
  // An unfinished character at the end is one U+FFFD, as in Decode.
  IncrementalDetokenizer cut(*tok);
  EXPECT_EQ(cut.Add(std::span<const int32_t>(ids).first(4)), "");
  EXPECT_EQ(cut.Finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(tok->Decode(std::vector<int32_t>(ids.begin(), ids.begin() + 4)), "\xEF\xBF\xBD");
  // A byte that cannot continue the character is settled at once.
  IncrementalDetokenizer broken(*tok);
  EXPECT_EQ(broken.Add(std::span<const int32_t>(ids).first(3)), "");
  EXPECT_EQ(broken.Add(ids[1]), "\xEF\xBF\xBD");  // F0 9F then F0: the first two are lost
  EXPECT_EQ(broken.Finish(), "\xEF\xBF\xBD");
}

TEST(DetokenizerOptionsTest, SpacesBetweenSpecialTokens) {
  const std::string rel = "tokenizers/qwen3";
  if (!HaveSharedModel(rel + "/tokenizer.json")) GTEST_SKIP() << "needs " << SharedModelPath(rel);
  auto tok = Load(rel);
  ASSERT_NE(tok, nullptr);
  const std::vector<int32_t> ids = tok->Encode("<think>\nhmm</think>ok<|im_end|>", false, true);
  EXPECT_EQ(tok->Decode(ids), "<think>\nhmm</think>ok");
  const DecodeOptions spaced{.skip_special_tokens = false, .spaces_between_special_tokens = true};
  const std::string expected = "<think> \nhmm </think> ok <|im_end|>";
  EXPECT_EQ(tok->Decode(ids, spaced), expected);
  std::mt19937 rng(5);
  EXPECT_EQ(Stream(*tok, {}, ids, spaced, rng), expected);
}

TEST(Utf8LossyTest, MaximalSubpartsBecomeOneReplacementEach) {
  auto lossy = [](std::string_view s) {
    std::string out;
    AppendUtf8Lossy(s, true, &out);
    return out;
  };
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(lossy("a\xE4\xBD" "b"), "a" + r + "b");       // truncated 3-byte sequence
  EXPECT_EQ(lossy("\xF0\x80"), r + r);                      // F0 cannot take 80
  EXPECT_EQ(lossy("\xED\xA0\x80"), r + r + r);              // surrogate
  EXPECT_EQ(lossy("\xC0\xAF"), r + r);                      // overlong
  EXPECT_EQ(lossy("\xF4\x90\x80\x80"), r + r + r + r);      // past U+10FFFF
  EXPECT_EQ(lossy("\xF0\x9F\x98"), r);                      // cut short at the end
  std::string partial;
  EXPECT_EQ(AppendUtf8Lossy("x\xF0\x9F\x98", false, &partial), 1u);
  EXPECT_EQ(partial, "x");
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80 ok"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
}

}  // namespace
}  // namespace pagoda
