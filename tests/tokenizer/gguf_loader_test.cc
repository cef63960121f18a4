// Tokenizer::FromGguf on small hand-made GGUF files: defaults, key handling
// and the errors for vocabularies it cannot build.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "formats/gguf.h"
#include "testutil/shared_data.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

StatusOr<std::unique_ptr<Tokenizer>> Build(const GgufWriter& w, const std::string& name) {
  const std::string dir = testing::MakeTempDir("tok_gguf_");
  EXPECT_FALSE(dir.empty());
  const std::string path = dir + "/" + name + ".gguf";
  Status st = w.WriteTo(path);
  EXPECT_TRUE(st.ok()) << st.ToString();
  auto gguf = GgufFile::Open(path);
  EXPECT_TRUE(gguf.ok()) << gguf.status().ToString();
  if (!gguf.ok()) return gguf.status();
  return Tokenizer::FromGguf(**gguf);
}

// A byte-level vocabulary: the 256 byte characters plus a few merges.
GgufWriter TinyGpt2(const std::string& pre) {
  GgufWriter w;
  w.SetString("tokenizer.ggml.model", "gpt2");
  if (!pre.empty()) w.SetString("tokenizer.ggml.pre", pre);
  std::vector<std::string> tokens;
  for (const char* t : {"h", "e", "l", "o", "\xc4\xa0", "he", "ll", "hell", "hello", "\xc4\xa0hello",
                        "<|end|>"}) {
    tokens.push_back(t);
  }
  w.SetStringArray("tokenizer.ggml.tokens", tokens);
  std::vector<int32_t> types(tokens.size(), 1);
  types.back() = 3;
  w.SetInt32Array("tokenizer.ggml.token_type", types);
  w.SetStringArray("tokenizer.ggml.merges",
                   {"h e", "l l", "he ll", "hell o", "\xc4\xa0 hello"});
  w.SetUint32("tokenizer.ggml.eos_token_id", 10);
  return w;
}

TEST(GgufLoaderTest, Gpt2Defaults) {
  auto tok = Build(TinyGpt2("gpt-2"), "gpt2");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->bos_id(), -1);
  EXPECT_EQ((*tok)->eos_id(), 10);
  EXPECT_FALSE((*tok)->add_bos());
  EXPECT_EQ((*tok)->Encode("hello hello", true), (std::vector<int32_t>{8, 9}));
  EXPECT_EQ((*tok)->Encode("hello<|end|>", false, true), (std::vector<int32_t>{8, 10}));
  EXPECT_EQ((*tok)->Decode({8, 9, 10}), "hello hello");
  EXPECT_EQ((*tok)->Decode({8, 9, 10}, false), "hello hello<|end|>");
  EXPECT_TRUE((*tok)->IsSpecial(10));
}

TEST(GgufLoaderTest, AddBosKeyAndMissingPre) {
  GgufWriter w = TinyGpt2("");
  w.SetUint32("tokenizer.ggml.bos_token_id", 10);
  w.SetBool("tokenizer.ggml.add_bos_token", true);
  auto tok = Build(w, "nopre");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_TRUE((*tok)->add_bos());
  EXPECT_EQ((*tok)->Encode("hello", true), (std::vector<int32_t>{10, 8}));
}

TEST(GgufLoaderTest, Errors) {
  GgufWriter unknown_pre = TinyGpt2("no-such-pre");
  auto a = Build(unknown_pre, "badpre");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("no-such-pre"), std::string::npos);

  GgufWriter t5;
  t5.SetString("tokenizer.ggml.model", "t5");
  t5.SetStringArray("tokenizer.ggml.tokens", {"<pad>", "a"});
  auto b = Build(t5, "t5");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kUnimplemented);

  GgufWriter none;
  none.SetString("general.architecture", "llama");
  auto c = Build(none, "none");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);

  GgufWriter short_scores;
  short_scores.SetString("tokenizer.ggml.model", "llama");
  short_scores.SetStringArray("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>"});
  short_scores.SetFloat32Array("tokenizer.ggml.scores", {0.0f});
  auto d = Build(short_scores, "short");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("scores"), std::string::npos);
}

}  // namespace
}  // namespace pagoda
