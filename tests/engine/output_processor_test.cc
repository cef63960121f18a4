// OutputProcessor with hand-made engine outputs over the random model's
// byte-level vocabulary (byte b is token 2 + b, so text maps to ids one
// character per token): stop strings across tokens and inside one step,
// held-back tails, token stops, min_tokens, n and best_of, aborts, and the
// prompt data sent once.
#include "engine/output_processor.h"

#include <gtest/gtest.h>

#include "model/random_model.h"
#include "testutil/shared_data.h"

namespace pagoda {
namespace {

constexpr int32_t kEos = 1;

std::vector<int32_t> Ids(const std::string& text) {
  std::vector<int32_t> ids;
  for (unsigned char c : text) ids.push_back(2 + c);
  return ids;
}

class OutputProcessorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = testing::MakeTempDir("pagoda-outproc-");
    RandomModelSpec spec;
    ASSERT_TRUE(WriteRandomHf(spec, dir).ok());
    auto t = Tokenizer::FromHf(dir);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tokenizer_ = std::move(*t).release();
  }
  static void TearDownTestSuite() { delete tokenizer_; }

  void Add(const std::string& id, SamplingParams sp) {
    if (!sp.max_tokens) sp.max_tokens = 100;
    proc_->AddRequest({.request_id = id,
                       .prompt_token_ids = Ids("Hi"),
                       .params = sp,
                       .child_ids = ChildRequestIds(id, sp),
                       .decode_after_prompt = false});
  }
  static EngineCoreOutput Out(const std::string& id, std::vector<int32_t> ids,
                              std::optional<FinishReason> fin = std::nullopt) {
    EngineCoreOutput o;
    o.req_id = id;
    o.new_token_ids = std::move(ids);
    o.finish_reason = fin;
    o.num_prompt_tokens = 2;
    return o;
  }
  OutputProcessor::Result Step(std::vector<EngineCoreOutput> outs) {
    OutputProcessor::Result r;
    proc_->Process(outs, 0.0, &r);
    return r;
  }
  // Feeds `text` one character per step; returns every delta's text.
  std::vector<std::string> Stream(const std::string& id, const std::string& text,
                                  OutputProcessor::Result* last) {
    std::vector<std::string> deltas;
    for (int32_t t : Ids(text)) {
      *last = Step({Out(id, {t})});
      for (const RequestOutput& o : last->outputs) {
        for (const CompletionDelta& d : o.outputs) deltas.push_back(d.text);
      }
      if (!last->finished_ids.empty()) break;
    }
    return deltas;
  }

  static Tokenizer* tokenizer_;
  std::unique_ptr<OutputProcessor> proc_ = std::make_unique<OutputProcessor>(*tokenizer_);
};

Tokenizer* OutputProcessorTest::tokenizer_ = nullptr;

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += x;
  return s;
}

TEST_F(OutputProcessorTest, StopStringAcrossTokensIsNeverEmitted) {
  SamplingParams sp;
  sp.stop = {"STOP", "xyz"};
  Add("r", sp);
  OutputProcessor::Result last;
  const std::vector<std::string> deltas = Stream("r", "Hello STxSTOP and more", &last);
  const std::string final_text = "Hello STx";
  EXPECT_EQ(Join(deltas), final_text);
  // Every prefix of what was streamed is a prefix of the final text: no
  // delta ever carried text that the stop string later removed.
  std::string so_far;
  for (const std::string& d : deltas) {
    so_far += d;
    EXPECT_EQ(final_text.compare(0, so_far.size(), so_far), 0) << so_far;
  }
  // "S" and "ST" were held back until "x" decided them.
  EXPECT_EQ(deltas[6], "");
  ASSERT_EQ(last.finished_ids, std::vector<std::string>{"r"});
  ASSERT_EQ(last.stop_aborts, std::vector<std::string>{"r"});
  const CompletionDelta& d = last.outputs.back().outputs.back();
  EXPECT_TRUE(d.finished);
  EXPECT_EQ(d.finish_reason, "stop");
  EXPECT_EQ(std::get<std::string>(d.stop_reason), "STOP");
  EXPECT_FALSE(proc_->HasRequest("r"));
}

