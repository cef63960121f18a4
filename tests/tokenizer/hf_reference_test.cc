// The Llama-3, Qwen3 and GPT-2 tokenizer.json files give the ids Hugging
// Face's official tokenizers.js gives (hf_reference/expected_*.json, made by
// hf_reference/generate.mjs) for the vocab-test texts and extra texts with
// many scripts, emoji, whitespace runs and special-token text.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "testutil/shared_data.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

using testing::HaveSharedModel;
using testing::SharedModelPath;

void RunExpected(const std::string& name) {
  const std::string rel = "tokenizers/" + name + "/tokenizer.json";
  if (!HaveSharedModel(rel)) GTEST_SKIP() << "needs " << SharedModelPath(rel);
  std::ifstream in(testing::SourceDir() + "/tests/tokenizer/hf_reference/expected_" + name + ".json");
  ASSERT_TRUE(in) << "missing expected_" << name << ".json";
  std::stringstream ss;
  ss << in.rdbuf();
  const nlohmann::json expected = nlohmann::json::parse(ss.str());
  auto tok = Tokenizer::FromHf(SharedModelPath("tokenizers/" + name));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  int bad = 0;
  const auto& cases = expected["cases"];
  ASSERT_GT(cases.size(), 50u);
  for (const auto& c : cases) {
    const std::string text = c["text"];
    const std::vector<int32_t> want = c["ids"].get<std::vector<int32_t>>();
    // Hugging Face matches added tokens in the input: parse_special.
    const std::vector<int32_t> got = (*tok)->Encode(text, /*add_special=*/false, /*parse_special=*/true);
    if (got != want) {
      ++bad;
      ADD_FAILURE() << name << ": " << nlohmann::json(text).dump() << "\n  hf:     "
                    << ::testing::PrintToString(want) << "\n  pagoda: " << ::testing::PrintToString(got);
    }
  }
  EXPECT_EQ(bad, 0) << expected["generator"];
}

TEST(HfReferenceTest, Llama3) { RunExpected("llama3"); }
TEST(HfReferenceTest, Qwen3) { RunExpected("qwen3"); }
TEST(HfReferenceTest, Gpt2) { RunExpected("gpt2"); }

}  // namespace
}  // namespace pagoda
