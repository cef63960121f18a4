// Preemption when KV blocks run out (FCFS and priority), and the priority
// policy's admission order.
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

SchedulerConfig Config(int max_model_len, SchedulingPolicy policy = SchedulingPolicy::kFcfs) {
  return {.max_num_batched_tokens = 64, .max_num_seqs = 8, .max_model_len = max_model_len, .policy = policy};
}

TEST(SchedulerPreemption, TheRequestThatCannotGrowIsTheNewestAndPreemptsItself) {
  // 5 usable blocks of 4 tokens.
  FakeEngine e(Config(20), {.num_blocks = 6, .block_size = 4});
  e.Add("a", Range(1, 7), MaxTokens(4));
  e.Add("b", Range(100, 7), MaxTokens(3));
  EXPECT_EQ(e.Step(), "a 0+7 [1,2] new sample | b 0+7 [3,4] new sample");
  EXPECT_EQ(e.Step(), "a 7+1 [1,2] sample | b 7+1 [3,4] sample");
  // a takes the last free block; b needs one more and is the newest: it is
  // preempted, its blocks freed last-first, and nothing is admitted.
  EXPECT_EQ(e.Step(), "a 8+1 [1,2,5] sample");
  EXPECT_EQ(e.last.preempted_req_ids, Names{"b"});
  EXPECT_EQ(e.FreeBlockIds(), (Ids{4, 3}));
  const Request* b = e.scheduler.GetRequest("b");
  EXPECT_EQ(b->status(), RequestStatus::kPreempted);
  EXPECT_EQ(b->num_computed_tokens(), 0);
  EXPECT_EQ(b->num_preemptions(), 1);
  EXPECT_EQ(b->num_tokens(), 9);
  // b's two full blocks are still cached, but it needs a third: it waits.
  EXPECT_EQ(e.Step(), "a 9+1 [1,2,5] sample");
  EXPECT_EQ(e.finished["a"].finish_reason, FinishReason::kLength);
  // a is done; b resumes from its cached blocks 3 and 4 (8 tokens) and
  // recomputes the rest; is_new stays false.
  EXPECT_EQ(e.Step(), "b 8+1 [3,4,5] sample");
  EXPECT_EQ(e.last.finished_req_ids, Names{"a"});
  EXPECT_EQ(e.finished["b"].finish_reason, FinishReason::kLength);
  EXPECT_EQ(e.finished["b"].num_cached_tokens, 0);  // counted at the first schedule only

  // The same request alone, never preempted, produces the same tokens.
  FakeEngine alone(Config(20), {.num_blocks = 20, .block_size = 4});
  alone.Add("b", Range(100, 7), MaxTokens(3));
  alone.RunUntilDone();
  EXPECT_EQ(e.tokens["b"], alone.tokens["b"]);
}

TEST(SchedulerPreemption, NewestRunningRequestIsTheVictimAndResumesByRecompute) {
  // 6 usable blocks of 4 tokens.
  FakeEngine e(Config(24), {.num_blocks = 7, .block_size = 4});
  e.Add("a", Range(1, 8), MaxTokens(2));
  e.Add("b", Range(100, 7), MaxTokens(3));
  e.Add("c", Range(200, 7), MaxTokens(3));
  EXPECT_EQ(e.Step(), "a 0+8 [1,2] new sample | b 0+7 [3,4] new sample | c 0+7 [5,6] new sample");
  EXPECT_EQ(e.scheduler.kv_cache_usage(), 1.0);
  // a needs a third block: c (newest) is preempted, a gets c's last block.
  EXPECT_EQ(e.Step(), "a 8+1 [1,2,6] sample | b 7+1 [3,4] sample");
  EXPECT_EQ(e.last.preempted_req_ids, Names{"c"});
  EXPECT_EQ(e.finished["a"].finish_reason, FinishReason::kLength);
  // c's 5 is left, then a's blocks, freed last-first when it finished.
  EXPECT_EQ(e.FreeBlockIds(), (Ids{5, 6, 2, 1}));
  // a finished and freed [6, 2, 1] behind 5. b grows into 5, evicting c's
  // cached first block, so c recomputes all 8 of its tokens (7 prompt + 1 output).
  EXPECT_EQ(e.Step(), "b 8+1 [3,4,5] sample | c 0+8 [6,2] sample");
  EXPECT_EQ(e.Step(), "c 8+1 [6,2,1] sample");
  EXPECT_FALSE(e.scheduler.HasUnfinishedRequests());

  FakeEngine alone(Config(24), {.num_blocks = 20, .block_size = 4});
  alone.Add("c", Range(200, 7), MaxTokens(3));
  alone.Add("b", Range(100, 7), MaxTokens(3));
  alone.RunUntilDone();
  EXPECT_EQ(e.tokens["b"], alone.tokens["b"]);
  EXPECT_EQ(e.tokens["c"], alone.tokens["c"]);
}

