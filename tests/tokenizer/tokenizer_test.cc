// Tokenizer behaviour beyond the test vectors: BOS handling, special-token
// parsing, decode(encode(s)) == s, and a Hugging Face SentencePiece-style
// tokenizer.json (built here from the Llama SPM vocabulary) against the
// SentencePiece vectors.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/gguf.h"
#include "testutil/shared_data.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

using testing::HaveSharedModel;
using testing::SharedModelPath;

std::unique_ptr<Tokenizer> LoadGguf(const std::string& rel) {
  auto gguf = GgufFile::Open(SharedModelPath(rel));
  EXPECT_TRUE(gguf.ok()) << gguf.status().ToString();
  if (!gguf.ok()) return nullptr;
  auto tok = Tokenizer::FromGguf(**gguf);
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

std::unique_ptr<Tokenizer> LoadHf(const std::string& rel) {
  auto tok = Tokenizer::FromHf(SharedModelPath(rel));
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

#define REQUIRE_SHARED(rel) \
  if (!HaveSharedModel(rel)) GTEST_SKIP() << "needs " << SharedModelPath(rel)

const std::vector<std::string>& RoundTripTexts() {
  static const std::vector<std::string> texts = {
      "Hello world",
      " leading space and trailing space ",
      "Once upon a time, there was a little girl named Lily.",
      "naïve café Äpfel déjà vu",
      "你好，世界！这是一个测试。",
      "日本語のテキストとカタカナ",
      "emoji 🦙🚀 and 👨‍👩‍👧‍👦 family, ✅ done",
      "   multiple   spaces\t\ttabs\n\n\nnewlines \r\n crlf",
      "\n",
      "    ",
      "code: for (int i = 0; i < 10; ++i) { x += i * 2; }",
      "numbers 1234567890 3.14159 1,000,000",
      "'s 't 're 've 'm 'll 'd I'M YOU'LL",
      "Привет, мир! Καλημέρα κόσμε",
      "ជាប់បិទ",
  };
  return texts;
}

TEST(TokenizerTest, Stories260KOnceUponATime) {
  REQUIRE_SHARED("stories260K/stories260K.gguf");
  auto tok = LoadGguf("stories260K/stories260K.gguf");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_TRUE(tok->add_bos());
  const std::vector<int32_t> ids = tok->Encode("Once upon a time", /*add_special=*/true);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 403, 407, 261, 378}));
  EXPECT_EQ(tok->Decode(ids), "Once upon a time");
  EXPECT_EQ(tok->Decode(ids, /*skip_special=*/false), "<s> Once upon a time");
  EXPECT_TRUE(tok->IsSpecial(1));
  EXPECT_FALSE(tok->IsSpecial(403));
  EXPECT_EQ(tok->Encode("", true), (std::vector<int32_t>{1}));
  EXPECT_TRUE(tok->Encode("", false).empty());
}

TEST(TokenizerTest, SpmRoundTrip) {
  REQUIRE_SHARED("vocab-tests/ggml-vocab-llama-spm.gguf");
  auto tok = LoadGguf("vocab-tests/ggml-vocab-llama-spm.gguf");
  ASSERT_NE(tok, nullptr);
  for (const std::string& s : RoundTripTexts()) {
    EXPECT_EQ(tok->Decode(tok->Encode(s, true)), s) << s;
  }
}

void ExpectByteLevelRoundTrip(const Tokenizer& tok, const std::string& name) {
  for (const std::string& s : RoundTripTexts()) {
    const std::vector<int32_t> ids = tok.Encode(s, false);
    EXPECT_EQ(tok.Decode(ids), s) << name << ": " << s;
  }
  // Byte-level BPE encodes every byte sequence, valid UTF-8 or not; Decode
  // then renders invalid sequences as U+FFFD, one per maximal invalid
  // subpart, as Hugging Face's from_utf8_lossy does.
  const std::string raw = "bad \xff\xfe utf8 \xe4\xbd tail \xc3";
  EXPECT_EQ(tok.Decode(tok.Encode(raw, false)),
            "bad \xEF\xBF\xBD\xEF\xBF\xBD utf8 \xEF\xBF\xBD tail \xEF\xBF\xBD")
      << name;
  std::string ascii;
  for (int b = 1; b < 128; ++b) ascii.push_back(static_cast<char>(b));
  EXPECT_EQ(tok.Decode(tok.Encode(ascii, false)), ascii) << name;
}

TEST(TokenizerTest, ByteLevelRoundTripGpt2Gguf) {
  REQUIRE_SHARED("vocab-tests/ggml-vocab-gpt-2.gguf");
  auto tok = LoadGguf("vocab-tests/ggml-vocab-gpt-2.gguf");
  ASSERT_NE(tok, nullptr);
  EXPECT_FALSE(tok->add_bos());
  ExpectByteLevelRoundTrip(*tok, "gpt-2");
}

TEST(TokenizerTest, ByteLevelRoundTripLlama3) {
  REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
  auto tok = LoadHf("tokenizers/llama3");
  ASSERT_NE(tok, nullptr);
  ExpectByteLevelRoundTrip(*tok, "llama3");
}

TEST(TokenizerTest, ByteLevelRoundTripQwen3) {
  REQUIRE_SHARED("tokenizers/qwen3/tokenizer.json");
  auto tok = LoadHf("tokenizers/qwen3");
  ASSERT_NE(tok, nullptr);
  ExpectByteLevelRoundTrip(*tok, "qwen3");
}

