// ModelRunner on a random-weight model with hand-made SchedulerOutputs:
// prompt-logprob rows in the batch, prompt logprobs gathered across chunks
// equal to one whole-prompt step, and the request's history reaching the
// sampler's processors.
#include "runner/model_runner.h"

#include <gtest/gtest.h>

#include "model/random_model.h"
#include "testutil/shared_data.h"

namespace pagoda {
namespace {

constexpr int kBlockSize = 8;

class ModelRunnerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = testing::MakeTempDir("pagoda-runner-") + "/m.gguf";
    RandomModelSpec spec;
    spec.vocab_size = 300;
    ASSERT_TRUE(WriteRandomGguf(spec, path).ok());
    auto m = Model::Load(path);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m).release();
  }
  static void TearDownTestSuite() { delete model_; }

  void SetUp() override {
    const ModelConfig& c = model_->config();
    cache_ = std::make_unique<KvCache>(c.num_layers, 16, kBlockSize, c.num_kv_heads, c.head_dim);
    runner_ = std::make_unique<ModelRunner>(model_, cache_.get(), &pool_);
  }

  // One step of request "r" computing tokens [start, end) of `all`.
  ScheduledRequest Step(const std::vector<int32_t>& all, int32_t num_prompt, int32_t start, int32_t end,
                        const SamplingParams& sp, bool is_new) {
    ScheduledRequest r;
    r.req_id = "r";
    r.token_ids.assign(all.begin() + start, all.begin() + end);
    r.num_computed_tokens = start;
    r.block_ids = {1, 2, 3, 4};
    r.is_new = is_new;
    r.needs_sample = end == static_cast<int32_t>(all.size());
    r.sampling_params = &sp;
    r.all_token_ids = &all;
    r.num_prompt_tokens = num_prompt;
    return r;
  }
  ModelRunnerOutput Execute(ScheduledRequest r) {
    SchedulerOutput out;
    out.scheduled.push_back(std::move(r));
    return runner_->Execute(out);
  }

  static Model* model_;
  ThreadPool pool_{1};
  std::unique_ptr<KvCache> cache_;
  std::unique_ptr<ModelRunner> runner_;
};

Model* ModelRunnerTest::model_ = nullptr;

std::vector<int32_t> Prompt(int n) {
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back((i * 37 + 11) % 197 + 2);
  return p;
}

TEST_F(ModelRunnerTest, PromptLogprobsAcrossChunksEqualOneStep) {
  const std::vector<int32_t> prompt = Prompt(20);
  SamplingParams sp;
  sp.temperature = 0;
  sp.prompt_logprobs = 2;
  ModelRunnerOutput whole = Execute(Step(prompt, 20, 0, 20, sp, true));
  EXPECT_EQ(runner_->last_batch().logits_indices.size(), 20u);  // 19 prompt rows + the sample row
  ASSERT_EQ(whole.prompt_logprobs[0].size(), 19u);
  ASSERT_EQ(whole.sampled_token_ids[0].size(), 1u);

  SetUp();  // a fresh runner and cache
  ModelRunnerOutput a = Execute(Step(prompt, 20, 0, 7, sp, true));
  EXPECT_EQ(runner_->last_batch().logits_indices, (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(a.prompt_logprobs[0].empty());  // held until the prompt is done
  EXPECT_TRUE(a.sampled_token_ids[0].empty());
  Execute(Step(prompt, 20, 7, 14, sp, false));
  ModelRunnerOutput c = Execute(Step(prompt, 20, 14, 20, sp, false));
  // Positions 14..18 feed prompt tokens 15..19; row 5 (position 19) samples.
  EXPECT_EQ(runner_->last_batch().logits_indices, (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  ASSERT_EQ(c.prompt_logprobs[0].size(), 19u);
  EXPECT_EQ(c.sampled_token_ids[0], whole.sampled_token_ids[0]);
  for (size_t i = 0; i < 19; ++i) {
    const PositionLogprobs& x = c.prompt_logprobs[0][i];
    const PositionLogprobs& y = whole.prompt_logprobs[0][i];
    EXPECT_EQ(x.chosen.token_id, prompt[i + 1]);
    EXPECT_NEAR(x.chosen.logprob, y.chosen.logprob, 1e-6) << "position " << i;
    EXPECT_EQ(x.chosen.rank, y.chosen.rank);
    ASSERT_EQ(x.top.size(), 2u);
    EXPECT_EQ(x.top[0].token_id, y.top[0].token_id);
    EXPECT_LE(x.top[0].logprob, 0.0f);
    EXPECT_GE(x.top[0].logprob, x.top[1].logprob);
  }
}

TEST_F(ModelRunnerTest, ProcessorsSeeTheRequestHistory) {
  // Prompt [p...], outputs so far [5]: a bad-words sequence {5, 9} bans 9
  // even though a huge bias favours it.
  std::vector<int32_t> all = Prompt(6);
  all.push_back(5);
  SamplingParams sp;
  sp.temperature = 0;
  sp.logit_bias = {{9, 100.0f}};
  sp.bad_words_token_ids = {{5, 9}};
  sp.logprobs = 1;
  ModelRunnerOutput out = Execute(Step(all, 6, 0, 7, sp, true));
  ASSERT_EQ(out.sampled_token_ids[0].size(), 1u);
  EXPECT_NE(out.sampled_token_ids[0][0], 9);
  // Logprobs are of the raw distribution: the bias does not show.
  ASSERT_EQ(out.logprobs[0].size(), 1u);
  EXPECT_LT(out.logprobs[0][0].chosen.logprob, 0.0f);
  EXPECT_EQ(out.logprobs[0][0].chosen.token_id, out.sampled_token_ids[0][0]);

  // Without the ban the bias wins.
  SetUp();
  sp.bad_words_token_ids.clear();
  out = Execute(Step(all, 6, 0, 7, sp, true));
  EXPECT_EQ(out.sampled_token_ids[0][0], 9);
}

TEST_F(ModelRunnerTest, FinishedRequestsDropTheirState) {
  const std::vector<int32_t> prompt = Prompt(4);
  SamplingParams sp;
  Execute(Step(prompt, 4, 0, 4, sp, true));
  EXPECT_EQ(runner_->num_request_states(), 1u);
  SchedulerOutput done;
  done.finished_req_ids = {"r"};
  runner_->Execute(done);
  EXPECT_EQ(runner_->num_request_states(), 0u);
}

}  // namespace
}  // namespace pagoda
