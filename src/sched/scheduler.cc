#include "sched/scheduler.h"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "base/check.h"

namespace pagoda {
namespace {

KVRequestView ViewOf(const Request& r) {
  return KVRequestView{
      .request_id = r.request_id(),
      .token_ids = r.all_token_ids(),
      .num_computed_tokens = r.num_computed_tokens(),
      .lora_id = r.lora_id(),
      .cache_salt = r.cache_salt(),
      .skip_prefix_cache_read = r.sampling_params().prompt_logprobs.has_value(),
  };
}

bool Contains(const std::vector<int32_t>& ids, int32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

Scheduler::Scheduler(SchedulerConfig config, KVCacheConfig kv_cache_config)
    : config_(config), kv_cache_manager_(kv_cache_config), waiting_(config.policy) {
  CHECK_GT(config_.max_num_batched_tokens, 0);
  CHECK_GT(config_.max_num_seqs, 0);
  CHECK_GT(config_.max_model_len, 0);
  // Otherwise a long prompt could never be scheduled and would wait forever.
  CHECK(config_.enable_chunked_prefill || config_.max_num_batched_tokens >= config_.max_model_len)
      << "without chunked prefill, max_num_batched_tokens must be >= max_model_len";
  CHECK_GE(static_cast<int64_t>(kv_cache_config.num_blocks - 1) * kv_cache_config.block_size,
           config_.max_model_len)
      << "the KV cache cannot hold one request of max_model_len tokens";
}

void Scheduler::AddRequest(std::unique_ptr<Request> request) {
  CHECK(request != nullptr);
  CHECK_LE(request->num_prompt_tokens(), config_.max_model_len)
      << "request " << request->request_id() << ": the engine admits prompts up to max_model_len";
  CHECK(requests_.find(request->request_id()) == requests_.end())
      << "duplicate request id " << request->request_id();
  CHECK(request->status() == RequestStatus::kWaiting);
  Request* r = request.get();
  requests_.emplace(r->request_id(), std::move(request));
  waiting_.Add(r);
}

const Request* Scheduler::GetRequest(const std::string& request_id) const {
  auto it = requests_.find(request_id);
  return it == requests_.end() ? nullptr : it->second.get();
}

void Scheduler::RemoveFromRunning(const Request* request) {
  auto it = std::find(running_.begin(), running_.end(), request);
  CHECK(it != running_.end());
  running_.erase(it);
}

void Scheduler::Preempt(Request* request) {
  kv_cache_manager_.Free(ViewOf(*request));
  request->set_status(RequestStatus::kPreempted);
  request->set_num_computed_tokens(0);
  request->RecordPreemption();
  waiting_.Prepend(request);
}

void Scheduler::FinishRequest(Request* request, RequestStatus status) {
  CHECK(IsFinished(status));
  request->set_status(status);
  kv_cache_manager_.Free(ViewOf(*request));
  kv_cache_manager_.FreeBlockHashes(request->request_id());
  finished_req_ids_.push_back(request->request_id());
  auto it = requests_.find(request->request_id());
  CHECK(it != requests_.end());
  retired_.push_back(std::move(it->second));
  requests_.erase(it);
}

void Scheduler::AbortRequests(std::span<const std::string> request_ids) {
  for (const std::string& id : request_ids) {
    auto it = requests_.find(id);
    if (it == requests_.end()) continue;
    Request* r = it->second.get();
    if (r->status() == RequestStatus::kRunning) {
      RemoveFromRunning(r);
    } else {
      CHECK(waiting_.Remove(r)) << "request " << id << " is neither running nor waiting";
    }
    FinishRequest(r, RequestStatus::kFinishedAborted);
  }
}

SchedulerOutput Scheduler::Schedule() {
  retired_.clear();  // the previous step is over: its pointers may go
  int token_budget = config_.max_num_batched_tokens;
  const int threshold = config_.long_prefill_token_threshold;
  std::vector<Scheduled> scheduled_running;
  std::vector<Scheduled> scheduled_waiting;
  std::vector<Request*> preempted;

  // Running requests first, in admission order.
  size_t req_index = 0;
  while (req_index < running_.size() && token_budget > 0) {
    Request* request = running_[req_index];
    int num_new_tokens = request->num_tokens() - request->num_computed_tokens();
    if (threshold > 0 && num_new_tokens > threshold) num_new_tokens = threshold;
    num_new_tokens = std::min(num_new_tokens, token_budget);
    // Positions stay below max_model_len (matters once drafts are scheduled).
    num_new_tokens = std::min(num_new_tokens, config_.max_model_len - request->num_computed_tokens());
    if (num_new_tokens <= 0) {
      ++req_index;
      continue;
    }

    bool can_schedule = false;
    while (true) {
      if (kv_cache_manager_.AllocateSlots(ViewOf(*request), num_new_tokens)) {
        can_schedule = true;
        break;
      }
      // Out of blocks: preempt until this request fits, or it is the victim.
      Request* victim;
      if (config_.policy == SchedulingPolicy::kPriority) {
        // The largest (priority, arrival_time); among equals, the newest.
        size_t victim_index = 0;
        for (size_t i = 1; i < running_.size(); ++i) {
          if (!ScheduledBefore(running_[i], running_[victim_index])) victim_index = i;
        }
        victim = running_[victim_index];
        running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(victim_index));
        if (victim_index < req_index) {
          // Already scheduled this step: take back its tokens.
          auto it = std::find_if(scheduled_running.begin(), scheduled_running.end(),
                                 [&](const Scheduled& s) { return s.request == victim; });
          CHECK(it != scheduled_running.end());
          token_budget += it->num_new_tokens;
          scheduled_running.erase(it);
          --req_index;
        }
      } else {
        // running_[req_index + 1, end) is not scheduled yet; the newest goes.
        victim = running_.back();
        running_.pop_back();
      }
      Preempt(victim);
      preempted.push_back(victim);
      if (victim == request) break;
    }
    if (!can_schedule) break;
    scheduled_running.push_back({request, num_new_tokens, false});
    token_budget -= num_new_tokens;
    ++req_index;
  }

  // Then waiting requests in policy order. Not in a step that preempted:
  // admitting work right after evicting some would only thrash.
  std::vector<Request*> skipped;
  if (preempted.empty()) {
    while (!waiting_.empty() && token_budget > 0) {
      if (static_cast<int>(running_.size()) >= config_.max_num_seqs) break;
      Request* request = waiting_.Peek();
      CHECK_EQ(request->num_computed_tokens(), 0);
      ComputedBlocks hit = kv_cache_manager_.GetComputedBlocks(ViewOf(*request));
      int num_new_tokens = request->num_tokens() - hit.num_computed_tokens;
      if (threshold > 0 && num_new_tokens > threshold) num_new_tokens = threshold;
      if (!config_.enable_chunked_prefill && num_new_tokens > token_budget) {
        // Whole or not at all; a smaller request behind may still fit.
        waiting_.Pop();
        skipped.push_back(request);
        continue;
      }
      num_new_tokens = std::min(num_new_tokens, token_budget);
      CHECK_GT(num_new_tokens, 0);
      if (!kv_cache_manager_.AllocateSlots(ViewOf(*request), num_new_tokens, hit.num_computed_tokens,
                                           hit.blocks)) {
        break;  // out of blocks: it keeps its place at the head
      }
      waiting_.Pop();
      running_.push_back(request);
      const bool is_new = request->status() == RequestStatus::kWaiting;
      request->set_status(RequestStatus::kRunning);
      request->set_num_computed_tokens(hit.num_computed_tokens);
      if (request->num_cached_tokens() < 0) request->set_num_cached_tokens(hit.num_computed_tokens);
      scheduled_waiting.push_back({request, num_new_tokens, is_new});
      token_budget -= num_new_tokens;
    }
  }
  // Back in front, in their original order.
  for (auto it = skipped.rbegin(); it != skipped.rend(); ++it) waiting_.Prepend(*it);

  SchedulerOutput out;
  out.scheduled.reserve(scheduled_running.size() + scheduled_waiting.size());
  for (const auto* group : {&scheduled_running, &scheduled_waiting}) {
    for (const Scheduled& s : *group) {
      out.scheduled.push_back(MakeScheduledRequest(s));
      out.total_num_scheduled_tokens += s.num_new_tokens;
      // Advanced now, as in vLLM: the next Schedule() must not hand these
      // tokens out again, whatever the runner does meanwhile.
      s.request->set_num_computed_tokens(s.request->num_computed_tokens() + s.num_new_tokens);
    }
  }
  out.finished_req_ids = std::move(finished_req_ids_);
  finished_req_ids_.clear();
  for (const Request* r : preempted) out.preempted_req_ids.push_back(r->request_id());
  return out;
}

ScheduledRequest Scheduler::MakeScheduledRequest(const Scheduled& s) const {
  const Request& r = *s.request;
  const int32_t start = r.num_computed_tokens();
  ScheduledRequest sr;
  sr.req_id = r.request_id();
  sr.token_ids.assign(r.all_token_ids().begin() + start, r.all_token_ids().begin() + start + s.num_new_tokens);
  sr.num_computed_tokens = start;
  sr.block_ids = kv_cache_manager_.GetBlockIds(r.request_id());
  sr.is_new = s.is_new;
  sr.needs_sample = start + s.num_new_tokens == r.num_tokens();
  sr.sampling_params = &r.sampling_params();
  sr.all_token_ids = &r.all_token_ids();
  sr.num_prompt_tokens = r.num_prompt_tokens();
  return sr;
}

bool Scheduler::CheckStop(Request* request) const {
  const SamplingParams& sp = request->sampling_params();
  const int32_t num_output_tokens = request->num_output_tokens();
  const int32_t last = request->output_token_ids().back();
  // Token stops first: a request that emits EOS as its last allowed token
  // stopped naturally ("stop", not "length").
  if (num_output_tokens >= sp.min_tokens) {
    if (!sp.ignore_eos && Contains(sp.eos_token_ids, last)) {
      request->set_status(RequestStatus::kFinishedStopped);
      return true;
    }
    if (Contains(sp.stop_token_ids, last)) {
      request->set_status(RequestStatus::kFinishedStopped);
      request->set_stop_reason(last);
      return true;
    }
  }
  if ((sp.max_tokens && num_output_tokens >= *sp.max_tokens) ||
      request->num_tokens() >= config_.max_model_len) {
    request->set_status(RequestStatus::kFinishedLengthCapped);
    return true;
  }
  return false;
}

std::vector<EngineCoreOutput> Scheduler::UpdateFromOutput(const SchedulerOutput& scheduler_output,
                                                          const ModelRunnerOutput& model_runner_output) {
  const size_t n = scheduler_output.scheduled.size();
  CHECK_EQ(model_runner_output.req_ids.size(), n);
  CHECK(model_runner_output.sampled_token_ids.size() == n || model_runner_output.sampled_token_ids.empty());
  std::vector<EngineCoreOutput> outputs;
  for (size_t k = 0; k < n; ++k) {
    const ScheduledRequest& sr = scheduler_output.scheduled[k];
    CHECK_EQ(model_runner_output.req_ids[k], sr.req_id) << "runner output out of order";
    auto it = requests_.find(sr.req_id);
    if (it == requests_.end()) continue;  // aborted since it was scheduled
    Request* request = it->second.get();
    static const std::vector<int32_t> kNone;
    const std::vector<int32_t>& sampled =
        model_runner_output.sampled_token_ids.empty() ? kNone : model_runner_output.sampled_token_ids[k];
    // A partial prefill's "sample" would come from the middle of the prompt.
    CHECK(sr.needs_sample || sampled.empty()) << "request " << sr.req_id << " sampled mid-prompt";

    EngineCoreOutput out;
    bool stopped = false;
    for (int32_t token : sampled) {
      request->AppendOutputTokenId(token);
      out.new_token_ids.push_back(token);
      if (CheckStop(request)) {
        stopped = true;  // tokens after a stop are dropped
        break;
      }
    }
    if (out.new_token_ids.empty()) continue;
    if (!model_runner_output.logprobs.empty() && !model_runner_output.logprobs[k].empty()) {
      const auto& lp = model_runner_output.logprobs[k];
      out.new_logprobs.assign(lp.begin(), lp.begin() + static_cast<std::ptrdiff_t>(
                                                           std::min(lp.size(), out.new_token_ids.size())));
    }
    if (!model_runner_output.prompt_logprobs.empty()) {
      out.prompt_logprobs = model_runner_output.prompt_logprobs[k];
    }
    out.req_id = request->request_id();
    out.finish_reason = request->finish_reason();
    out.num_prompt_tokens = request->num_prompt_tokens();
    out.num_cached_tokens = std::max(0, request->num_cached_tokens());
    out.stop_token_id = request->stop_reason();
    if (stopped) {
      RemoveFromRunning(request);
      FinishRequest(request, request->status());
    }
    outputs.push_back(std::move(out));
  }
  return outputs;
}

}  // namespace pagoda
