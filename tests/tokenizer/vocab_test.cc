// llama.cpp's tokenizer test vectors (vocab-tests/*.inp/.out): each text is
// tokenized with add_special=false, parse_special=false, as its
// test-tokenizer-0 does, and must give exactly the expected ids.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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
TEST(VocabTest, Gpt2) { RunGguf("gpt-2"); }
TEST(VocabTest, Qwen2ThroughHfTokenizerJson) { RunHf("qwen2", "qwen3"); }
TEST(VocabTest, LlamaBpeThroughHfTokenizerJson) { RunHf("llama-bpe", "llama3"); }
TEST(VocabTest, DeepseekLlm) { RunGguf("deepseek-llm"); }
TEST(VocabTest, Falcon) { RunGguf("falcon"); }
TEST(VocabTest, Phi3) { RunGguf("phi-3"); }

}  // namespace
}  // namespace pagoda
