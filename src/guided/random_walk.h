// Random constrained generation without a model, for tests and benchmarks:
// at each step the walk fills the token mask (timing it), then picks a
// token among the allowed ones, as a model sampling at high temperature
// would. After `free_steps` it steers towards the end: it takes a stop token
// when one is allowed, else the allowed token that leaves the fewest bytes
// to complete (GrammarMatcher::MinBytesToEnd), so every walk terminates.
// Thread-safety: a pure function of its arguments; run walks of one
// CompiledGrammar from several threads if you like.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "guided/compiled_grammar.h"

namespace pagoda {

struct RandomWalkOptions {
  uint64_t seed = 1;
  int32_t free_steps = 64;   // uniform choices before steering to the end
  int32_t max_steps = 4096;  // give up (terminated = false) after this many
  bool time_masks = true;
};

struct RandomWalkResult {
  std::string text;             // bytes of the accepted tokens, stop token excluded
  std::vector<int32_t> tokens;  // accepted tokens, stop token included
  bool terminated = false;      // ended with an allowed stop token
  std::string error;            // non-empty if the walk met an inconsistency
  std::vector<double> mask_us;  // time of each FillNextTokenBitmask call
};

RandomWalkResult RandomWalk(const std::shared_ptr<const CompiledGrammar>& grammar,
                            const RandomWalkOptions& options);

struct MaskTimingSummary {
  int64_t masks = 0;
  double mean_us = 0;
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

MaskTimingSummary SummarizeMaskTimes(std::vector<double> times_us);

}  // namespace pagoda
