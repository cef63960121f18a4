#include "guided/random_walk.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "guided/grammar_matcher.h"

namespace pagoda {

RandomWalkResult RandomWalk(const std::shared_ptr<const CompiledGrammar>& grammar,
                            const RandomWalkOptions& options) {
  RandomWalkResult r;
  GrammarMatcher m(grammar);
  const TokenizerInfo& info = grammar->tokenizer_info();
  std::vector<uint32_t> mask(m.BitmaskWords());
  std::mt19937_64 rng(options.seed);
  std::vector<int32_t> allowed;
  for (int32_t step = 0; step < options.max_steps; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    m.FillNextTokenBitmask(mask.data());
    if (options.time_masks) {
      r.mask_us.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    allowed.clear();
    bool stop_allowed = false;
    for (int32_t w = 0; w < static_cast<int32_t>(mask.size()); ++w) {
      for (uint32_t bits = mask[w]; bits != 0; bits &= bits - 1) {
        const int32_t id = w * 32 + __builtin_ctz(bits);
        allowed.push_back(id);
        stop_allowed = stop_allowed || info.IsStop(id);
      }
    }
    if (allowed.empty()) {
      r.error = "no token allowed after " + std::to_string(r.tokens.size()) + " tokens";
      return r;
    }
    int32_t pick = -1;
    if (step < options.free_steps) {
      pick = allowed[std::uniform_int_distribution<size_t>(0, allowed.size() - 1)(rng)];
    } else if (stop_allowed) {
      for (int32_t id : allowed) {
        if (info.IsStop(id)) pick = id;
      }
    } else {
      // Steer to the end: try a bounded random sample plus every one-byte
      // token, keep the one leaving the least to complete.
      std::shuffle(allowed.begin(), allowed.end(), rng);
      int64_t best = Grammar::kUnreachable;
      for (size_t i = 0; i < allowed.size(); ++i) {
        const int32_t id = allowed[i];
        if (i >= 512 && info.TokenBytes(id).size() != 1) continue;
        if (!m.AcceptToken(id)) {
          r.error = "masked-in token " + std::to_string(id) + " rejected by AcceptToken";
          return r;
        }
        const int64_t left = m.MinBytesToEnd();
        m.Rollback(1);
        if (left < best) {
          best = left;
          pick = id;
        }
      }
    }
    if (!m.AcceptToken(pick)) {
      r.error = "masked-in token " + std::to_string(pick) + " rejected by AcceptToken";
      return r;
    }
    r.tokens.push_back(pick);
    if (info.IsStop(pick)) {
      r.terminated = m.IsTerminated();
      return r;
    }
    r.text += info.TokenBytes(pick);
  }
  return r;
}

MaskTimingSummary SummarizeMaskTimes(std::vector<double> t) {
  MaskTimingSummary s;
  if (t.empty()) return s;
  std::sort(t.begin(), t.end());
  s.masks = static_cast<int64_t>(t.size());
  double sum = 0;
  for (double x : t) sum += x;
  s.mean_us = sum / t.size();
  s.p50_us = t[t.size() / 2];
  s.p99_us = t[std::min(t.size() - 1, t.size() * 99 / 100)];
  s.max_us = t.back();
  return s;
}

}  // namespace pagoda
