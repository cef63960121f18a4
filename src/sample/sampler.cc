#include "sample/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

namespace pagoda {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// vLLM's _SAMPLING_EPS: below it, temperature means greedy.
constexpr float kGreedyTemperature = 1e-5f;

bool InVocab(int32_t id, int64_t vocab_size) { return id >= 0 && id < vocab_size; }

// True when `output` ends with seq[0 .. seq.size()-1).
bool EndsWithPrefix(std::span<const int32_t> output, const std::vector<int32_t>& seq) {
  const size_t k = seq.size() - 1;
  if (output.size() < k) return false;
  return std::equal(seq.begin(), seq.begin() + static_cast<std::ptrdiff_t>(k), output.end() - static_cast<std::ptrdiff_t>(k));
}

// A 53-bit uniform draw in [0, 1) from the request's generator.
double Uniform(SamplerRng& rng) { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); }

// Without top-k or top-p nothing needs an order: softmax (and min-p, a
// threshold on it) in id order, then one draw. Sorting a 150k vocabulary
// for every token would cost milliseconds.
int32_t DrawUnsorted(const float* logits, int64_t vocab_size, const SamplingOptions& opts, SamplerRng& rng) {
  float max_l = logits[0];
  for (int64_t i = 1; i < vocab_size; ++i) max_l = std::max(max_l, logits[i]);
  if (!std::isfinite(max_l)) return 0;  // everything banned: nothing to draw from
  std::vector<double> p(static_cast<size_t>(vocab_size));
  const double inv_t = 1.0 / static_cast<double>(opts.temperature);
  for (int64_t i = 0; i < vocab_size; ++i) {
    p[static_cast<size_t>(i)] = std::exp((static_cast<double>(logits[i]) - max_l) * inv_t);
  }
  // p is relative to the top token (which has 1), so min-p's floor is min_p.
  if (opts.min_p > 0.0f) {
    for (double& x : p) {
      if (x < static_cast<double>(opts.min_p)) x = 0.0;
    }
  }
  double total = 0;
  for (double x : p) total += x;
  const double u = Uniform(rng) * total;
  double cum = 0;
  int64_t last = 0;
  for (int64_t i = 0; i < vocab_size; ++i) {
    const double x = p[static_cast<size_t>(i)];
    if (x == 0.0) continue;
    cum += x;
    last = i;
    if (u < cum) return static_cast<int32_t>(i);
  }
  return static_cast<int32_t>(last);
}

}  // namespace

