#include "sample/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace pagoda {

int32_t Sampler::Argmax(const float* logits, int64_t vocab_size) {
  int64_t best = 0;
  for (int64_t i = 1; i < vocab_size; ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

int32_t Sampler::Sample(float* logits, int64_t vocab_size, const SamplingOptions& opts,
                        SamplerRng& rng) {
  if (opts.temperature <= 0.0f || opts.top_k == 1) return Argmax(logits, vocab_size);

  // Candidates sorted by logit, descending; ties by id so the order (and so
  // the draw) is a pure function of the logits and the generator.
  std::vector<int32_t> ids(static_cast<size_t>(vocab_size));
  std::iota(ids.begin(), ids.end(), 0);
  auto by_logit = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  size_t n = ids.size();
  if (opts.top_k > 0 && static_cast<size_t>(opts.top_k) < n) {
    n = static_cast<size_t>(opts.top_k);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), ids.end(), by_logit);
  } else {
    std::sort(ids.begin(), ids.end(), by_logit);
  }
  // Softmax over the kept candidates at the given temperature, in double.
  std::vector<double> p(n);
  const double inv_t = 1.0 / static_cast<double>(opts.temperature);
  const double max_l = logits[ids[0]];
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    p[i] = std::exp((static_cast<double>(logits[ids[i]]) - max_l) * inv_t);
    sum += p[i];
  }
  for (double& x : p) x /= sum;
  // top-p: the smallest prefix whose mass reaches top_p (at least one token).
  if (opts.top_p < 1.0f) {
    double cum = 0;
    size_t keep = 0;
    while (keep < n) {
      cum += p[keep++];
      if (cum >= static_cast<double>(opts.top_p)) break;
    }
    n = std::max<size_t>(keep, 1);
  }
  // min-p: drop tokens below min_p times the top probability.
  if (opts.min_p > 0.0f) {
    const double floor = static_cast<double>(opts.min_p) * p[0];
    size_t keep = 1;
    while (keep < n && p[keep] >= floor) ++keep;
    n = keep;
  }
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += p[i];
  // A 53-bit uniform draw from the request's generator.
  const double u = static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0) * total;
  double cum = 0;
  for (size_t i = 0; i < n; ++i) {
    cum += p[i];
    if (u < cum) return ids[i];
  }
  return ids[n - 1];
}

}  // namespace pagoda