TEST(TokenizerTest, ByteLevelRoundTripGpt2Json) {
  REQUIRE_SHARED("tokenizers/gpt2/tokenizer.json");
  auto tok = LoadHf("tokenizers/gpt2/tokenizer.json");
  ASSERT_NE(tok, nullptr);
  ExpectByteLevelRoundTrip(*tok, "gpt2 json");
}

TEST(TokenizerTest, Llama3SpecialTokens) {
  REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
  auto tok = LoadHf("tokenizers/llama3");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 128256);
  EXPECT_EQ(tok->bos_id(), 128000);
  EXPECT_EQ(tok->eos_id(), 128001);
  const std::string text = "<|begin_of_text|>Hello<|eot_id|>";
  const std::vector<int32_t> parsed = tok->Encode(text, false, /*parse_special=*/true);
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed.front(), 128000);
  EXPECT_EQ(parsed.back(), 128009);
  EXPECT_EQ(tok->IdToPiece(parsed[1]), "Hello");
  EXPECT_TRUE(tok->IsSpecial(128009));
  EXPECT_EQ(tok->Decode(parsed), "Hello");
  EXPECT_EQ(tok->Decode(parsed, /*skip_special=*/false), text);
  // Without parse_special the marker is ordinary text.
  const std::vector<int32_t> plain = tok->Encode(text, false, false);
  EXPECT_GT(plain.size(), 3u);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 128000), 0);
  EXPECT_EQ(tok->Decode(plain), text);
}

TEST(TokenizerTest, QwenAddedTokens) {
  REQUIRE_SHARED("tokenizers/qwen3/tokenizer.json");
  auto tok = LoadHf("tokenizers/qwen3");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->bos_id(), -1);
  EXPECT_EQ(tok->eos_id(), 151645);  // <|im_end|>
  EXPECT_FALSE(tok->add_bos());
  // "<think>" is an added token that is not special: always one id.
  const std::vector<int32_t> ids = tok->Encode("<think>\nhmm</think>", false, false);
  EXPECT_EQ(ids.front(), 151667);
  EXPECT_EQ(ids.back(), 151668);
  const std::vector<int32_t> chat =
      tok->Encode("<|im_start|>user\nHi<|im_end|>", false, /*parse_special=*/true);
  EXPECT_EQ(chat.front(), 151644);
  EXPECT_EQ(chat.back(), 151645);
  EXPECT_EQ(tok->Decode(chat, false), "<|im_start|>user\nHi<|im_end|>");
  EXPECT_EQ(tok->Decode(chat, true), "user\nHi");
}

TEST(TokenizerTest, QwenNormalizesToNfc) {
  REQUIRE_SHARED("tokenizers/qwen3/tokenizer.json");
  auto tok = LoadHf("tokenizers/qwen3");
  ASSERT_NE(tok, nullptr);
  // "é" decomposed (e + U+0301) encodes as the composed character.
  EXPECT_EQ(tok->Encode("caf\x65\xcc\x81", false), tok->Encode("caf\xc3\xa9", false));
}

TEST(TokenizerTest, SpmParseSpecial) {
  REQUIRE_SHARED("vocab-tests/ggml-vocab-llama-spm.gguf");
  auto tok = LoadGguf("vocab-tests/ggml-vocab-llama-spm.gguf");
  ASSERT_NE(tok, nullptr);
  // As llama.cpp: text after a special token gets the dummy prefix again.
  EXPECT_EQ(tok->Encode("<s>Hello", false, true),
            (std::vector<int32_t>{1, 15043}));
  EXPECT_EQ(tok->Encode("Hello</s>", true, true),
            (std::vector<int32_t>{1, 15043, 2}));
}

TEST(TokenizerTest, ConcurrentEncodeMatchesSequential) {
  REQUIRE_SHARED("tokenizers/qwen3/tokenizer.json");
  auto tok = LoadHf("tokenizers/qwen3");
  ASSERT_NE(tok, nullptr);
  std::vector<std::vector<int32_t>> expected;
  for (const std::string& s : RoundTripTexts()) expected.push_back(tok->Encode(s, true, true));
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 50; ++rep) {
        for (size_t i = 0; i < RoundTripTexts().size(); ++i) {
          if (tok->Encode(RoundTripTexts()[i], true, true) != expected[i]) ++bad[t];
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
}

TEST(TokenizerTest, BadInputsAreErrors) {
  EXPECT_FALSE(Tokenizer::FromHf("/nonexistent/tokenizer.json").ok());
  const std::string dir = testing::MakeTempDir("tok_bad_");
  ASSERT_FALSE(dir.empty());
  {
    std::ofstream(dir + "/tokenizer.json") << "{ not json";
  }
  auto bad = Tokenizer::FromHf(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tokenizer.json:1:4: invalid JSON: syntax error"), std::string::npos)
      << bad.status().message();
  {
    std::ofstream(dir + "/tokenizer.json") << "{\n  \"model\": {\n    \"type\": \"BPE\",,\n  }\n}";
  }
  bad = Tokenizer::FromHf(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tokenizer.json:3:19: invalid JSON"), std::string::npos) << bad.status().message();
  {
    std::ofstream(dir + "/tokenizer.json") << R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]]}})";
  }
  bad = Tokenizer::FromHf(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Unigram"), std::string::npos);
}

}  // namespace
}  // namespace pagoda