int32_t Sampler::Argmax(const float* logits, int64_t vocab_size) {
  int64_t best = 0;
  for (int64_t i = 1; i < vocab_size; ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

void Sampler::ApplyLogitsProcessors(float* logits, int64_t vocab_size, const SamplingOptions& opts,
                                    const TokenHistory& history, const LogitsMaskHook* mask) {
  if (mask != nullptr && *mask) (*mask)(logits, vocab_size);
  for (const auto& [id, bias] : opts.logit_bias) {
    if (InVocab(id, vocab_size)) logits[id] += bias;
  }
  if (static_cast<int64_t>(history.output.size()) < opts.min_tokens) {
    for (int32_t id : opts.min_tokens_banned_ids) {
      if (InVocab(id, vocab_size)) logits[id] = kNegInf;
    }
  }
  for (const std::vector<int32_t>& seq : opts.bad_words_token_ids) {
    if (seq.empty() || !InVocab(seq.back(), vocab_size)) continue;
    if (EndsWithPrefix(history.output, seq)) logits[seq.back()] = kNegInf;
  }

  const bool rep = opts.repetition_penalty != 1.0f;
  const bool freq_or_presence = opts.frequency_penalty != 0.0f || opts.presence_penalty != 0.0f;
  if (!rep && !freq_or_presence) return;
  // Sparse counts: histories are short next to the vocabulary.
  std::unordered_map<int32_t, int32_t> output_counts;
  for (int32_t id : history.output) {
    if (InVocab(id, vocab_size)) ++output_counts[id];
  }
  if (rep) {
    const float p = opts.repetition_penalty;
    std::vector<bool> seen(static_cast<size_t>(vocab_size), false);
    auto penalize = [&](int32_t id) {
      if (!InVocab(id, vocab_size) || seen[static_cast<size_t>(id)]) return;
      seen[static_cast<size_t>(id)] = true;
      float& l = logits[id];
      l = l > 0 ? l / p : l * p;
    };
    for (int32_t id : history.prompt) penalize(id);
    for (int32_t id : history.output) penalize(id);
  }
  for (const auto& [id, count] : output_counts) {
    logits[id] -= opts.frequency_penalty * static_cast<float>(count);
    logits[id] -= opts.presence_penalty;
  }
}

int32_t Sampler::SampleProcessed(float* logits, int64_t vocab_size, const SamplingOptions& opts,
                                 SamplerRng& rng) {
  if (opts.temperature < kGreedyTemperature || opts.top_k == 1) return Argmax(logits, vocab_size);

  if (opts.top_k <= 0 && opts.top_p >= 1.0f) return DrawUnsorted(logits, vocab_size, opts, rng);

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
  const double max_l = logits[ids[0]];
  if (!std::isfinite(max_l)) return ids[0];  // everything banned: nothing to draw from
  // Softmax over the kept candidates at the given temperature, in double.
  std::vector<double> p(n);
  const double inv_t = 1.0 / static_cast<double>(opts.temperature);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    p[i] = std::exp((static_cast<double>(logits[ids[i]]) - max_l) * inv_t);
    sum += p[i];
  }
  for (double& x : p) x /= sum;
  // Banned tokens (probability 0) never count as candidates.
  while (n > 1 && p[n - 1] == 0.0) --n;
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
  const double u = Uniform(rng) * total;
  double cum = 0;
  for (size_t i = 0; i < n; ++i) {
    cum += p[i];
    if (u < cum) return ids[i];
  }
  return ids[n - 1];
}

PositionLogprobs Sampler::ComputeLogprobs(const float* logits, int64_t vocab_size, int32_t chosen,
                                          int32_t num_top) {
  double max_l = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < vocab_size; ++i) max_l = std::max(max_l, static_cast<double>(logits[i]));
  double sum = 0;
  for (int64_t i = 0; i < vocab_size; ++i) sum += std::exp(static_cast<double>(logits[i]) - max_l);
  const double log_z = max_l + std::log(sum);
  auto logprob = [&](int32_t id) { return static_cast<float>(static_cast<double>(logits[id]) - log_z); };
  auto rank_of = [&](int32_t id) {
    int32_t rank = 0;
    for (int64_t i = 0; i < vocab_size; ++i) rank += logits[i] >= logits[id] ? 1 : 0;
    return rank;
  };

  PositionLogprobs out;
  out.chosen = {chosen, logprob(chosen), rank_of(chosen)};
  const size_t k = static_cast<size_t>(std::clamp<int64_t>(num_top, 0, vocab_size));
  if (k > 0) {
    std::vector<int32_t> ids(static_cast<size_t>(vocab_size));
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                      [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    // Rank = 1 + others with a logit >= this one. Inside the sorted top list
    // that is the end of the token's tie group, unless the group reaches the
    // list's end: then one scan counts it.
    const float last = logits[ids[k - 1]];
    int32_t last_rank = -1;
    for (size_t i = 0; i < k; ++i) {
      const float v = logits[ids[i]];
      int32_t rank;
      if (v == last) {
        if (last_rank < 0) last_rank = rank_of(ids[i]);
        rank = last_rank;
      } else {
        size_t j = i;
        while (j + 1 < k && logits[ids[j + 1]] == v) ++j;
        rank = static_cast<int32_t>(j + 1);
      }
      out.top.push_back({ids[i], logprob(ids[i]), rank});
    }
  }
  return out;
}

SampleResult Sampler::Sample(float* logits, int64_t vocab_size, const SamplingOptions& opts,
                             const TokenHistory& history, SamplerRng& rng, const LogitsMaskHook* mask) {
  SampleResult result;
  std::vector<float> raw;
  if (opts.num_logprobs >= 0) raw.assign(logits, logits + vocab_size);
  ApplyLogitsProcessors(logits, vocab_size, opts, history, mask);
  result.token_id = SampleProcessed(logits, vocab_size, opts, rng);
  if (opts.num_logprobs >= 0) {
    result.logprobs = ComputeLogprobs(raw.data(), vocab_size, result.token_id, opts.num_logprobs);
  }
  return result;
}

int32_t Sampler::Sample(float* logits, int64_t vocab_size, const SamplingOptions& opts, SamplerRng& rng) {
  SamplingOptions o = opts;
  o.num_logprobs = -1;
  return Sample(logits, vocab_size, o, TokenHistory{}, rng).token_id;
}

}  // namespace pagoda
