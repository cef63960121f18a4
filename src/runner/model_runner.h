// ModelRunner: executes one SchedulerOutput. It flattens the scheduled
// requests into a BatchInput (token ids, positions, slot mapping, block
// tables, logits indices), runs the model's forward pass, and samples one
// token for every request that reached the end of its known tokens this step.
//
// Logits rows: the last row of each request that samples, plus, for a request
// that asked for prompt_logprobs, every row of its prompt chunk whose next
// token is a prompt token (the scheduler skips prefix-cache reads for such
// requests, so every prompt position is computed here). Prompt logprobs are
// gathered across chunks and returned once, in the step that samples the
// first output token.
//
// It keeps per-request state across steps (the sampling options, the seeded
// generator, gathered prompt logprobs) from the step a request is first
// scheduled until the scheduler reports it finished, so a request preempted
// and recomputed continues the same random stream. Owned and called by the
// engine thread only: not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/thread_pool.h"
#include "model/model.h"
#include "sample/sampler.h"
#include "sched/scheduler_output.h"

namespace pagoda {

// Maps a request's SamplingParams to the sampler's options (min_tokens bans
// EOS unless ignore_eos, and stop_token_ids).
SamplingOptions ToSamplingOptions(const SamplingParams& sp);

class ModelRunner {
 public:
  ModelRunner(const Model* model, KvCache* cache, ThreadPool* pool);

  ModelRunnerOutput Execute(const SchedulerOutput& out);

  // Structured output's hook: called with a request id and its logits row
  // before any other processor; it may ban tokens (set them to -inf).
  using MaskHook = std::function<void(const std::string& req_id, float* logits, int64_t vocab_size)>;
  void set_logits_mask_hook(MaskHook hook) { mask_hook_ = std::move(hook); }

  // The inputs of the last step (for tests that inspect slot mappings).
  const BatchInput& last_batch() const { return batch_; }
  // Requests with live per-request state (tests check it is dropped).
  size_t num_request_states() const { return states_.size(); }

 private:
  struct RequestState {
    SamplingOptions options;
    SamplerRng rng;
    int32_t num_prompt_logprobs = -1;       // < 0: not asked
    int32_t next_prompt_logprob_pos = 0;    // next position whose logits feed prompt_logprobs
    bool prompt_logprobs_sent = false;
    std::vector<PositionLogprobs> prompt_logprobs;
  };
  // Which logits rows one scheduled request owns in this step.
  struct RowPlan {
    int32_t first_prompt_row = 0;     // rows for prompt logprobs ...
    int32_t num_prompt_rows = 0;
    int32_t first_prompt_pos = 0;     // ... starting at this position
    int32_t sample_row = -1;          // -1: does not sample
  };
  void BuildBatch(const SchedulerOutput& out);

  const Model* model_;
  KvCache* cache_;
  ThreadPool* pool_;
  Workspace ws_;
  BatchInput batch_;
  std::vector<RowPlan> plans_;
  std::vector<float> logits_;
  std::unordered_map<std::string, RequestState> states_;
  MaskHook mask_hook_;
};

}  // namespace pagoda
