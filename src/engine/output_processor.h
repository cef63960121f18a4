// OutputProcessor: turns the engine core's raw per-step outputs (new token
// ids, logprobs, token-level finish reasons) into the RequestOutput deltas a
// client streams: incremental detokenization, stop strings, logprob token
// text, n / best_of choices of one request, and the latency statistics.
//
// Stop strings (vLLM's semantics): checked on the decoded text once the
// output has more than min_tokens tokens; a match may span tokens; the text
// ends before the stop string (or after it with include_stop_str_in_output),
// the choice finishes with reason "stop" and stop_reason the string, and the
// caller must abort the child request in the scheduler (Result::stop_aborts).
// Text is never emitted and later taken back: the tail that could still begin
// a stop string is held until it is decided. A token stop (EOS,
// stop_token_ids) adds no text for that token unless
// include_stop_str_in_output, as vLLM does.
//
// Choices: a request with n > 1 or best_of runs as child requests (ids from
// ChildRequestIds). Child 0 carries the prompt logprobs, so deltas of the
// other children wait until child 0's first output has been delivered (the
// first RequestOutput then holds the prompt data, once). With best_of > n
// nothing is streamed: when all children finish, the n with the highest
// cumulative logprob are delivered in one final output, re-indexed 0..n-1.
//
// Not thread-safe: one thread at a time (EngineClient guards it with a
// mutex; LLMEngine::Generate uses its own instance on the calling thread).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/engine_client.h"
#include "sched/scheduler_output.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {

// The scheduler-level request ids of a request's sequences: the id itself
// when there is one sequence, "<i>_<id>" for each otherwise (vLLM's naming).
std::vector<std::string> ChildRequestIds(const std::string& request_id, const SamplingParams& params);
// The number of sequences a request runs: best_of when set, else n.
int NumSequences(const SamplingParams& params);
// The params of sequence `index` of `count`: n = 1, no best_of; seed + index
// when seeded (vLLM's rule, so the choices differ but stay reproducible);
// prompt_logprobs on sequence 0 only (so the others may read its prompt
// blocks from the prefix cache); logprobs forced on (0) for best_of ranking.
SamplingParams ChildSamplingParams(const SamplingParams& params, int index, int count);

class OutputProcessor {
 public:
  struct RequestSpec {
    std::string request_id;
    std::vector<int32_t> prompt_token_ids;
    SamplingParams params;               // validated; as the user asked (n, best_of, logprobs)
    std::vector<std::string> child_ids;  // ChildRequestIds(request_id, params)
    double arrival_time = 0.0;           // MonotonicSeconds()
    // The text continues the prompt (vLLM's completions: the first token
    // keeps its leading space); false: it stands alone, as Decode(output).
    bool decode_after_prompt = true;
  };
  struct Result {
    std::vector<RequestOutput> outputs;     // in the order they became ready
    std::vector<std::string> stop_aborts;   // child ids a stop string finished: abort in the scheduler
    std::vector<std::string> finished_ids;  // requests whose final output is in `outputs`
  };

  explicit OutputProcessor(const Tokenizer& tokenizer);
  ~OutputProcessor();

  void AddRequest(RequestSpec spec);
  // Forgets a request without output (a Submit that failed after AddRequest).
  void RemoveRequest(const std::string& request_id);
  bool HasRequest(const std::string& request_id) const { return requests_.count(request_id) > 0; }
  size_t num_requests() const { return requests_.size(); }

  // Outputs of one engine step. Unknown child ids are ignored (aborted or
  // already finished by a stop string).
  void Process(std::span<const EngineCoreOutput> outputs, double now, Result* result);
  // Child requests ended by Abort (or shutdown): each unfinished choice gets
  // a final delta with finish_reason "abort".
  void Abort(std::span<const std::string> child_ids, double now, Result* result);

  // Adds this processor's counters and histograms to `stats`.
  void AddStats(EngineStats* stats) const;

 private:
  struct Child;
  struct Parent;
  Child* FindChild(const std::string& child_id, Parent** parent);
  void Update(Parent& p, Child& c, const EngineCoreOutput& out, double now);
  void Finish(Parent& p, Child& c, const std::string& reason, double now);
  // Moves every deliverable delta of `p` into result; erases it when done.
  void Deliver(const std::string& request_id, double now, Result* result);
  const std::string& TokenText(int32_t id);
  LogprobEntry Entry(const TokenLogprob& lp);

  const Tokenizer& tokenizer_;
  std::unordered_map<std::string, std::unique_ptr<Parent>> requests_;
  std::unordered_map<std::string, std::string> child_to_parent_;
  std::unordered_map<int32_t, std::string> token_text_;  // logprob token text cache
  EngineStats stats_;  // counters and histograms only
};

}  // namespace pagoda