TEST_F(OutputProcessorTest, StopStringInsideOneStepDropsTheRest) {
  SamplingParams sp;
  sp.stop = {"cd"};
  Add("r", sp);
  OutputProcessor::Result r = Step({Out("r", Ids("abcdef"))});
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].outputs[0].text, "ab");
  EXPECT_EQ(r.outputs[0].outputs[0].token_ids, Ids("abcdef"));  // ids stay, as vLLM keeps them
  EXPECT_TRUE(r.outputs[0].finished);
}

TEST_F(OutputProcessorTest, IncludeStopStrInOutput) {
  SamplingParams sp;
  sp.stop = {"STOP"};
  sp.include_stop_str_in_output = true;
  Add("r", sp);
  OutputProcessor::Result last;
  EXPECT_EQ(Join(Stream("r", "ab STOPcd", &last)), "ab STOP");
}

TEST_F(OutputProcessorTest, HeldTailIsReleasedAtTheEnd) {
  SamplingParams sp;
  sp.stop = {"STOP"};
  Add("r", sp);
  OutputProcessor::Result r = Step({Out("r", Ids("abST"))});
  EXPECT_EQ(r.outputs[0].outputs[0].text, "ab");
  r = Step({Out("r", Ids("O"), FinishReason::kLength)});
  EXPECT_EQ(r.outputs[0].outputs[0].text, "STO");
  EXPECT_EQ(r.outputs[0].outputs[0].finish_reason, "length");
  EXPECT_TRUE(r.stop_aborts.empty());  // the scheduler already finished it
}

TEST_F(OutputProcessorTest, TokenStopsAddNoText) {
  SamplingParams sp;
  sp.stop_token_ids = {2 + 'z'};
  Add("eos", sp);
  Add("tok", sp);
  OutputProcessor::Result r = Step({Out("eos", {2 + 'a', kEos}, FinishReason::kStop)});
  EXPECT_EQ(r.outputs[0].outputs[0].text, "a");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(r.outputs[0].outputs[0].stop_reason));
  EngineCoreOutput o = Out("tok", {2 + 'a', 2 + 'z'}, FinishReason::kStop);
  o.stop_token_id = 2 + 'z';
  r = Step({o});
  EXPECT_EQ(r.outputs[0].outputs[0].text, "a");
  EXPECT_EQ(std::get<int32_t>(r.outputs[0].outputs[0].stop_reason), 2 + 'z');
}

TEST_F(OutputProcessorTest, StopStringsWaitForMinTokens) {
  SamplingParams sp;
  sp.stop = {"a"};
  sp.min_tokens = 3;
  Add("r", sp);
  OutputProcessor::Result last;
  // "a" at tokens 1 and 3 is ignored (not more than min_tokens outputs);
  // the one at token 5 stops.
  EXPECT_EQ(Join(Stream("r", "abaxaq", &last)), "abax");
  EXPECT_EQ(last.finished_ids.size(), 1u);
}

TEST_F(OutputProcessorTest, PromptDataSentOnceWithTheFirstOutput) {
  SamplingParams sp;
  sp.prompt_logprobs = 1;
  Add("r", sp);
  EngineCoreOutput o = Out("r", Ids("a"));
  PositionLogprobs pl;
  pl.chosen = {2 + 'i', -0.5f, 3};
  pl.top = {{2 + 'x', -0.1f, 1}};
  o.prompt_logprobs = {pl};
  o.num_cached_tokens = 0;
  OutputProcessor::Result r = Step({o});
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0].prompt_token_ids, Ids("Hi"));
  ASSERT_TRUE(r.outputs[0].prompt_logprobs.has_value());
  ASSERT_EQ(r.outputs[0].prompt_logprobs->size(), 1u);
  EXPECT_EQ((*r.outputs[0].prompt_logprobs)[0].chosen.text, "i");
  EXPECT_EQ((*r.outputs[0].prompt_logprobs)[0].top[0].text, "x");
  r = Step({Out("r", Ids("b"))});
  EXPECT_TRUE(r.outputs[0].prompt_token_ids.empty());
  EXPECT_FALSE(r.outputs[0].prompt_logprobs.has_value());
}

