// Logprobs: the log-probabilities reported for one token position — the
// token that was chosen (sampled, or the actual next prompt token for
// prompt_logprobs) and the top-N alternatives. Plain data produced by the
// runner, carried through the scheduler's outputs to the OutputProcessor;
// thread-compatible.
//
// Values are the RAW model distribution, log_softmax of the logits before
// any logits processor (bias, penalties, temperature, top-k/p), as vLLM V1
// returns them by default.
#pragma once

#include <cstdint>
#include <vector>

namespace pagoda {

struct TokenLogprob {
  int32_t token_id = 0;
  float logprob = 0.0f;
  // 1-based rank in the distribution: 1 + the number of other tokens with a
  // logprob >= this one's (ties count against it, as vLLM counts them).
  int32_t rank = 0;
};

struct PositionLogprobs {
  TokenLogprob chosen;              // the sampled token / the actual prompt token
  std::vector<TokenLogprob> top;    // the N most likely, best first (ties: lower id first)
};

}  // namespace pagoda
