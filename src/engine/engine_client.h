// EngineClient: the only door into a running engine, for the server and any
// other concurrent caller. It owns an EngineCore thread that runs the
// engine's step loop (schedule -> runner.Execute -> UpdateFromOutput) and
// sleeps on a condition variable when there is no work, plus an output thread
// that turns the core's raw outputs into RequestOutput deltas (incremental
// detokenization, stop strings, logprob text) so the next forward pass never
// waits for that work ("async output").
//
// Thread-safety: every public method may be called from any thread at any
// time. Output callbacks run on the output thread, one at a time, in order
// per request; a callback must be quick and must not block (post the delta to
// your own executor), but it may call Submit/Abort/GetStats.
//
// Life of a request: Submit validates synchronously (InvalidArgument with a
// message for the user on bad input) and queues it; deltas follow through the
// callback; exactly one delivered RequestOutput has finished == true, and it
// is the last one for that request (also after Abort, and on Shutdown).
//
// n > 1 / best_of: the request fans out into child requests submitted
// together; the children's full prompt blocks are shared through the prefix
// cache (blocks become cache hits as soon as they are scheduled, so children
// admitted in the same step read the KV the first child writes). With
// best_of > n the children are buffered and only the n best by cumulative
// logprob are delivered, in one final output.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "engine/engine_config.h"
#include "model/kv_cache.h"
#include "model/model_config.h"
#include "sched/logprobs.h"
#include "sched/sampling_params.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {

class LLMEngine;

// Seconds on the monotonic clock used for arrival times and latencies.
double MonotonicSeconds();

struct GenerateRequest {
  std::string request_id{};                // unique among live requests
  std::vector<int32_t> prompt_token_ids{};
  SamplingParams sampling_params{};
  int priority = 0;                      // lower first, when the scheduler uses priority
  std::string cache_salt{};              // isolates prefix-cache hits between tenants
  double arrival_time = 0.0;             // MonotonicSeconds(); 0 = now
};

// A logprob entry with the token's text, for the API's "token"/"bytes" fields.
struct LogprobEntry {
  int32_t token_id = 0;
  float logprob = 0.0f;
  int32_t rank = 0;
  // The token's own text as it reads mid-sentence (a SentencePiece word
  // keeps its leading space; special tokens kept); a byte token that is part
  // of a UTF-8 character reads U+FFFD.
  std::string text;
};

struct TokenLogprobs {
  LogprobEntry chosen;             // the sampled (or prompt) token
  std::vector<LogprobEntry> top;   // top-N, best first
};

// One choice's progress since the previous delta of the same request.
struct CompletionDelta {
  int index = 0;                      // choice index, 0 .. n-1
  std::string text;                   // new text (never text a stop string later removes)
  std::vector<int32_t> token_ids;     // new token ids
  // One entry per new token id when sampling_params.logprobs is set.
  std::vector<TokenLogprobs> logprobs;
  double cumulative_logprob = 0.0;    // over all tokens so far (when logprobs were computed)
  bool finished = false;              // this choice is done
  // Set when finished: "stop", "length" or "abort".
  std::optional<std::string> finish_reason;
  // What stopped it: the matched stop string, or the stop_token_ids entry;
  // monostate for EOS, length and abort.
  std::variant<std::monostate, std::string, int32_t> stop_reason;
};

struct RequestOutput {
  std::string request_id;
  // The choices that changed, by index; with n > 1 a delta may hold several.
  std::vector<CompletionDelta> outputs;
  int32_t num_prompt_tokens = 0;
  int32_t num_cached_tokens = 0;      // prompt tokens read from the prefix cache
  // Sent once, in the first output of the request (echo support).
  std::vector<int32_t> prompt_token_ids;
  // Sent once (first output) when sampling_params.prompt_logprobs is set:
  // one entry per prompt position 1 .. num_prompt_tokens-1 (the first prompt
  // token has no logprob; vLLM reports it as None).
  std::optional<std::vector<TokenLogprobs>> prompt_logprobs;
  bool finished = false;              // every choice is done; the last output
};

using OutputCallback = std::function<void(RequestOutput)>;

