// StructuredOutputManager: the engine's side of structured output. It owns
// the engine's one GrammarCompiler (built lazily over the model's tokenizer
// on first use, so engines that never constrain pay nothing), compiles a
// request's StructuredOutputSpec on the caller's thread at validation, keeps
// one GrammarMatcher per live constrained request, and each step fills the
// token bitmasks of the requests that sample on a worker thread while the
// forward pass runs; the runner's mask hook joins that work before the first
// row is sampled and bans the tokens the grammar rules out. Sampled tokens
// then advance the matchers.
//
// Thread-safety: Compile may be called from any thread at any time. Every
// other method belongs to the engine thread (the worker only touches the
// matchers between BeginStep and the join, and the engine thread does not
// touch them meanwhile; if the worker has not started by the join, the
// engine thread takes the work and fills the masks itself).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "sched/sampling_params.h"
#include "sched/scheduler_output.h"

namespace pagoda {

class GrammarCompiler;
class GrammarMatcher;
class Tokenizer;
class TokenizerInfo;

class StructuredOutputManager {
 public:
  // `stop_token_ids`: the ids that end generation (allowed only where the
  // grammar can end); `mask_vocab_size`: the model's logit count.
  StructuredOutputManager(const Tokenizer& tokenizer, std::vector<int32_t> stop_token_ids,
                          int32_t mask_vocab_size);
  ~StructuredOutputManager();
  StructuredOutputManager(const StructuredOutputManager&) = delete;
  StructuredOutputManager& operator=(const StructuredOutputManager&) = delete;

  // Compiles (or finds cached) the grammar of `spec`. InvalidArgument naming
  // the problem for a bad constraint. Any thread.
  StatusOr<std::shared_ptr<const CompiledGrammar>> Compile(const StructuredOutputSpec& spec) const;

  // Engine thread, before the forward pass: drops finished requests'
  // matchers, makes matchers for new constrained requests and starts filling
  // the masks of those that sample this step.
  void BeginStep(const SchedulerOutput& out);
  // The runner's mask hook: waits for the masks, then sets banned logits to
  // -inf (a no-op for unconstrained requests).
  void ApplyMask(const std::string& req_id, float* logits, int64_t vocab_size);
  // Engine thread, after sampling: advances the matchers by the sampled
  // tokens, then appends jump-forward tokens: while the grammar allows
  // exactly one token (a stop token included, which ends the request at
  // once), it is added to the request's sampled tokens without a forward
  // pass or a draw of its own; the next step computes their KV together,
  // like a prompt chunk. Not for requests that asked for logprobs (a
  // forced token has no distribution to report).
  void EndStep(const SchedulerOutput& out, ModelRunnerOutput* result);
  // On by default; off measures the masks' cost alone (bench).
  void set_jump_forward(bool on) { jump_forward_ = on; }
  // Tokens appended by jump-forward so far (bench, tests).
  int64_t total_forced_tokens() const { return total_forced_tokens_; }
  // Live matchers (tests check they are dropped).
  size_t num_matchers() const { return matchers_.size(); }
  // Mask time of the last step and in total, in seconds (bench).
  double total_mask_seconds() const { return total_mask_seconds_; }
  int64_t total_masks() const { return total_masks_; }

 private:
  struct Slot {
    GrammarMatcher* matcher;
    std::vector<uint32_t>* mask;
  };
  void EnsureCompiler() const;
  void WorkerLoop();
  // Takes the pending work and fills its masks (mu_ held on entry and exit).
  void FillLocked(std::unique_lock<std::mutex>& lock);
  void Join();

  const Tokenizer& tokenizer_;
  std::vector<int32_t> stop_token_ids_;
  int32_t mask_vocab_size_;
  mutable std::once_flag init_once_;
  mutable Status init_status_;
  mutable std::shared_ptr<const TokenizerInfo> info_;
  mutable std::unique_ptr<GrammarCompiler> compiler_;

  struct State {
    std::unique_ptr<GrammarMatcher> matcher;
    std::vector<uint32_t> mask;
    bool mask_ready = false;  // filled for this step
  };
  std::unordered_map<std::string, State> matchers_;

  // The worker: fills masks for `work_` and signals done.
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot> work_;
  bool has_work_ = false;
  bool busy_ = false;
  bool stop_ = false;
  double last_fill_seconds_ = 0;
  double total_mask_seconds_ = 0;
  int64_t total_masks_ = 0;
  int64_t total_forced_tokens_ = 0;
  bool jump_forward_ = true;
};

}  // namespace pagoda
