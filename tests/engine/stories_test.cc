// The real trained stories260K model against its goldens: greedy text from a
// prompt, 256 greedy tokens from BOS (equal to llama2.c's run.c), and the
// top-5 logits of the first 8 steps within 5e-3 of a float64 computation.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/llm_engine.h"
#include "testutil/shared_data.h"

namespace pagoda {
namespace {

using testing::HaveSharedModel;
using testing::SharedModelPath;

constexpr const char* kModel = "stories260K/stories260K.gguf";

nlohmann::json ReadJson(const std::string& rel) {
  std::ifstream f(SharedModelPath(rel));
  return nlohmann::json::parse(f);
}

std::string RStrip(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class StoriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveSharedModel(kModel)) GTEST_SKIP() << "needs " << SharedModelPath(kModel);
    EngineConfig cfg;
    cfg.model.model = SharedModelPath(kModel);
    cfg.model.threads = 2;
    auto e = LLMEngine::Create(cfg);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(*e);
  }
  SamplingParams Greedy(int n) {
    SamplingParams sp;
    sp.temperature = 0;
    sp.max_tokens = n;
    sp.ignore_eos = true;
    return sp;
  }
  std::unique_ptr<LLMEngine> engine_;
};

TEST_F(StoriesTest, OnceUponATimeMatchesGolden) {
  const nlohmann::json g = ReadJson("stories260K/golden_once_upon_a_time.json");
  auto ids = engine_->Tokenize(g["prompt"].get<std::string>());
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, g["prompt_ids"].get<std::vector<int32_t>>());
  auto out = engine_->Generate({g["prompt"].get<std::string>()}, Greedy(32));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].token_ids, g["greedy_ids"].get<std::vector<int32_t>>());
  EXPECT_EQ((*out)[0].text, g["greedy_text"].get<std::string>());
}

TEST_F(StoriesTest, GreedyFromBosMatchesRunC) {
  const nlohmann::json g = ReadJson("stories260K/stories260K_greedy_bos_256.json");
  auto out = engine_->Generate({""}, Greedy(256));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].prompt_token_ids, std::vector<int32_t>{1});
  EXPECT_EQ((*out)[0].token_ids, g["greedy_ids"].get<std::vector<int32_t>>());
  std::ifstream f(SharedModelPath("stories260K/stories260K_runc_greedy_bos_n256.txt"));
  std::stringstream runc;
  runc << f.rdbuf();
  EXPECT_EQ(RStrip((*out)[0].text), RStrip(runc.str()));
}

// The completion continues the prompt: a word after "The cat" keeps its
// leading space, while text right after BOS starts without one (as
// SentencePiece and vLLM decode it).
TEST_F(StoriesTest, CompletionTextContinuesThePrompt) {
  auto after_prompt = engine_->Generate({"The cat"}, Greedy(8));
  ASSERT_TRUE(after_prompt.ok());
  const std::string& t = (*after_prompt)[0].text;
  ASSERT_FALSE(t.empty());
  EXPECT_EQ(t[0], ' ') << t;
  EXPECT_EQ("The cat" + t, engine_->tokenizer().Decode(
                              [&] {
                                std::vector<int32_t> all = (*after_prompt)[0].prompt_token_ids;
                                all.insert(all.end(), (*after_prompt)[0].token_ids.begin(),
                                           (*after_prompt)[0].token_ids.end());
                                return all;
                              }()));
  auto after_bos = engine_->Generate({""}, Greedy(4));
  ASSERT_TRUE(after_bos.ok());
  EXPECT_EQ((*after_bos)[0].text.rfind("Once", 0), 0u) << (*after_bos)[0].text;
}

TEST_F(StoriesTest, FirstStepsTopLogitsWithin5e3) {
  const nlohmann::json g = ReadJson("stories260K/stories260K_greedy_bos_256.json");
  const auto greedy = g["greedy_ids"].get<std::vector<int32_t>>();
  const Model& model = engine_->model();
  const int64_t vocab = model.config().vocab_size;
  // One forward over BOS + the first 7 greedy tokens gives the logits of steps 0..7.
  std::vector<int32_t> tokens = {1};
  tokens.insert(tokens.end(), greedy.begin(), greedy.begin() + 7);
  const int n = static_cast<int>(tokens.size());
  KvCache cache(model.config().num_layers, 4, 16, model.config().num_kv_heads, model.config().head_dim);
  BatchInput in;
  in.token_ids = tokens;
  for (int i = 0; i < n; ++i) {
    in.positions.push_back(i);
    in.slot_mapping.push_back(16 + i);  // block 1
    in.logits_indices.push_back(i);
  }
  in.query_start_loc = {0, n};
  in.seq_lens = {n};
  in.block_tables = {1};
  in.max_blocks_per_seq = 1;
  Workspace ws;
  std::vector<float> logits(static_cast<size_t>(n * vocab));
  model.Forward(in, cache, ws, engine_->pool(), logits.data());
  for (const auto& step : g["first_logits"]) {
    const int pos = step["pos"].get<int>();
    ASSERT_LT(pos, n);
    const float* row = logits.data() + pos * vocab;
    std::vector<int32_t> order(static_cast<size_t>(vocab));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                      [&](int32_t a, int32_t b) { return row[a] > row[b]; });
    const auto ids = step["top5_ids"].get<std::vector<int32_t>>();
    const auto vals = step["top5_logits"].get<std::vector<double>>();
    for (int k = 0; k < 5; ++k) {
      EXPECT_EQ(order[static_cast<size_t>(k)], ids[static_cast<size_t>(k)]) << "step " << pos << " rank " << k;
      EXPECT_NEAR(row[ids[static_cast<size_t>(k)]], vals[static_cast<size_t>(k)], 5e-3) << "step " << pos;
    }
  }
}

}  // namespace
}  // namespace pagoda
