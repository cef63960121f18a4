// Sampler: turns one row of logits into a token id under a request's
// sampling options, drawing from that request's own seeded generator (so a
// request's tokens never depend on what else is in the batch).
// Processors run in a fixed order: temperature, top-k, top-p, min-p; then a
// draw (or argmax when temperature is 0). Stateless: thread-safe; the
// generator belongs to the caller.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace pagoda {

struct SamplingOptions {
  float temperature = 1.0f;  // 0 = greedy
  int32_t top_k = 0;         // <= 0: off
  float top_p = 1.0f;        // 1: off
  float min_p = 0.0f;        // 0: off
};

// The per-request random generator. A request with a seed gets the same
// stream whatever else runs; one without gets a fresh random seed.
using SamplerRng = std::mt19937_64;

class Sampler {
 public:
  // `logits` is clobbered (used as scratch). Ties in greedy pick the lowest id.
  static int32_t Sample(float* logits, int64_t vocab_size, const SamplingOptions& opts,
                        SamplerRng& rng);
  static int32_t Argmax(const float* logits, int64_t vocab_size);
};

}  // namespace pagoda