// A pull-style stream of one request's outputs (tests, offline tools).
class OutputStream {
 public:
  virtual ~OutputStream() = default;
  // Blocks for the next output; nullopt once the final one was returned.
  virtual std::optional<RequestOutput> Next() = 0;
};

// A Prometheus-style histogram: counts[i] observations <= bounds[i]
// (non-cumulative per bucket; counts.back() is the +Inf bucket).
struct Histogram {
  Histogram() = default;
  explicit Histogram(std::vector<double> bucket_bounds)
      : bounds(std::move(bucket_bounds)), counts(bounds.size() + 1, 0) {}
  // vLLM's bucket layouts for its latency metrics, in seconds.
  static Histogram TimeToFirstToken();
  static Histogram InterTokenLatency();
  static Histogram E2eRequestLatency();

  std::vector<double> bounds;
  std::vector<uint64_t> counts;  // bounds.size() + 1
  double sum = 0.0;
  uint64_t count = 0;
  void Observe(double v);
};

struct EngineStats {
  int num_running = 0;
  int num_waiting = 0;
  double kv_cache_usage = 0.0;            // 0..1 of the KV blocks in use
  int64_t prefix_cache_queries = 0;       // tokens looked up
  int64_t prefix_cache_hits = 0;          // tokens found
  int64_t prompt_tokens_total = 0;        // prompt tokens of finished prefills
  int64_t generation_tokens_total = 0;    // tokens generated
  int64_t num_preemptions_total = 0;
  int64_t requests_finished_stop = 0;
  int64_t requests_finished_length = 0;
  int64_t requests_finished_abort = 0;
  Histogram time_to_first_token_s = Histogram::TimeToFirstToken();  // arrival -> first token delivered
  Histogram inter_token_latency_s = Histogram::InterTokenLatency();  // between a choice's token outputs
  Histogram e2e_request_latency_s = Histogram::E2eRequestLatency();  // arrival -> final output
};

class EngineClient {
 public:
  // Loads the model and tokenizer (LLMEngine::Create) and starts the threads.
  static StatusOr<std::unique_ptr<EngineClient>> Create(EngineConfig config);
  // Wraps an engine built elsewhere (tests with random-weight models).
  explicit EngineClient(std::unique_ptr<LLMEngine> engine);
  // Shutdown(), then joins the threads.
  ~EngineClient();
  EngineClient(const EngineClient&) = delete;
  EngineClient& operator=(const EngineClient&) = delete;

  // Validates and queues the request. InvalidArgument (nothing queued, no
  // callback) for: empty prompt, token ids outside the vocabulary, prompt
  // not shorter than max_model_len, max_tokens beyond the context, bad
  // sampling parameters, a request id already live; FailedPrecondition
  // after Shutdown.
  Status Submit(GenerateRequest request, OutputCallback callback);
  StatusOr<std::unique_ptr<OutputStream>> Submit(GenerateRequest request);
  // Checks a request the way Submit does without queueing it; returns the
  // sampling params with the engine's defaults filled in (max_tokens).
  StatusOr<SamplingParams> Validate(const GenerateRequest& request) const;

  // Ends the request (all its choices) now: its KV blocks are freed at the
  // next step boundary and it gets a final output with finish_reason
  // "abort" for every unfinished choice. Unknown or finished ids: no-op.
  void Abort(const std::string& request_id);

  // A consistent snapshot, refreshed after every engine step.
  EngineStats GetStats() const;

  // Immutable after Create: safe from any thread.
  const Tokenizer& tokenizer() const;
  const ModelConfig& model_config() const;
  const EngineConfig& config() const;
  int64_t max_model_len() const;
  // The KV cache's size, fixed at creation: for the startup report.
  const KvCache& kv_cache() const;
  // The model's generation_config.json (empty object when it has none).
  const nlohmann::json& generation_config() const;
  // The token ids that end generation (EOS and generation_config's list).
  const std::vector<int32_t>& eos_token_ids() const;

  // Stops accepting requests, aborts everything live (each gets its final
  // "abort" output) and stops the threads. Idempotent.
  void Shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pagoda
