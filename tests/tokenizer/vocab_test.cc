// llama.cpp's tokenizer test vectors (vocab-tests/*.inp/.out): each text is
// tokenized with add_special=false, parse_special=false, as its
// test-tokenizer-0 does, and must give exactly the expected ids.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/gguf.h"
#include "testutil/shared_data.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

using testing::HaveSharedModel;
using testing::SharedModelPath;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

// `.inp`: every text is followed by "\n__ggml_vocab_test__\n"; `.out`: one
// line of space-separated ids per text.
std::vector<Case> LoadCases(const std::string& stem) {
  const std::string inp = ReadAll(SharedModelPath(stem + ".inp"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<Case> cases;
  for (size_t pos = 0; pos < inp.size();) {
    size_t end = inp.find(sep, pos);
    if (end == std::string::npos) break;
    cases.push_back({inp.substr(pos, end - pos), {}});
    pos = end + sep.size();
  }
  std::istringstream out(ReadAll(SharedModelPath(stem + ".out")));
  std::string line;
  size_t i = 0;
  while (std::getline(out, line) && i < cases.size()) {
    std::istringstream ls(line);
    int32_t id;
    while (ls >> id) cases[i].ids.push_back(id);
    ++i;
  }
  EXPECT_EQ(i, cases.size()) << stem << ": .out has fewer lines than .inp has texts";
  return cases;
}

// Returns the number of mismatching cases, reporting each one.
int RunCases(const Tokenizer& tok, const std::string& stem) {
  const std::vector<Case> cases = LoadCases(stem);
  EXPECT_GT(cases.size(), 30u) << stem;
  int bad = 0;
  for (const Case& c : cases) {
    const std::vector<int32_t> got = tok.Encode(c.text, /*add_special=*/false);
    if (got != c.ids) {
      ++bad;
      ADD_FAILURE() << stem << ": text '" << c.text << "'\n  expected "
                    << ::testing::PrintToString(c.ids) << "\n  got      "
                    << ::testing::PrintToString(got);
    }
  }
  return bad;
}

void RunGguf(const std::string& name) {
  const std::string rel = "vocab-tests/ggml-vocab-" + name + ".gguf";
  if (!HaveSharedModel(rel)) GTEST_SKIP() << "needs " << SharedModelPath(rel);
  auto gguf = GgufFile::Open(SharedModelPath(rel));
  ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
  auto tok = Tokenizer::FromGguf(**gguf);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ(RunCases(**tok, rel), 0);
}

void RunHf(const std::string& name, const std::string& tokenizer_dir) {
  const std::string rel = "vocab-tests/ggml-vocab-" + name + ".gguf";
  const std::string tdir = "tokenizers/" + tokenizer_dir;
  if (!HaveSharedModel(rel + ".inp")) GTEST_SKIP() << "needs " << SharedModelPath(rel + ".inp");
  if (!HaveSharedModel(tdir + "/tokenizer.json")) {
    GTEST_SKIP() << "needs " << SharedModelPath(tdir + "/tokenizer.json");
  }
  auto tok = Tokenizer::FromHf(SharedModelPath(tdir));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ(RunCases(**tok, rel), 0);
}

TEST(VocabTest, LlamaSpm) { RunGguf("llama-spm"); }

// Writes the Llama SPM vocabulary as a Hugging Face tokenizer.json the way
// transformers converts a SentencePiece model (legacy Llama-2 layout: merges
// ordered by the merged piece's score, Prepend + Replace normaliser, byte
// fallback, Replace/ByteFallback/Fuse/Strip decoder), so the HF BPE path can
// be checked against the SentencePiece vectors.
std::string WriteHfStyleSpmJson(const GgufFile& gguf, const std::string& dir) {
  using nlohmann::json;
  const std::vector<std::string>& pieces = *gguf.GetStringArray("tokenizer.ggml.tokens");
  const std::vector<double>& scores = gguf.Find("tokenizer.ggml.scores")->floats;
  json vocab = json::object();
  std::map<std::string, int> ids;
  for (size_t i = 0; i < pieces.size(); ++i) {
    vocab[pieces[i]] = i;
    ids.emplace(pieces[i], static_cast<int>(i));
  }
  std::vector<std::tuple<double, int, int, int>> merges;  // -score, merged, left, right
  for (size_t i = 0; i < pieces.size(); ++i) {
    const std::string& p = pieces[i];
    for (size_t cut = 1; cut < p.size(); ++cut) {
      if ((static_cast<unsigned char>(p[cut]) & 0xC0) == 0x80) continue;  // inside a character
      auto l = ids.find(p.substr(0, cut));
      auto r = ids.find(p.substr(cut));
      if (l != ids.end() && r != ids.end()) {
        merges.emplace_back(-scores[i], static_cast<int>(i), l->second, r->second);
      }
    }
  }
  std::stable_sort(merges.begin(), merges.end());
  json jm = json::array();
  for (const auto& [s, m, l, r] : merges) jm.push_back(json::array({pieces[l], pieces[r]}));
  const std::string mark = "\xe2\x96\x81";
  json j = {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", jm}, {"byte_fallback", true},
                 {"fuse_unk", true}, {"unk_token", "<unk>"}}},
      {"normalizer", {{"type", "Sequence"}, {"normalizers", json::array({
          {{"type", "Prepend"}, {"prepend", mark}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", mark}}})}}},
      {"pre_tokenizer", nullptr},
      {"added_tokens", json::array({
          {{"id", 0}, {"content", "<unk>"}, {"special", true}},
          {{"id", 1}, {"content", "<s>"}, {"special", true}},
          {{"id", 2}, {"content", "</s>"}, {"special", true}}})},
      {"post_processor", {{"type", "TemplateProcessing"},
          {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                  {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
          {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "Sequence"}, {"decoders", json::array({
          {{"type", "Replace"}, {"pattern", {{"String", mark}}}, {"content", " "}},
          {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
  };
  const std::string path = dir + "/tokenizer.json";
  std::ofstream(path) << j.dump();
  return path;
}

TEST(VocabTest, LlamaSpmThroughHfStyleTokenizerJson) {
  const std::string rel = "vocab-tests/ggml-vocab-llama-spm.gguf";
  if (!HaveSharedModel(rel)) GTEST_SKIP() << "needs " << SharedModelPath(rel);
  auto gguf = GgufFile::Open(SharedModelPath(rel));
  ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
  const std::string dir = testing::MakeTempDir("tok_hf_spm_");
  ASSERT_FALSE(dir.empty());
  auto tok = Tokenizer::FromHf(WriteHfStyleSpmJson(**gguf, dir));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ(RunCases(**tok, rel), 0);
  EXPECT_TRUE((*tok)->add_bos());
  const std::vector<int32_t> ids = (*tok)->Encode(" Hello world", true);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 29871, 15043, 3186}));
  EXPECT_EQ((*tok)->Decode(ids), " Hello world");
}
TEST(VocabTest, Gpt2) { RunGguf("gpt-2"); }
TEST(VocabTest, Qwen2ThroughHfTokenizerJson) { RunHf("qwen2", "qwen3"); }
TEST(VocabTest, LlamaBpeThroughHfTokenizerJson) { RunHf("llama-bpe", "llama3"); }
TEST(VocabTest, DeepseekLlm) { RunGguf("deepseek-llm"); }
TEST(VocabTest, Falcon) { RunGguf("falcon"); }
TEST(VocabTest, Phi3) { RunGguf("phi-3"); }
TEST(VocabTest, BertBge) { RunGguf("bert-bge"); }

// Writes the bert-bge vocabulary back as the Hugging Face tokenizer.json it
// was converted from (word starts bare, continuations "##", BertNormalizer,
// BertPreTokenizer, BertProcessing, WordPiece decoder).
std::string WriteHfWordPieceJson(const GgufFile& gguf, const std::string& dir) {
  using nlohmann::json;
  const std::vector<std::string>& pieces = *gguf.GetStringArray("tokenizer.ggml.tokens");
  const std::string mark = "\xe2\x96\x81";
  json vocab = json::object();
  json added = json::array();
  for (size_t i = 0; i < pieces.size(); ++i) {
    const std::string& p = pieces[i];
    const bool special = p.size() > 2 && p.front() == '[' && p.back() == ']' && !p.starts_with("[unused");
    std::string hf = p.starts_with(mark) ? p.substr(mark.size()) : (special || p.starts_with("[unused") ? p : "##" + p);
    vocab[hf] = i;
    if (special) added.push_back({{"id", i}, {"content", p}, {"special", true}});
  }
  json j = {
      {"model", {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
                 {"max_input_chars_per_word", 100}, {"vocab", vocab}}},
      {"normalizer", {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true},
                      {"strip_accents", nullptr}, {"lowercase", true}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"added_tokens", added},
      {"post_processor", {{"type", "BertProcessing"}, {"sep", {"[SEP]", 102}}, {"cls", {"[CLS]", 101}}}},
      {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
  };
  const std::string path = dir + "/tokenizer.json";
  std::ofstream(path) << j.dump();
  return path;
}

TEST(VocabTest, BertBgeThroughHfTokenizerJson) {
  const std::string rel = "vocab-tests/ggml-vocab-bert-bge.gguf";
  if (!HaveSharedModel(rel)) GTEST_SKIP() << "needs " << SharedModelPath(rel);
  auto gguf = GgufFile::Open(SharedModelPath(rel));
  ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
  const std::string dir = testing::MakeTempDir("tok_hf_wp_");
  ASSERT_FALSE(dir.empty());
  auto tok = Tokenizer::FromHf(WriteHfWordPieceJson(**gguf, dir));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ(RunCases(**tok, rel), 0);
  const std::vector<int32_t> ids = (*tok)->Encode("Hello, World! Don't stop.", true);
  EXPECT_EQ(ids.front(), 101);
  EXPECT_EQ(ids.back(), 102);
  // The decoder's cleanup works token by token, so it glues punctuation to
  // the word before but leaves the apostrophe of "don ' t" spaced (the
  // whole-string clean-up is transformers', not the tokenizer's).
  EXPECT_EQ((*tok)->Decode(ids), "hello, world! don ' t stop.");
}

}  // namespace
}  // namespace pagoda
