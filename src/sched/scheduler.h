// Scheduler: decides, each engine step, which requests compute how many
// tokens, as vLLM V1's scheduler does. There is no prefill or decode phase:
// every request has num_computed_tokens catching up with num_tokens, and one
// token budget per step is spent on running requests first, then on waiting
// ones (new, or preempted and resuming). Chunked prefill, prefix-cache hits
// and preemption are one code path. Owns the requests and the KVCacheManager.
// Engine thread only: not thread-safe, by design.
//
// Step protocol:
//   SchedulerOutput out = scheduler.Schedule();
//   ModelRunnerOutput mro = runner.Execute(out);
//   auto outputs = scheduler.UpdateFromOutput(out, mro);
// num_computed_tokens advances in Schedule (as in vLLM), so what a request
// sees in UpdateFromOutput already counts this step's tokens as computed;
// UpdateFromOutput appends sampled tokens and checks stop conditions.
//
// Preemption is by recompute: the victim loses its blocks (they stay in the
// prefix cache until evicted, so resuming is often cheap), goes back to the
// front of the waiting queue with num_computed_tokens = 0, and later
// recomputes prompt + output. Its output does not change: the runner keeps
// its generator, and is_new stays false when it comes back.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "kv/kv_cache_manager.h"
#include "sched/request.h"
#include "sched/request_queue.h"
#include "sched/scheduler_output.h"

namespace pagoda {

struct SchedulerConfig {
  using SchedulingPolicy = ::pagoda::SchedulingPolicy;

  int max_num_batched_tokens = 2048;  // token budget per step
  int max_num_seqs = 256;             // running requests at most
  int max_model_len = 2048;           // prompt + output, in tokens
  // Off: a prompt (or a resumed request's recompute) is scheduled whole or
  // not at all, and needs max_num_batched_tokens >= max_model_len.
  bool enable_chunked_prefill = true;
  // kFcfs preempts the newest running request; kPriority the one with the
  // largest (priority, arrival_time).
  SchedulingPolicy policy = SchedulingPolicy::kFcfs;
  // > 0: at most this many tokens of one request per step, so long prompts
  // do not crowd out short ones.
  int long_prefill_token_threshold = 0;
};

class Scheduler {
 public:
  Scheduler(SchedulerConfig config, KVCacheConfig kv_cache_config);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // The engine validated the request (prompt length <= max_model_len, unique
  // id); both are CHECKed here.
  void AddRequest(std::unique_ptr<Request> request);
  // Ends the requests now and frees their blocks; their ids reach the runner
  // in the next SchedulerOutput's finished_req_ids. Unknown or already
  // finished ids are ignored (the request may have finished meanwhile).
  void AbortRequests(std::span<const std::string> request_ids);

  SchedulerOutput Schedule();
  // One output per request that got new tokens or finished, in scheduling
  // order. `scheduler_output` must be the one from the last Schedule().
  std::vector<EngineCoreOutput> UpdateFromOutput(const SchedulerOutput& scheduler_output,
                                                 const ModelRunnerOutput& model_runner_output);

  bool HasUnfinishedRequests() const { return !running_.empty() || !waiting_.empty(); }
  // Finished ids not yet reported to the runner.
  bool HasFinishedRequests() const { return !finished_req_ids_.empty(); }
  int num_running() const { return static_cast<int>(running_.size()); }
  int num_waiting() const { return static_cast<int>(waiting_.size()); }
  // A live (unfinished) request, or nullptr.
  const Request* GetRequest(const std::string& request_id) const;

  double kv_cache_usage() const { return kv_cache_manager_.Usage(); }
  const PrefixCacheStats& prefix_cache_stats() const { return kv_cache_manager_.prefix_cache_stats(); }
  bool ResetPrefixCache() { return kv_cache_manager_.ResetPrefixCache(); }
  const KVCacheManager& kv_cache_manager() const { return kv_cache_manager_; }
  const SchedulerConfig& config() const { return config_; }

 private:
  struct Scheduled {
    Request* request;
    int num_new_tokens;
    bool is_new;
  };

  // Frees the blocks of a request the caller has taken out of running_ and
  // puts it back at the front of the waiting queue, to recompute later.
  void Preempt(Request* request);
  // Sets a stop status when the last appended token ends the request.
  bool CheckStop(Request* request) const;
  // Frees a finished (or aborted) request's blocks and keys, reports its id
  // to the runner next step, and retires it.
  void FinishRequest(Request* request, RequestStatus status);
  void RemoveFromRunning(const Request* request);
  ScheduledRequest MakeScheduledRequest(const Scheduled& s) const;

  SchedulerConfig config_;
  KVCacheManager kv_cache_manager_;
  std::unordered_map<std::string, std::unique_ptr<Request>> requests_;
  RequestQueue waiting_;
  std::vector<Request*> running_;  // in admission order
  std::vector<std::string> finished_req_ids_;
  // Finished requests kept until the next Schedule(), so the SamplingParams
  // pointers handed out for the current step stay valid.
  std::vector<std::unique_ptr<Request>> retired_;
};

}  // namespace pagoda
