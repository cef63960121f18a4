// LLMEngine: one engine instance in the calling thread — model, tokenizer,
// KV cache, scheduler and runner wired together — driven step by step:
// AddRequest(), then Step() until no request is unfinished. Each Step() is
// schedule() -> runner.Execute() -> UpdateFromOutput(). The offline
// Generate() runs a batch of prompts to completion. Not thread-safe: one
// thread owns an engine (the server's EngineCore thread wraps it).
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "engine/engine_config.h"
#include "engine/structured_output.h"
#include "model/model.h"
#include "runner/model_runner.h"
#include "sched/scheduler.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {

struct CompletionOutput {
  std::string request_id;
  std::vector<int32_t> prompt_token_ids;
  std::vector<int32_t> token_ids;
  std::string text;
  std::optional<FinishReason> finish_reason;
  // The matched stop string, or the stop_token_ids entry, that ended it.
  std::variant<std::monostate, std::string, int32_t> stop_reason;
};

class LLMEngine {
 public:
  static StatusOr<std::unique_ptr<LLMEngine>> Create(EngineConfig config);
  ~LLMEngine();

  const EngineConfig& config() const { return config_; }
  const Model& model() const { return *model_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  // The KV cache storage (its dtype() and bytes() for reports).
  const KvCache& kv_cache() const { return *kv_cache_; }
  ThreadPool* pool() { return pool_.get(); }

  // Tokenizes `prompt` (adding BOS as the model asks). An empty prompt is
  // BOS alone.
  StatusOr<std::vector<int32_t>> Tokenize(const std::string& prompt) const;
  // Checks a request without queueing it and returns its params with the
  // engine's defaults filled in (max_tokens, eos_token_ids, bad_words as
  // token ids). Errors (prompt too long for max_model_len, empty prompt, ids
  // outside the vocabulary, out-of-range sampling parameters) are
  // InvalidArgument with a message for the user. Const and touching only
  // immutable state: safe from any thread.
  StatusOr<SamplingParams> ValidateRequest(const std::string& request_id,
                                           const std::vector<int32_t>& prompt_token_ids,
                                           const SamplingParams& params) const;
  // Validates and queues a request. n / best_of are not fanned out here
  // (EngineClient does that): this is one sequence.
  Status AddRequest(const std::string& request_id, std::vector<int32_t> prompt_token_ids,
                    SamplingParams params, RequestOptions options = {});
  // Queues a request whose params came from ValidateRequest.
  void AddValidatedRequest(const std::string& request_id, std::vector<int32_t> prompt_token_ids,
                           SamplingParams params, RequestOptions options = {});
  void AbortRequest(const std::string& request_id);
  // One engine step; returns the requests that produced tokens or finished.
  std::vector<EngineCoreOutput> Step();
  bool HasUnfinishedRequests() const;
  // Unfinished requests, or finished ones the runner has not heard of yet
  // (one more Step() lets it drop their state).
  bool HasPendingWork() const;
  int64_t num_preemptions_total() const { return num_preemptions_total_; }
  const std::vector<int32_t>& eos_token_ids() const { return eos_token_ids_; }
  ModelRunner& runner() { return *runner_; }
  const StructuredOutputManager& structured_output() const { return *structured_; }
  StructuredOutputManager& structured_output() { return *structured_; }

  // Offline batch API: runs all prompts together to completion. Stop strings
  // apply (through an OutputProcessor); n and best_of do not (use
  // EngineClient).
  StatusOr<std::vector<CompletionOutput>> Generate(const std::vector<std::string>& prompts,
                                                   const SamplingParams& params);
  StatusOr<std::vector<CompletionOutput>> GenerateFromIds(
      const std::vector<std::vector<int32_t>>& prompts, const SamplingParams& params);

  const Scheduler& scheduler() const { return *scheduler_; }

 private:
  LLMEngine() = default;
  EngineConfig config_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<KvCache> kv_cache_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<ModelRunner> runner_;
  std::unique_ptr<StructuredOutputManager> structured_;
  std::vector<int32_t> eos_token_ids_;
  int64_t next_generate_call_ = 0;  // makes Generate()'s request ids unique
  int64_t num_preemptions_total_ = 0;
};

}  // namespace pagoda
