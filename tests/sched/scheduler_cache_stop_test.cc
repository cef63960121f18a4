// Prefix caching through the scheduler, aborts, and stop conditions.
#include <gtest/gtest.h>

#include "sched/fake_engine.h"
#include "sched/scheduler.h"

namespace pagoda {
namespace {

using testing::FakeEngine;
using testing::MaxTokens;
using testing::Range;
using Ids = std::vector<int32_t>;
using Names = std::vector<std::string>;

SchedulerConfig Config(int budget = 64, int max_model_len = 64) {
  return {.max_num_batched_tokens = budget, .max_num_seqs = 8, .max_model_len = max_model_len};
}

TEST(SchedulerPrefixCache, SharedPrefixReusesBlocksAndCountsHits) {
  FakeEngine e(Config(), {.num_blocks = 20, .block_size = 4});
  std::vector<int32_t> prompt = Range(1, 10);
  e.Add("a", prompt, MaxTokens(3));
  EXPECT_EQ(e.Step(), "a 0+10 [1,2,3] new sample");
  EXPECT_EQ(e.last_outputs[0].num_cached_tokens, 0);

  // Same prompt: the two full blocks hit; the last partial block is computed.
  e.Add("b", prompt, MaxTokens(1));
  // Only the first 8 tokens: one block hits, never all 8 (the last token
  // must run through the model to give logits).
  e.Add("c", Range(1, 8), MaxTokens(1));
  EXPECT_EQ(e.Step(), "a 10+1 [1,2,3] sample | b 8+2 [1,2,4] new sample | c 4+4 [1,5] new sample");
  ASSERT_EQ(e.last_outputs.size(), 3u);
  EXPECT_EQ(e.last_outputs[1].num_cached_tokens, 8);
  EXPECT_EQ(e.last_outputs[2].num_cached_tokens, 4);
  // Same context through shared blocks, same first token.
  EXPECT_EQ(e.tokens["b"][0], e.tokens["a"][0]);

  const PrefixCacheStats& s = e.scheduler.prefix_cache_stats();
  EXPECT_EQ(s.requests, 3);
  EXPECT_EQ(s.queries, 10 + 10 + 8);
  EXPECT_EQ(s.hits, 8 + 4);
}

TEST(SchedulerPrefixCache, FinishedRequestsBlocksServeLaterOnesUntilEvicted) {
  // 6 usable blocks.
  FakeEngine e(Config(64, 24), {.num_blocks = 7, .block_size = 4});
  e.Add("a", Range(1, 9), MaxTokens(1));
  EXPECT_EQ(e.Step(), "a 0+9 [1,2,3] new sample");
  EXPECT_EQ(e.FreeBlockIds(), (Ids{4, 5, 6, 3, 2, 1}));
  // Unrelated request takes 4 blocks from the head: a's tail block 3 is
  // evicted first, its head blocks 1 and 2 survive. x frees [3, 6, 5, 4].
  e.Add("x", Range(500, 13), MaxTokens(1));
  EXPECT_EQ(e.Step(), "x 0+13 [4,5,6,3] new sample");
  e.Add("b", Range(1, 13), MaxTokens(1));
  EXPECT_EQ(e.Step(), "b 8+5 [1,2,3,6] new sample");
  EXPECT_EQ(e.last_outputs[0].num_cached_tokens, 8);
}

TEST(SchedulerPrefixCache, CacheSaltAndLoraIdGiveSeparateCaches) {
  FakeEngine e(Config(), {.num_blocks = 20, .block_size = 4});
  std::vector<int32_t> prompt = Range(1, 9);
  e.Add("a", prompt, MaxTokens(1), {.cache_salt = "t1"});
  EXPECT_EQ(e.Step(), "a 0+9 [1,2,3] new sample");
  e.Add("other-salt", prompt, MaxTokens(1), {.cache_salt = "t2"});
  e.Add("no-salt", prompt, MaxTokens(1));
  e.Add("lora", prompt, MaxTokens(1), {.lora_id = 4, .cache_salt = "t1"});
  e.Add("same", prompt, MaxTokens(1), {.cache_salt = "t1"});
  EXPECT_EQ(e.Step(),
            "other-salt 0+9 [4,5,6] new sample | no-salt 0+9 [7,8,9] new sample | "
            "lora 0+9 [10,11,12] new sample | same 8+1 [1,2,13] new sample");
}

TEST(SchedulerPrefixCache, PromptLogprobsRequestsSkipTheCache) {
  FakeEngine e(Config(), {.num_blocks = 20, .block_size = 4});
  e.Add("a", Range(1, 9), MaxTokens(2));
  EXPECT_EQ(e.Step(), "a 0+9 [1,2,3] new sample");
  SamplingParams p = MaxTokens(1);
  p.prompt_logprobs = 1;
  e.Add("b", Range(1, 9), p);
  EXPECT_EQ(e.Step(), "a 9+1 [1,2,3] sample | b 0+9 [4,5,6] new sample");
}

TEST(SchedulerAbort, AbortFreesBlocksAtOnceAndTellsTheRunnerNextStep) {
  FakeEngine e(Config(), {.num_blocks = 20, .block_size = 4});
  e.Add("a", Range(1, 6), MaxTokens(10));
  e.Add("b", Range(100, 6), MaxTokens(10));
  EXPECT_EQ(e.Step(), "a 0+6 [1,2] new sample | b 0+6 [3,4] new sample");
  e.Add("w", Range(200, 3), MaxTokens(10));

  const std::vector<std::string> ids = {"a", "w", "unknown"};
  e.scheduler.AbortRequests(ids);
  EXPECT_EQ(e.scheduler.num_running(), 1);
  EXPECT_EQ(e.scheduler.num_waiting(), 0);
  EXPECT_EQ(e.scheduler.GetRequest("a"), nullptr);
  EXPECT_DOUBLE_EQ(e.scheduler.kv_cache_usage(), 2.0 / 19.0);
  Ids free = e.FreeBlockIds();
  EXPECT_EQ(Ids(free.end() - 2, free.end()), (Ids{2, 1}));

  EXPECT_EQ(e.Step(), "b 6+1 [3,4] sample");
  EXPECT_EQ(e.last.finished_req_ids, (Names{"a", "w"}));
  for (const EngineCoreOutput& o : e.last_outputs) EXPECT_NE(o.req_id, "a");
  // Aborting a finished request is a no-op.
  e.scheduler.AbortRequests(ids);
  EXPECT_EQ(e.Step(), "b 7+1 [3,4] sample");
  EXPECT_TRUE(e.last.finished_req_ids.empty());
}

struct StopCase {
  const char* name;
  SamplingParams params;
  std::vector<int32_t> script;
  size_t expected_tokens;
  FinishReason reason;
  std::optional<int32_t> stop_token_id;
};

SamplingParams Params(std::vector<int32_t> eos, std::vector<int32_t> stop_ids, std::optional<int> max_tokens,
                      int min_tokens = 0, bool ignore_eos = false) {
  SamplingParams p;
  p.eos_token_ids = std::move(eos);
  p.stop_token_ids = std::move(stop_ids);
  p.max_tokens = max_tokens;
  p.min_tokens = min_tokens;
  p.ignore_eos = ignore_eos;
  return p;
}

TEST(SchedulerStop, StopConditions) {
  const std::vector<StopCase> cases = {
      {"eos", Params({2}, {}, 10), {5, 2, 7}, 2, FinishReason::kStop, std::nullopt},
      {"second eos id", Params({2, 3}, {}, 10), {5, 3, 7}, 2, FinishReason::kStop, std::nullopt},
      {"min_tokens holds eos back", Params({2}, {}, 10, 3), {2, 2, 2, 9}, 3, FinishReason::kStop, std::nullopt},
      {"stop token id", Params({2}, {9}, 10), {5, 9, 7}, 2, FinishReason::kStop, 9},
      {"min_tokens holds stop ids back", Params({}, {9}, 10, 2), {9, 9}, 2, FinishReason::kStop, 9},
      {"max_tokens", Params({2}, {}, 2), {5, 6, 7}, 2, FinishReason::kLength, std::nullopt},
      {"eos as the last allowed token is a stop", Params({2}, {}, 2), {5, 2}, 2, FinishReason::kStop,
       std::nullopt},
      {"ignore_eos", Params({2}, {}, 3, 0, true), {2, 2, 2, 2}, 3, FinishReason::kLength, std::nullopt},
      {"ignore_eos keeps stop ids", Params({2}, {9}, 5, 0, true), {2, 9}, 2, FinishReason::kStop, 9},
      {"max_model_len", Params({}, {}, std::nullopt), {}, 10, FinishReason::kLength, std::nullopt},
  };
  for (const StopCase& c : cases) {
    SCOPED_TRACE(c.name);
    FakeEngine e(Config(64, 16), {.num_blocks = 20, .block_size = 4});
    e.runner.Script("r", c.script);
    e.Add("r", Range(1, 6), c.params);
    e.RunUntilDone();
    ASSERT_EQ(e.tokens["r"].size(), c.expected_tokens);
    for (size_t i = 0; i < std::min(c.script.size(), c.expected_tokens); ++i) EXPECT_EQ(e.tokens["r"][i], c.script[i]);
    const EngineCoreOutput& last = e.finished["r"];
    EXPECT_EQ(last.finish_reason, c.reason);
    EXPECT_EQ(last.stop_token_id, c.stop_token_id);
    EXPECT_EQ(last.num_prompt_tokens, 6);
    EXPECT_DOUBLE_EQ(e.scheduler.kv_cache_usage(), 0.0);
  }
}

}  // namespace
}  // namespace pagoda
