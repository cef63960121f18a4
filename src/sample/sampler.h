// Sampler: turns one row of logits into a token id under a request's
// sampling options, drawing from that request's own seeded generator (so a
// request's tokens never depend on what else is in the batch).
//
// Logits processors run in a fixed order, vLLM's semantics for each:
//   1. structured-output mask (a hook; tokens it bans become -inf)
//   2. logit_bias (added to the logits)
//   3. min_tokens (EOS and stop_token_ids banned until min_tokens outputs)
//   4. bad_words (the last token of a bad sequence banned when the output
//      ends with the rest of it)
//   5. penalties: repetition over prompt + output tokens (a positive logit is
//      divided by it, a negative one multiplied), then frequency (times the
//      count in the output) and presence (once if in the output)
//   6. temperature (< 1e-5: greedy argmax of the processed logits)
//   7. top-k, 8. top-p, 9. min-p; then a draw.
// Logprobs are computed from the RAW logits (log_softmax before any
// processor), as vLLM V1 returns them by default.
//
// Stateless: thread-safe; the generator belongs to the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "sched/logprobs.h"

namespace pagoda {

struct SamplingOptions {
  float temperature = 1.0f;  // < 1e-5: greedy
  int32_t top_k = 0;         // <= 0: off
  float top_p = 1.0f;        // 1: off
  float min_p = 0.0f;        // 0: off
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  float repetition_penalty = 1.0f;  // 1: off
  std::vector<std::pair<int32_t, float>> logit_bias;
  int32_t min_tokens = 0;
  // Banned while fewer than min_tokens outputs exist: EOS (unless
  // ignore_eos) and stop_token_ids.
  std::vector<int32_t> min_tokens_banned_ids;
  std::vector<std::vector<int32_t>> bad_words_token_ids;
  // < 0: no logprobs; N >= 0: the sampled token's logprob and the top N.
  int32_t num_logprobs = -1;
};

// The request's tokens so far; penalties, min_tokens and bad_words read them.
struct TokenHistory {
  std::span<const int32_t> prompt;
  std::span<const int32_t> output;
};

// Structured output's hook: bans tokens by setting their logits to -inf.
using LogitsMaskHook = std::function<void(float* logits, int64_t vocab_size)>;

struct SampleResult {
  int32_t token_id = 0;
  std::optional<PositionLogprobs> logprobs;  // when options.num_logprobs >= 0
};

// The per-request random generator. A request with a seed gets the same
// stream whatever else runs; one without gets a fresh random seed.
using SamplerRng = std::mt19937_64;

class Sampler {
 public:
  // The full pipeline. `logits` is clobbered (processed in place).
  static SampleResult Sample(float* logits, int64_t vocab_size, const SamplingOptions& opts,
                             const TokenHistory& history, SamplerRng& rng,
                             const LogitsMaskHook* mask = nullptr);
  // Without history (no penalties or min_tokens apply) and without logprobs.
  static int32_t Sample(float* logits, int64_t vocab_size, const SamplingOptions& opts,
                        SamplerRng& rng);

  // Steps 1-5, in place (exposed for tests).
  static void ApplyLogitsProcessors(float* logits, int64_t vocab_size, const SamplingOptions& opts,
                                    const TokenHistory& history, const LogitsMaskHook* mask = nullptr);
  // Steps 6-9 and the draw on already processed logits (clobbered).
  static int32_t SampleProcessed(float* logits, int64_t vocab_size, const SamplingOptions& opts,
                                 SamplerRng& rng);
  // log_softmax of `logits` (in double): `chosen`'s logprob and rank, and the
  // top `num_top` tokens.
  static PositionLogprobs ComputeLogprobs(const float* logits, int64_t vocab_size, int32_t chosen,
                                          int32_t num_top);
  // Ties pick the lowest id.
  static int32_t Argmax(const float* logits, int64_t vocab_size);
};

}  // namespace pagoda
