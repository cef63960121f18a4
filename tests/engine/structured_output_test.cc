// Structured output in the engine on a random-weight model at temperature 1
// (the worst case): constraints compile at validation (bad ones are
// InvalidArgument naming the problem), every output matches its
// constraint and finishes with "stop" (jump-forward appends forced tokens),
// seeded constrained outputs do not
// depend on the batch, n > 1 children each follow the grammar, and matchers
// are dropped when requests finish.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "engine/engine_client.h"
#include "engine/llm_engine.h"
#include "model/random_model.h"
#include "testutil/shared_data.h"

namespace pagoda {
namespace {

const std::string& ModelPath() {
  static const std::string path = [] {
    const std::string p = testing::MakeTempDir("pagoda-structured-") + "/random.gguf";
    RandomModelSpec spec;
    spec.vocab_size = 600;
    EXPECT_TRUE(WriteRandomGguf(spec, p).ok());
    return p;
  }();
  return path;
}

std::unique_ptr<LLMEngine> MakeEngine() {
  EngineConfig cfg;
  cfg.model.model = ModelPath();
  cfg.model.threads = 1;
  cfg.model.max_model_len = 512;
  cfg.cache.block_size = 16;
  cfg.cache.num_kv_blocks = 512;
  auto e = LLMEngine::Create(cfg);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(*e) : nullptr;
}

SamplingParams Constrained(StructuredOutputSpec spec, uint64_t seed) {
  SamplingParams sp;
  sp.temperature = 1.0f;
  sp.seed = seed;
  sp.max_tokens = 300;
  sp.structured_output = std::move(spec);
  return sp;
}

StructuredOutputSpec Regex(std::string r) { return {.kind = StructuredOutputSpec::Kind::kRegex, .text = std::move(r)}; }

TEST(StructuredOutputEngine, BadConstraintsAreInvalidArgument) {
  auto engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  struct Case {
    StructuredOutputSpec spec;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {Regex("[a-z"), "regex"},
      {{.kind = StructuredOutputSpec::Kind::kJsonSchema, .text = R"({"type": "object", "propertyNames": {}})"},
       "propertyNames"},
      {{.kind = StructuredOutputSpec::Kind::kJsonSchema, .text = "{not json"}, "JSON"},
      {{.kind = StructuredOutputSpec::Kind::kChoice}, "empty"},
      {{.kind = StructuredOutputSpec::Kind::kGrammar, .text = "root ::= undefined_rule"}, "undefined_rule"},
  };
  for (const Case& c : cases) {
    Status s = engine->AddRequest("bad", {0, 5, 6}, Constrained(c.spec, 1));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.needle;
    EXPECT_NE(s.message().find(c.needle), std::string::npos) << s.message();
  }
  EXPECT_FALSE(engine->HasUnfinishedRequests());
}

TEST(StructuredOutputEngine, OutputsMatchAndStop) {
  auto engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  const std::vector<std::string> choices = {"alpha", "beta", "al", "gamma delta"};
  const std::string pattern = "[a-z]{2,6}-[0-9]{1,3}(\\.[0-9]{2})?";
  for (uint64_t seed = 0; seed < 16; ++seed) {
    const std::vector<std::vector<int32_t>> prompts = {{0, 10, 20}, {0, 30, 40, 50}};
    auto a = engine->GenerateFromIds(prompts, Constrained({.kind = StructuredOutputSpec::Kind::kChoice,
                                                           .choices = choices},
                                                          seed));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    for (const CompletionOutput& o : *a) {
      EXPECT_NE(std::find(choices.begin(), choices.end(), o.text), choices.end()) << o.text;
      EXPECT_EQ(o.finish_reason, FinishReason::kStop);
    }
    auto b = engine->GenerateFromIds(prompts, Constrained(Regex(pattern), seed));
    ASSERT_TRUE(b.ok());
    for (const CompletionOutput& o : *b) {
      EXPECT_TRUE(std::regex_match(o.text, std::regex(pattern))) << o.text;
      EXPECT_EQ(o.finish_reason, FinishReason::kStop);
    }
  }
  // Jump-forward: after a whole choice the stop token is the only
  // continuation, so it is appended without a forward pass of its own.
  EXPECT_GT(engine->structured_output().total_forced_tokens(), 0);
  // Every matcher is gone once the runner has heard the requests finished.
  EXPECT_EQ(engine->structured_output().num_matchers(), 0u);
}

TEST(StructuredOutputEngine, SeededOutputIndependentOfBatch) {
  auto engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  const StructuredOutputSpec schema{
      .kind = StructuredOutputSpec::Kind::kJsonSchema,
      .text = R"({"type":"object","properties":{"a":{"type":"integer","minimum":0,"maximum":999},
                  "b":{"type":"string","maxLength":8}},"required":["a","b"]})"};
  const std::vector<int32_t> prompt = {0, 11, 22, 33};
  auto solo = engine->GenerateFromIds({prompt}, Constrained(schema, 42));
  ASSERT_TRUE(solo.ok());
  std::vector<std::vector<int32_t>> batch;
  for (int i = 0; i < 6; ++i) batch.push_back({0, static_cast<int32_t>(50 + i), 7});
  batch.insert(batch.begin() + 3, prompt);
  auto mixed = engine->GenerateFromIds(batch, Constrained(schema, 42));
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ((*mixed)[3].token_ids, (*solo)[0].token_ids);
  // With logprobs, no token is forced (each has a distribution to report),
  // and the output is still valid.
  SamplingParams with_logprobs = Constrained(schema, 42);
  with_logprobs.logprobs = 2;
  const int64_t forced_before = engine->structured_output().total_forced_tokens();
  auto lp = engine->GenerateFromIds({prompt}, with_logprobs);
  ASSERT_TRUE(lp.ok());
  EXPECT_EQ(engine->structured_output().total_forced_tokens(), forced_before);
  EXPECT_EQ((*lp)[0].finish_reason, FinishReason::kStop);
  EXPECT_EQ((*solo)[0].finish_reason, FinishReason::kStop);
  // An unconstrained request beside constrained ones is unchanged too.
  SamplingParams free;
  free.temperature = 1.0f;
  free.seed = 9;
  free.max_tokens = 20;
  auto plain = engine->GenerateFromIds({prompt}, free);
  ASSERT_TRUE(plain.ok());
  std::string expected_text = (*plain)[0].text;
  auto again = engine->GenerateFromIds({prompt}, free);
  EXPECT_EQ((*again)[0].text, expected_text);
}

TEST(StructuredOutputEngine, ChildrenOfOneRequestEachFollowTheGrammar) {
  auto engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  EngineClient client(std::move(engine));
  GenerateRequest r;
  r.request_id = "n4";
  r.prompt_token_ids = {0, 5, 6, 7};
  r.sampling_params = Constrained(Regex("(yes|no|maybe)!"), 3);
  r.sampling_params.n = 4;
  auto stream = client.Submit(r);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  std::map<int, std::string> text;
  std::map<int, std::string> reason;
  while (auto o = (*stream)->Next()) {
    for (const CompletionDelta& d : o->outputs) {
      text[d.index] += d.text;
      if (d.finish_reason) reason[d.index] = *d.finish_reason;
    }
  }
  ASSERT_EQ(text.size(), 4u);
  for (const auto& [i, t] : text) {
    EXPECT_TRUE(t == "yes!" || t == "no!" || t == "maybe!") << t;
    EXPECT_EQ(reason[i], "stop");
  }
  GenerateRequest bad = r;
  bad.request_id = "bad";
  bad.sampling_params.structured_output = Regex("(unclosed");
  Status s = client.Submit(bad, [](RequestOutput) {});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pagoda
