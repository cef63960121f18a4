// LLMEngine: one engine instance in the calling thread — model, tokenizer,
// KV cache, scheduler and runner wired together — driven step by step:
// AddRequest(), then Step() until no request is unfinished. Each Step() is
// schedule() -> runner.Execute() -> UpdateFromOutput(). The offline
// Generate() runs a batch of prompts to completion. Not thread-safe: one
// thread owns an engine (the server's EngineCore thread wraps it).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "engine/engine_config.h"
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
};

class LLMEngine {
 public:
  static StatusOr<std::unique_ptr<LLMEngine>> Create(EngineConfig config);
  ~LLMEngine();

  const EngineConfig& config() const { return config_; }
  const Model& model() const { return *model_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  ThreadPool* pool() { return pool_.get(); }

  // Tokenizes `prompt` (adding BOS as the model asks). An empty prompt is
  // BOS alone.
  StatusOr<std::vector<int32_t>> Tokenize(const std::string& prompt) const;
  // Validates and queues a request. Errors (prompt too long for
  // max_model_len, empty prompt, ids outside the vocabulary) are
  // InvalidArgument with a message for the user.
  Status AddRequest(const std::string& request_id, std::vector<int32_t> prompt_token_ids,
                    SamplingParams params);
  void AbortRequest(const std::string& request_id);
  // One engine step; returns the requests that produced tokens or finished.
  std::vector<EngineCoreOutput> Step();
  bool HasUnfinishedRequests() const;

  // Offline batch API: runs all prompts together to completion.
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
  std::vector<int32_t> eos_token_ids_;
  int64_t next_generate_call_ = 0;  // makes Generate()'s request ids unique
};

}  // namespace pagoda