TEST(SchedulerPriority, WaitingRequestsAreAdmittedByPriorityThenArrival) {
  SchedulerConfig sc = Config(64, SchedulingPolicy::kPriority);
  sc.max_num_seqs = 1;
  FakeEngine e(sc, {.num_blocks = 20, .block_size = 4});
  e.Add("low", Range(1, 3), MaxTokens(1), {.arrival_time = 0, .priority = 5});
  e.Add("high", Range(10, 3), MaxTokens(1), {.arrival_time = 1, .priority = 0});
  e.Add("mid-late", Range(20, 3), MaxTokens(1), {.arrival_time = 3, .priority = 1});
  e.Add("mid-early", Range(30, 3), MaxTokens(1), {.arrival_time = 2, .priority = 1});
  EXPECT_EQ(e.Step(), "high 0+3 [1] new sample");
  EXPECT_EQ(e.Step(), "mid-early 0+3 [2] new sample");
  EXPECT_EQ(e.Step(), "mid-late 0+3 [3] new sample");
  EXPECT_EQ(e.Step(), "low 0+3 [4] new sample");
}

TEST(SchedulerPriority, FcfsIgnoresPriority) {
  SchedulerConfig sc = Config(64);
  sc.max_num_seqs = 1;
  FakeEngine e(sc, {.num_blocks = 20, .block_size = 4});
  e.Add("low", Range(1, 3), MaxTokens(1), {.arrival_time = 0, .priority = 5});
  e.Add("high", Range(10, 3), MaxTokens(1), {.arrival_time = 1, .priority = 0});
  EXPECT_EQ(e.Step(), "low 0+3 [1] new sample");
  EXPECT_EQ(e.Step(), "high 0+3 [2] new sample");
}

TEST(SchedulerPriority, LowestPriorityIsPreemptedNotTheNewest) {
  // 6 usable blocks.
  FakeEngine e(Config(24, SchedulingPolicy::kPriority), {.num_blocks = 7, .block_size = 4});
  e.Add("a", Range(1, 8), MaxTokens(3), {.arrival_time = 0, .priority = 0});
  e.Add("b", Range(100, 7), MaxTokens(3), {.arrival_time = 1, .priority = 2});
  e.Add("c", Range(200, 7), MaxTokens(3), {.arrival_time = 2, .priority = 1});
  EXPECT_EQ(e.Step(), "a 0+8 [1,2] new sample | c 0+7 [3,4] new sample | b 0+7 [5,6] new sample");
  // a needs a block: b (priority 2) goes, although c arrived later.
  EXPECT_EQ(e.Step(), "a 8+1 [1,2,6] sample | c 7+1 [3,4] sample");
  EXPECT_EQ(e.last.preempted_req_ids, Names{"b"});
  EXPECT_EQ(e.scheduler.GetRequest("b")->status(), RequestStatus::kPreempted);
}

TEST(SchedulerPriority, AVictimAlreadyScheduledThisStepGivesBackItsTokens) {
  // 4 usable blocks.
  FakeEngine e(Config(16, SchedulingPolicy::kPriority), {.num_blocks = 5, .block_size = 4});
  e.Add("a", Range(1, 6), MaxTokens(5), {.arrival_time = 0, .priority = 1});
  EXPECT_EQ(e.Step(), "a 0+6 [1,2] new sample");
  e.Add("b", Range(100, 8), MaxTokens(2), {.arrival_time = 1, .priority = 0});
  EXPECT_EQ(e.Step(), "a 6+1 [1,2] sample | b 0+8 [3,4] new sample");
  // a is scheduled first (it fits), then b needs a block: a has the lower
  // priority, so it is taken back out of this step and preempted.
  EXPECT_EQ(e.Step(), "b 8+1 [3,4,2] sample");
  EXPECT_EQ(e.last.total_num_scheduled_tokens, 1);
  EXPECT_EQ(e.last.preempted_req_ids, Names{"a"});
  EXPECT_EQ(e.finished["b"].finish_reason, FinishReason::kLength);
  // a's 1 is left, then b's blocks, freed last-first when it finished.
  EXPECT_EQ(e.FreeBlockIds(), (Ids{1, 2, 4, 3}));
  // b finished; a resumes from its cached first block. (Its second block was
  // cached when step 3 scheduled it, then uncached when a was taken back
  // out of that step: it never held those tokens.)
  EXPECT_EQ(e.Step(), "a 4+4 [1,2] sample");
  e.RunUntilDone();

  FakeEngine alone(Config(16), {.num_blocks = 20, .block_size = 4});
  alone.Add("a", Range(1, 6), MaxTokens(5));
  alone.RunUntilDone();
  EXPECT_EQ(e.tokens["a"], alone.tokens["a"]);
  EXPECT_EQ(e.tokens["a"].size(), 5u);
}

}  // namespace
}  // namespace pagoda
