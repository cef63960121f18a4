// Sampler: each logits processor against a hand computation on a tiny
// vocabulary, the fixed processor order, logprobs against an independent
// log_softmax, and seeded draws.
#include "sample/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <vector>

namespace pagoda {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> Process(std::vector<float> logits, const SamplingOptions& o, std::vector<int32_t> prompt,
                           std::vector<int32_t> output) {
  Sampler::ApplyLogitsProcessors(logits.data(), static_cast<int64_t>(logits.size()), o,
                                 TokenHistory{prompt, output});
  return logits;
}

TEST(SamplerTest, PenaltiesMatchHandComputation) {
  // Vocabulary of 6. Prompt {1, 2}, output {2, 3, 3}.
  const std::vector<float> logits = {1.0f, 2.0f, -1.0f, 0.5f, 3.0f, -2.0f};
  SamplingOptions o;
  o.repetition_penalty = 2.0f;
  o.frequency_penalty = 0.25f;
  o.presence_penalty = 0.5f;
  const std::vector<float> got = Process(logits, o, {1, 2}, {2, 3, 3});
  // Repetition over prompt + output {1, 2, 3}: positive / 2, negative * 2.
  // Then frequency (counts in the output: 2 -> 1, 3 -> 2) and presence.
  const std::vector<float> want = {
      1.0f,                        // untouched
      2.0f / 2,                    // prompt only: repetition, no frequency/presence
      -1.0f * 2 - 0.25f * 1 - 0.5f,
      0.5f / 2 - 0.25f * 2 - 0.5f,
      3.0f,
      -2.0f,
  };
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(got[i], want[i]) << "token " << i;
}

TEST(SamplerTest, LogitBiasMinTokensAndBadWords) {
  const std::vector<float> logits = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f};
  SamplingOptions o;
  o.logit_bias = {{0, 5.0f}, {4, -1.5f}};
  o.min_tokens = 2;
  o.min_tokens_banned_ids = {3};  // e.g. EOS
  o.bad_words_token_ids = {{2}, {1, 4}};  // 2 always; 4 only right after 1
  // One output token so far, and it is 1: min_tokens still bans 3, and the
  // bad sequence {1, 4} bans 4.
  std::vector<float> got = Process(logits, o, {0}, {1});
  EXPECT_FLOAT_EQ(got[0], 5.0f);
  EXPECT_FLOAT_EQ(got[1], 1.0f);
  EXPECT_EQ(got[2], -kInf);
  EXPECT_EQ(got[3], -kInf);
  EXPECT_EQ(got[4], -kInf);
  // Two outputs ending in 0: min_tokens is met, {1, 4} does not match.
  got = Process(logits, o, {0}, {1, 0});
  EXPECT_FLOAT_EQ(got[3], 3.0f);
  EXPECT_FLOAT_EQ(got[4], 2.5f);
  EXPECT_EQ(got[2], -kInf);
}

TEST(SamplerTest, BiasComesBeforePenalties) {
  // The fixed order: bias first, so a penalty scales the biased logit.
  SamplingOptions o;
  o.logit_bias = {{0, 3.0f}};
  o.repetition_penalty = 2.0f;
  const std::vector<float> got = Process({-1.0f, 0.0f}, o, {0}, {});
  EXPECT_FLOAT_EQ(got[0], (-1.0f + 3.0f) / 2.0f);
}

TEST(SamplerTest, MaskHookRunsFirst) {
  std::vector<float> logits = {0.0f, 9.0f, 1.0f};
  LogitsMaskHook mask = [](float* l, int64_t) { l[1] = -kInf; };
  SamplingOptions o;
  o.temperature = 0;
  SamplerRng rng(1);
  EXPECT_EQ(Sampler::Sample(logits.data(), 3, o, TokenHistory{}, rng, &mask).token_id, 2);
}

TEST(SamplerTest, GreedyUsesProcessedLogits) {
  std::vector<float> logits = {5.0f, 4.0f, 1.0f};
  SamplingOptions o;
  o.temperature = 0;
  o.presence_penalty = 2.0f;
  SamplerRng rng(1);
  const std::vector<int32_t> out = {0};
  EXPECT_EQ(Sampler::Sample(logits.data(), 3, o, TokenHistory{{}, out}, rng).token_id, 1);
}