TEST_F(OutputProcessorTest, ParallelChoicesWaitForChoiceZero) {
  SamplingParams sp;
  sp.n = 2;
  Add("r", sp);
  // Child 1 first: held until child 0 has output.
  OutputProcessor::Result r = Step({Out("1_r", Ids("b"))});
  EXPECT_TRUE(r.outputs.empty());
  r = Step({Out("0_r", Ids("a"))});
  ASSERT_EQ(r.outputs.size(), 1u);
  ASSERT_EQ(r.outputs[0].outputs.size(), 2u);
  EXPECT_EQ(r.outputs[0].outputs[0].index, 0);
  EXPECT_EQ(r.outputs[0].outputs[0].text, "a");
  EXPECT_EQ(r.outputs[0].outputs[1].index, 1);
  EXPECT_EQ(r.outputs[0].outputs[1].text, "b");
  EXPECT_EQ(r.outputs[0].prompt_token_ids, Ids("Hi"));
  r = Step({Out("1_r", Ids("c"), FinishReason::kLength)});
  EXPECT_FALSE(r.outputs[0].finished);
  EXPECT_TRUE(r.outputs[0].outputs[0].finished);
  r = Step({Out("0_r", Ids("d"), FinishReason::kLength)});
  EXPECT_TRUE(r.outputs[0].finished);
}

TEST_F(OutputProcessorTest, BestOfDeliversTheBestByCumulativeLogprob) {
  SamplingParams sp;
  sp.n = 2;
  sp.best_of = 3;
  Add("r", sp);
  auto out = [](const std::string& id, const std::string& text, float lp) {
    EngineCoreOutput o = Out(id, Ids(text), FinishReason::kLength);
    for (size_t i = 0; i < text.size(); ++i) o.new_logprobs.push_back({{2 + text[i], lp, 1}, {}});
    return o;
  };
  OutputProcessor::Result r = Step({out("0_r", "aa", -1.0f), out("1_r", "bb", -0.25f)});
  EXPECT_TRUE(r.outputs.empty());  // best_of streams nothing
  r = Step({out("2_r", "cc", -0.5f)});
  ASSERT_EQ(r.outputs.size(), 1u);
  ASSERT_EQ(r.outputs[0].outputs.size(), 2u);
  EXPECT_EQ(r.outputs[0].outputs[0].text, "bb");
  EXPECT_EQ(r.outputs[0].outputs[0].index, 0);
  EXPECT_DOUBLE_EQ(r.outputs[0].outputs[0].cumulative_logprob, -0.5);
  EXPECT_EQ(r.outputs[0].outputs[1].text, "cc");
  EXPECT_EQ(r.outputs[0].outputs[1].index, 1);
  EXPECT_TRUE(r.outputs[0].outputs[1].logprobs.empty());  // not asked for
  EXPECT_TRUE(r.outputs[0].finished);
}

TEST_F(OutputProcessorTest, AbortFinishesEveryOpenChoice) {
  SamplingParams sp;
  sp.n = 2;
  sp.stop = {"STOP"};
  Add("r", sp);
  Step({Out("0_r", Ids("xS")), Out("1_r", Ids("y"))});
  OutputProcessor::Result r;
  const std::vector<std::string> ids = {"0_r", "1_r"};
  proc_->Abort(ids, 0.0, &r);
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_TRUE(r.outputs[0].finished);
  ASSERT_EQ(r.outputs[0].outputs.size(), 2u);
  EXPECT_EQ(r.outputs[0].outputs[0].finish_reason, "abort");
  EXPECT_EQ(r.outputs[0].outputs[0].text, "S");  // the held tail, now final
  EXPECT_EQ(r.outputs[0].outputs[1].finish_reason, "abort");
  EXPECT_EQ(proc_->num_requests(), 0u);
  EngineStats s;
  proc_->AddStats(&s);
  EXPECT_EQ(s.requests_finished_abort, 2);
}

TEST_F(OutputProcessorTest, ChildParams) {
  SamplingParams sp;
  sp.n = 2;
  sp.best_of = 3;
  sp.seed = 10;
  sp.prompt_logprobs = 2;
  EXPECT_EQ(ChildRequestIds("q", sp), (std::vector<std::string>{"0_q", "1_q", "2_q"}));
  const SamplingParams c0 = ChildSamplingParams(sp, 0, 3), c2 = ChildSamplingParams(sp, 2, 3);
  EXPECT_EQ(c0.seed, 10u);
  EXPECT_EQ(c2.seed, 12u);
  EXPECT_TRUE(c0.prompt_logprobs.has_value());
  EXPECT_FALSE(c2.prompt_logprobs.has_value());
  EXPECT_EQ(c2.logprobs, 0);  // ranking needs the sampled token's logprob
  EXPECT_EQ(c2.n, 1);
  EXPECT_FALSE(c2.best_of.has_value());
}

}  // namespace
}  // namespace pagoda
