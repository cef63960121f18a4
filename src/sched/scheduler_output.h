// SchedulerOutput and ModelRunnerOutput: the contract between the Scheduler
// and the model runner, one pair per engine step. Plain data built and read
// on the engine thread; not thread-safe, by design.
//
// Meaning of a step: for each scheduled request, compute KV (and the forward)
// for token_ids at positions [num_computed_tokens, num_computed_tokens +
// token_ids.size()), writing K/V into the slots its block table gives
// (slot = block_ids[pos / block_size] * block_size + pos % block_size); when
// needs_sample, sample one token from the last position.
//
// Blocks become prefix-cache hits as soon as they are scheduled to be filled
// (as in vLLM), so a request admitted in the same step may read K/V that this
// very step writes: the runner must write a layer's K/V for the whole batch
// before it runs that layer's attention (the usual write-then-attend order).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sched/logprobs.h"
#include "sched/request.h"
#include "sched/sampling_params.h"

namespace pagoda {

struct ScheduledRequest {
  std::string req_id;
  std::vector<int32_t> token_ids;      // tokens to compute this step: all_token_ids[num_computed_tokens, num_computed_tokens + token_ids.size())
  int32_t num_computed_tokens = 0;     // position of token_ids[0]
  std::vector<int32_t> block_ids;      // the request's whole block table (all blocks, in order)
  bool is_new = false;                 // first scheduled ever: runner creates its per-request state (seeded generator)
  bool needs_sample = false;           // this step computes up to the last known token, so the runner samples one token
  const SamplingParams* sampling_params = nullptr;  // valid during the step
  // The request's tokens so far (prompt, then output) and its prompt length,
  // valid during the step: penalties and min_tokens read the history, and
  // prompt_logprobs the next prompt token of each position.
  const std::vector<int32_t>* all_token_ids = nullptr;
  int32_t num_prompt_tokens = 0;
};

struct SchedulerOutput {
  std::vector<ScheduledRequest> scheduled;   // running requests first, then newly admitted/resumed
  int32_t total_num_scheduled_tokens = 0;
  std::vector<std::string> finished_req_ids; // finished or aborted since the previous step: runner drops their state
  // Preempted this step: their blocks are gone (the runner keeps their
  // per-request state, generator included; they come back with is_new false
  // and recompute from position 0).
  std::vector<std::string> preempted_req_ids;
  // Nothing to compute and nothing to tell the runner: the engine may skip
  // the runner call.
  bool empty() const {
    return scheduled.empty() && finished_req_ids.empty() && preempted_req_ids.empty();
  }
};

struct ModelRunnerOutput {   // one entry per scheduled request, same order
  std::vector<std::string> req_ids;
  std::vector<std::vector<int32_t>> sampled_token_ids; // empty when !needs_sample
  // Empty, or one entry per scheduled request: the sampled tokens' logprobs
  // (when the request asked for logprobs), parallel to sampled_token_ids.
  std::vector<std::vector<PositionLogprobs>> logprobs;
  // Empty, or one entry per scheduled request: the whole prompt's logprobs
  // (positions 1 .. num_prompt_tokens-1), set in the step that completes the
  // prompt of a request that asked for prompt_logprobs.
  std::vector<std::vector<PositionLogprobs>> prompt_logprobs;
};

struct EngineCoreOutput {
  std::string req_id;
  std::vector<int32_t> new_token_ids;
  std::optional<FinishReason> finish_reason;
  int32_t num_prompt_tokens = 0, num_cached_tokens = 0;
  // The stop_token_ids entry that finished the request (nullopt for EOS).
  std::optional<int32_t> stop_token_id;
  // Parallel to new_token_ids when the request asked for logprobs.
  std::vector<PositionLogprobs> new_logprobs;
  // The prompt's logprobs, once, with the first output (prompt_logprobs).
  std::vector<PositionLogprobs> prompt_logprobs;
};

}  // namespace pagoda