TEST(SamplerTest, LogprobsAreRawLogSoftmax) {
  const std::vector<float> logits = {0.3f, -1.2f, 2.5f, 2.5f, 0.0f, -7.0f, 1.1f};
  // Independent log_softmax in long double.
  long double m = -1e30L, z = 0;
  for (float l : logits) m = std::max<long double>(m, l);
  for (float l : logits) z += std::exp(static_cast<long double>(l) - m);
  auto lp = [&](int i) { return static_cast<double>(static_cast<long double>(logits[i]) - m - std::log(z)); };

  SamplingOptions o;
  o.temperature = 0.7f;
  o.repetition_penalty = 1.5f;  // processors must not change reported values
  o.logit_bias = {{5, 20.0f}};
  o.num_logprobs = 3;
  std::vector<float> work = logits;
  SamplerRng rng(42);
  const std::vector<int32_t> prompt = {2};
  SampleResult r = Sampler::Sample(work.data(), 7, o, TokenHistory{prompt, {}}, rng);
  ASSERT_TRUE(r.logprobs.has_value());
  EXPECT_EQ(r.token_id, 5);  // the bias makes 5 all but certain
  EXPECT_NEAR(r.logprobs->chosen.logprob, lp(5), 1e-6);
  EXPECT_EQ(r.logprobs->chosen.token_id, 5);
  EXPECT_EQ(r.logprobs->chosen.rank, 7);
  ASSERT_EQ(r.logprobs->top.size(), 3u);
  // Tie between 2 and 3: lower id first, both rank 2 (vLLM counts >=).
  EXPECT_EQ(r.logprobs->top[0].token_id, 2);
  EXPECT_EQ(r.logprobs->top[1].token_id, 3);
  EXPECT_EQ(r.logprobs->top[0].rank, 2);
  EXPECT_EQ(r.logprobs->top[1].rank, 2);
  EXPECT_EQ(r.logprobs->top[2].token_id, 6);
  EXPECT_EQ(r.logprobs->top[2].rank, 3);
  EXPECT_NEAR(r.logprobs->top[0].logprob, lp(2), 1e-6);
  EXPECT_NEAR(r.logprobs->top[2].logprob, lp(6), 1e-6);
}

TEST(SamplerTest, TopKTopPMinPRestrictTheDraw) {
  const std::vector<float> logits = {3.0f, 2.9f, 1.0f, 0.0f, -1.0f};
  auto draws = [&](SamplingOptions o) {
    std::map<int32_t, int> seen;
    SamplerRng rng(7);
    for (int i = 0; i < 400; ++i) {
      std::vector<float> w = logits;
      ++seen[Sampler::Sample(w.data(), 5, o, rng)];
    }
    return seen;
  };
  SamplingOptions o;
  o.top_k = 2;
  for (const auto& [id, n] : draws(o)) EXPECT_LT(id, 2);
  o = {};
  o.top_p = 0.5f;  // token 0 alone holds < 0.5, tokens 0 and 1 reach it
  for (const auto& [id, n] : draws(o)) EXPECT_LT(id, 2);
  o = {};
  o.min_p = 0.5f;  // p(2) / p(0) = e^-2 < 0.5
  for (const auto& [id, n] : draws(o)) EXPECT_LT(id, 2);
  o = {};
  EXPECT_GE(draws(o).size(), 4u);  // unrestricted: the tail shows up
}

TEST(SamplerTest, DrawFrequenciesFollowTheSoftmax) {
  // Both draw paths: unsorted (no top-k/top-p) and sorted (top-p that keeps
  // everything), at temperature 0.5: p ~ exp(2 * logit).
  const std::vector<float> logits = {0.0f, 0.5f, 1.0f};
  double z = 0;
  for (float l : logits) z += std::exp(2.0 * l);
  for (float top_p : {1.0f, 0.9999f}) {
    SamplingOptions o;
    o.temperature = 0.5f;
    o.top_p = top_p;
    SamplerRng rng(3);
    std::vector<int> count(3, 0);
    const int n = 40000;
    for (int i = 0; i < n; ++i) {
      std::vector<float> w = logits;
      ++count[static_cast<size_t>(Sampler::Sample(w.data(), 3, o, rng))];
    }
    for (int t = 0; t < 3; ++t) {
      EXPECT_NEAR(static_cast<double>(count[static_cast<size_t>(t)]) / n, std::exp(2.0 * logits[static_cast<size_t>(t)]) / z, 0.01)
          << "token " << t << " top_p " << top_p;
    }
  }
}

TEST(SamplerTest, SameSeedSameDraws) {
  const std::vector<float> logits = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  SamplingOptions o;
  SamplerRng a(123), b(123);
  for (int i = 0; i < 50; ++i) {
    std::vector<float> x = logits, y = logits;
    EXPECT_EQ(Sampler::Sample(x.data(), 6, o, a), Sampler::Sample(y.data(), 6, o, b));
  }
}

TEST(SamplerTest, EverythingBannedStillReturnsAToken) {
  std::vector<float> logits = {-kInf, -kInf};
  SamplingOptions o;
  SamplerRng rng(1);
  const int32_t t = Sampler::Sample(logits.data(), 2, o, rng);
  EXPECT_TRUE(t == 0 || t == 1);
}

}  // namespace
}  // namespace pagoda
