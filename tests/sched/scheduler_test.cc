// Basic scheduling: one request, chunked prefill, continuous batching,
// max_num_seqs, prefill without chunking, long-prefill threshold.
#include "sched/scheduler.h"

#include <gtest/gtest.h>

#include "sched/fake_engine.h"

namespace pagoda {
namespace {

using testing::FakeEngine;
using testing::MaxTokens;
using testing::Range;
using Ids = std::vector<int32_t>;

SchedulerConfig Config(int budget, int max_model_len = 64, int max_num_seqs = 8) {
  return {.max_num_batched_tokens = budget, .max_num_seqs = max_num_seqs, .max_model_len = max_model_len};
}

TEST(Scheduler, SingleRequestPrefillThenDecode) {
  FakeEngine e(Config(64), {.num_blocks = 20, .block_size = 4});
  e.Add("a", Range(1, 6), MaxTokens(3));
  EXPECT_EQ(e.scheduler.num_waiting(), 1);

  EXPECT_EQ(e.Step(), "a 0+6 [1,2] new sample");
  EXPECT_EQ(e.last.total_num_scheduled_tokens, 6);
  EXPECT_EQ(e.scheduler.num_running(), 1);
  EXPECT_EQ(e.scheduler.num_waiting(), 0);
  ASSERT_EQ(e.last_outputs.size(), 1u);
  EXPECT_EQ(e.last_outputs[0].num_prompt_tokens, 6);
  EXPECT_FALSE(e.last_outputs[0].finish_reason.has_value());

  EXPECT_EQ(e.Step(), "a 6+1 [1,2] sample");
  EXPECT_EQ(e.last.total_num_scheduled_tokens, 1);
  EXPECT_EQ(e.Step(), "a 7+1 [1,2] sample");
  ASSERT_EQ(e.last_outputs.size(), 1u);
  EXPECT_EQ(e.last_outputs[0].finish_reason, FinishReason::kLength);
  EXPECT_EQ(e.tokens["a"].size(), 3u);
  EXPECT_FALSE(e.scheduler.HasUnfinishedRequests());
  EXPECT_TRUE(e.scheduler.HasFinishedRequests());
  EXPECT_DOUBLE_EQ(e.scheduler.kv_cache_usage(), 0.0);

  // The runner hears about the finish in the next step, which computes nothing.
  EXPECT_EQ(e.Step(), "");
  EXPECT_EQ(e.last.finished_req_ids, (std::vector<std::string>{"a"}));
  EXPECT_FALSE(e.last.empty());
  EXPECT_TRUE(e.scheduler.Schedule().empty());

  // The tokens are the fake model's greedy continuation.
  std::vector<int32_t> ctx = Range(1, 6);
  for (int i = 0; i < 3; ++i) {
    ctx.push_back(testing::FakeRunner::NextToken(ctx, i));
    EXPECT_EQ(e.tokens["a"][i], ctx.back());
  }
}

TEST(Scheduler, ChunkedPrefillSplitsAPromptUnderTheBudget) {
  FakeEngine e(Config(8), {.num_blocks = 20, .block_size = 4});
  e.Add("a", Range(1, 20), MaxTokens(2));
  EXPECT_EQ(e.Step(), "a 0+8 [1,2] new");
  EXPECT_TRUE(e.last_outputs.empty());  // nothing sampled mid-prompt
  EXPECT_EQ(e.Step(), "a 8+8 [1,2,3,4]");
  EXPECT_EQ(e.Step(), "a 16+4 [1,2,3,4,5] sample");
  EXPECT_EQ(e.tokens["a"].size(), 1u);
  EXPECT_EQ(e.Step(), "a 20+1 [1,2,3,4,5,6] sample");
  EXPECT_EQ(e.finished["a"].finish_reason, FinishReason::kLength);
}

TEST(Scheduler, ContinuousBatchingAdmitsWhileOthersDecode) {
  FakeEngine e(Config(10), {.num_blocks = 20, .block_size = 4});
  e.Add("a", Range(1, 6), MaxTokens(4));
  EXPECT_EQ(e.Step(), "a 0+6 [1,2] new sample");
  e.Add("b", Range(100, 8), MaxTokens(2));
  e.Add("c", Range(200, 12), MaxTokens(1));
  // Running first (a: 1 token), then b whole (8), then c gets what is left (1).
  EXPECT_EQ(e.Step(), "a 6+1 [1,2] sample | b 0+8 [3,4] new sample | c 0+1 [5] new");
  EXPECT_EQ(e.last.total_num_scheduled_tokens, 10);
  EXPECT_EQ(e.Step(), "a 7+1 [1,2] sample | b 8+1 [3,4,6] sample | c 1+8 [5,7,8]");
  EXPECT_EQ(e.finished["b"].finish_reason, FinishReason::kLength);
  EXPECT_EQ(e.Step(), "a 8+1 [1,2,9] sample | c 9+3 [5,7,8] sample");
  EXPECT_EQ(e.last.finished_req_ids, (std::vector<std::string>{"b"}));
  EXPECT_EQ(e.finished["a"].finish_reason, FinishReason::kLength);
  EXPECT_EQ(e.finished["c"].finish_reason, FinishReason::kLength);
  EXPECT_EQ(e.tokens["a"].size(), 4u);
  EXPECT_EQ(e.tokens["b"].size(), 2u);
  EXPECT_EQ(e.tokens["c"].size(), 1u);
  EXPECT_FALSE(e.scheduler.HasUnfinishedRequests());
}

TEST(Scheduler, MaxNumSeqsCapsTheRunningSet) {
  FakeEngine e(Config(64, 64, /*max_num_seqs=*/2), {.num_blocks = 20, .block_size = 4});
  e.Add("a", Range(1, 3), MaxTokens(1));
  e.Add("b", Range(10, 3), MaxTokens(3));
  e.Add("c", Range(20, 3), MaxTokens(1));
  EXPECT_EQ(e.Step(), "a 0+3 [1] new sample | b 0+3 [2] new sample");
  EXPECT_EQ(e.scheduler.num_waiting(), 1);
  // a finished (max_tokens 1): c takes its seat.
  EXPECT_EQ(e.Step(), "b 3+1 [2] sample | c 0+3 [3] new sample");
  EXPECT_EQ(e.Step(), "b 4+1 [2,4] sample");
}

TEST(Scheduler, WithoutChunkingAPromptThatDoesNotFitWaitsWhileSmallerOnesGo) {
  SchedulerConfig sc = Config(10, 10);
  sc.enable_chunked_prefill = false;
  FakeEngine e(sc, {.num_blocks = 20, .block_size = 4});
  e.Add("a", Range(1, 4), MaxTokens(3));
  e.Add("b", Range(10, 8), MaxTokens(1));
  e.Add("c", Range(20, 3), MaxTokens(3));
  // 4 + 8 > 10: b is skipped this step, c fits.
  EXPECT_EQ(e.Step(), "a 0+4 [1] new sample | c 0+3 [2] new sample");
  EXPECT_EQ(e.scheduler.num_waiting(), 1);
  EXPECT_EQ(e.Step(), "a 4+1 [1,3] sample | c 3+1 [2] sample | b 0+8 [4,5] new sample");
}

TEST(Scheduler, LongPrefillThresholdCapsTokensPerRequest) {
  SchedulerConfig sc = Config(100);
  sc.long_prefill_token_threshold = 4;
  FakeEngine e(sc, {.num_blocks = 20, .block_size = 4});
  e.Add("a", Range(1, 10), MaxTokens(1));
  e.Add("b", Range(50, 2), MaxTokens(1));
  EXPECT_EQ(e.Step(), "a 0+4 [1] new | b 0+2 [2] new sample");
  EXPECT_EQ(e.Step(), "a 4+4 [1,3]");
  EXPECT_EQ(e.Step(), "a 8+2 [1,3,4] sample");
}

TEST(Scheduler, PromptOfExactlyMaxModelLenFinishesAfterOneToken) {
  FakeEngine e(Config(4, 8), {.num_blocks = 20, .block_size = 4});
  e.Add("a", Range(1, 8));  // no max_tokens: bounded by max_model_len
  EXPECT_EQ(e.Step(), "a 0+4 [1] new");
  EXPECT_EQ(e.Step(), "a 4+4 [1,2] sample");
  EXPECT_EQ(e.finished["a"].finish_reason, FinishReason::kLength);
  EXPECT_EQ(e.tokens["a"].size(), 1u);
}

TEST(Scheduler, MaxModelLenEndsGeneration) {
  FakeEngine e(Config(16, 8), {.num_blocks = 20, .block_size = 4});
  e.Add("a", Range(1, 6));
  e.RunUntilDone();
  EXPECT_EQ(e.tokens["a"].size(), 2u);  // 6 + 2 = max_model_len
  EXPECT_EQ(e.finished["a"].finish_reason, FinishReason::kLength);
}

}  // namespace
}  // namespace pagoda
