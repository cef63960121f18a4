// Request: the scheduler's state for one generation request — its tokens
// (prompt, then output), how many of them have KV computed, and its status.
// Owned by the Scheduler on the engine thread: not thread-safe, by design.
//
// There is no prefill or decode phase: num_computed_tokens() catches up with
// num_tokens() step by step; a prefix-cache hit, a prompt chunk and a decode
// step are the same thing seen from here.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sched/sampling_params.h"

namespace pagoda {

enum class RequestStatus {
  kWaiting,
  kRunning,
  kPreempted,  // lost its KV blocks; waits to recompute prompt + output
  kFinishedStopped,
  kFinishedLengthCapped,
  kFinishedAborted,
};

// Why a request finished, as reported to clients ("stop", "length", "abort").
enum class FinishReason { kStop, kLength, kAbort };

bool IsFinished(RequestStatus status);
// The reason for a finished status, nullopt for a live one.
std::optional<FinishReason> ToFinishReason(RequestStatus status);
const char* FinishReasonName(FinishReason reason);

// Per-request options beyond the tokens and sampling params, so call sites can
// name what they set: Request("id", prompt, params, {.priority = 1}).
struct RequestOptions {
  double arrival_time = 0.0;  // seconds; FCFS order and priority tie-break
  int priority = 0;           // lower is scheduled first (kPriority policy)
  int64_t lora_id = 0;        // 0 = no adapter; part of the prefix-cache key
  std::string cache_salt{};   // isolates prefix-cache hits between tenants
};

class Request {
 public:
  Request(std::string request_id, std::vector<int32_t> prompt_token_ids,
          SamplingParams sampling_params, RequestOptions options = {});

  const std::string& request_id() const { return request_id_; }
  const SamplingParams& sampling_params() const { return sampling_params_; }
  double arrival_time() const { return options_.arrival_time; }
  int priority() const { return options_.priority; }
  int64_t lora_id() const { return options_.lora_id; }
  const std::string& cache_salt() const { return options_.cache_salt; }

  // Tokens. all_token_ids() is prompt followed by output, in one buffer, so
  // the scheduler can slice any [num_computed_tokens, n) range of it.
  std::span<const int32_t> prompt_token_ids() const {
    return std::span<const int32_t>(all_token_ids_).first(num_prompt_tokens_);
  }
  std::span<const int32_t> output_token_ids() const {
    return std::span<const int32_t>(all_token_ids_).subspan(num_prompt_tokens_);
  }
  const std::vector<int32_t>& all_token_ids() const { return all_token_ids_; }
  int32_t num_prompt_tokens() const { return num_prompt_tokens_; }
  int32_t num_output_tokens() const { return num_tokens() - num_prompt_tokens_; }
  int32_t num_tokens() const { return static_cast<int32_t>(all_token_ids_.size()); }
  void AppendOutputTokenId(int32_t token_id) { all_token_ids_.push_back(token_id); }

  // Tokens whose KV is computed (or scheduled to be, see Scheduler::Schedule).
  int32_t num_computed_tokens() const { return num_computed_tokens_; }
  void set_num_computed_tokens(int32_t n) { num_computed_tokens_ = n; }
  // Prefix-cache hit, in tokens, at the first schedule; -1 until then.
  int32_t num_cached_tokens() const { return num_cached_tokens_; }
  void set_num_cached_tokens(int32_t n) { num_cached_tokens_ = n; }

  RequestStatus status() const { return status_; }
  void set_status(RequestStatus status) { status_ = status; }
  bool is_finished() const { return IsFinished(status_); }
  std::optional<FinishReason> finish_reason() const { return ToFinishReason(status_); }
  // The stop_token_ids entry that ended the request (nullopt for EOS, length
  // or abort), as vLLM's stop_reason for token stops.
  std::optional<int32_t> stop_reason() const { return stop_reason_; }
  void set_stop_reason(std::optional<int32_t> token_id) { stop_reason_ = token_id; }

  int num_preemptions() const { return num_preemptions_; }
  void RecordPreemption() { ++num_preemptions_; }

 private:
  std::string request_id_;
  std::vector<int32_t> all_token_ids_;
  int32_t num_prompt_tokens_;
  SamplingParams sampling_params_;
  RequestOptions options_;
  int32_t num_computed_tokens_ = 0;
  int32_t num_cached_tokens_ = -1;
  RequestStatus status_ = RequestStatus::kWaiting;
  std::optional<int32_t> stop_reason_;
  int num_preemptions_ = 0;
};

}  // namespace pagoda
