#include "engine/engine_client.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "engine/llm_engine.h"
#include "engine/output_processor.h"

namespace pagoda {

double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void Histogram::Observe(double v) {
  if (counts.size() != bounds.size() + 1) counts.assign(bounds.size() + 1, 0);
  const size_t i = static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
  ++counts[i];
  sum += v;
  ++count;
}

Histogram Histogram::TimeToFirstToken() {
  return Histogram({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
                    2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0});
}

Histogram Histogram::InterTokenLatency() {
  return Histogram({0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0,
                    2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0});
}

Histogram Histogram::E2eRequestLatency() {
  return Histogram({0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0,
                    50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0});
}

namespace {

// OutputStream over a queue the callback fills.
class QueueStream : public OutputStream {
 public:
  void Push(RequestOutput o) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(o));
    cv_.notify_one();
  }
  std::optional<RequestOutput> Next() override {
    std::unique_lock<std::mutex> lock(mu_);
    if (done_) return std::nullopt;
    cv_.wait(lock, [&] { return !queue_.empty(); });
    RequestOutput o = std::move(queue_.front());
    queue_.pop_front();
    done_ = o.finished;
    return o;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<RequestOutput> queue_;
  bool done_ = false;
};

}  // namespace

class EngineClient::Impl {
 public:
  explicit Impl(std::unique_ptr<LLMEngine> engine)
      : engine_(std::move(engine)), processor_(engine_->tokenizer()) {
    core_thread_ = std::thread([this] { CoreLoop(); });
    output_thread_ = std::thread([this] { OutputLoop(); });
  }

  ~Impl() {
    Shutdown();
    if (core_thread_.joinable()) core_thread_.join();
    if (output_thread_.joinable()) output_thread_.join();
  }

  StatusOr<SamplingParams> Validate(const GenerateRequest& r) const {
    if (r.request_id.empty()) return InvalidArgument("the request id is empty");
    return engine_->ValidateRequest(r.request_id, r.prompt_token_ids, r.sampling_params);
  }

  Status Submit(GenerateRequest r, OutputCallback callback) {
    ASSIGN_OR_RETURN(SamplingParams params, Validate(r));
    if (r.arrival_time <= 0) r.arrival_time = MonotonicSeconds();
    // One critical section, so an Abort from another thread sees either
    // nothing or the whole request (registered and queued).
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return FailedPrecondition("the engine is shutting down");
    if (live_.count(r.request_id)) return InvalidArgument("request id " + r.request_id + " is already in use");
    // Scheduler ids carry a serial number: a client may reuse its id as soon
    // as the final output arrives, while outputs (or a stop-string abort) of
    // the old request may still be in flight under the old scheduler id.
    const std::vector<std::string> child_ids =
        ChildRequestIds(r.request_id + "#" + std::to_string(next_serial_++), params);
    live_[r.request_id] = child_ids;
    {
      // Registered before the core can see the request, so its first
      // output finds it. (Lock order: mu_, then proc_mu_; the output
      // thread never holds both.)
      std::lock_guard<std::mutex> plock(proc_mu_);
      processor_.AddRequest({.request_id = r.request_id,
                             .prompt_token_ids = r.prompt_token_ids,
                             .params = params,
                             .child_ids = child_ids,
                             .arrival_time = r.arrival_time});
      callbacks_[r.request_id] = std::make_shared<OutputCallback>(std::move(callback));
    }
    const int count = static_cast<int>(child_ids.size());
    for (int i = 0; i < count; ++i) {
      adds_.push_back({child_ids[static_cast<size_t>(i)], r.prompt_token_ids, ChildSamplingParams(params, i, count),
                       RequestOptions{.arrival_time = r.arrival_time, .priority = r.priority, .cache_salt = r.cache_salt}});
    }
    cv_.notify_one();
    return Status::Ok();
  }

  void Abort(const std::string& request_id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(request_id);
    if (it == live_.end()) return;
    aborts_.insert(aborts_.end(), it->second.begin(), it->second.end());
    cv_.notify_one();
  }

  EngineStats GetStats() const {
    EngineStats s;
    {
      std::lock_guard<std::mutex> lock(stats_mu_);
      s = core_stats_;
    }
    std::lock_guard<std::mutex> lock(proc_mu_);
    processor_.AddStats(&s);
    return s;
  }

  void Shutdown() {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }

  const LLMEngine& engine() const { return *engine_; }

 private:
  struct PendingAdd {
    std::string id;
    std::vector<int32_t> prompt;
    SamplingParams params;
    RequestOptions options;
  };
  // What the core hands the output thread, in step order.
  struct OutputItem {
    std::vector<EngineCoreOutput> outputs;
    std::vector<std::string> aborted;  // child ids aborted in the scheduler
  };

  void CoreLoop() {
    while (true) {
      std::vector<PendingAdd> adds;
      std::vector<std::string> aborts;
      bool stopping;
      {
        std::unique_lock<std::mutex> lock(mu_);
        // Only this thread touches the engine, so reading it here is safe.
        cv_.wait(lock, [&] { return stopping_ || !adds_.empty() || !aborts_.empty() || engine_->HasPendingWork(); });
        adds.swap(adds_);
        aborts.swap(aborts_);
        stopping = stopping_;
        if (stopping) {
          // Everything still live ends as an abort.
          for (const auto& [id, children] : live_) aborts.insert(aborts.end(), children.begin(), children.end());
        }
      }
      if (!stopping) {
        for (PendingAdd& a : adds) {
          engine_->AddValidatedRequest(a.id, std::move(a.prompt), std::move(a.params), std::move(a.options));
        }
      }
      OutputItem item;
      for (const std::string& id : aborts) engine_->AbortRequest(id);
      item.aborted = std::move(aborts);
      if (!stopping && engine_->HasPendingWork()) item.outputs = engine_->Step();
      PublishStats();
      if (!item.outputs.empty() || !item.aborted.empty()) PushOutput(std::move(item));
      if (stopping) break;
    }
    // Drop the runner's state of what was aborted at shutdown.
    if (engine_->HasPendingWork()) engine_->Step();
    std::lock_guard<std::mutex> lock(out_mu_);
    core_done_ = true;
    out_cv_.notify_one();
  }

  void PublishStats() {
    const Scheduler& s = engine_->scheduler();
    std::lock_guard<std::mutex> lock(stats_mu_);
    core_stats_.num_running = s.num_running();
    core_stats_.num_waiting = s.num_waiting();
    core_stats_.kv_cache_usage = s.kv_cache_usage();
    core_stats_.prefix_cache_queries = s.prefix_cache_stats().queries;
    core_stats_.prefix_cache_hits = s.prefix_cache_stats().hits;
    core_stats_.num_preemptions_total = engine_->num_preemptions_total();
  }

  void PushOutput(OutputItem item) {
    std::lock_guard<std::mutex> lock(out_mu_);
    out_queue_.push_back(std::move(item));
    out_cv_.notify_one();
  }

  void OutputLoop() {
    while (true) {
      OutputItem item;
      {
        std::unique_lock<std::mutex> lock(out_mu_);
        out_cv_.wait(lock, [&] { return !out_queue_.empty() || core_done_; });
        if (out_queue_.empty()) break;  // core_done_ and drained
        item = std::move(out_queue_.front());
        out_queue_.pop_front();
      }
      OutputProcessor::Result result;
      std::vector<std::pair<std::shared_ptr<OutputCallback>, RequestOutput>> calls;
      {
        std::lock_guard<std::mutex> lock(proc_mu_);
        const double now = MonotonicSeconds();
        if (!item.outputs.empty()) processor_.Process(item.outputs, now, &result);
        if (!item.aborted.empty()) processor_.Abort(item.aborted, now, &result);
        for (RequestOutput& o : result.outputs) {
          auto it = callbacks_.find(o.request_id);
          if (it == callbacks_.end()) continue;
          std::shared_ptr<OutputCallback> cb = it->second;
          if (o.finished) callbacks_.erase(it);
          calls.emplace_back(std::move(cb), std::move(o));
        }
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        // A stop string ended these children: free their blocks now.
        if (!result.stop_aborts.empty()) {
          aborts_.insert(aborts_.end(), result.stop_aborts.begin(), result.stop_aborts.end());
          cv_.notify_one();
        }
        // Finished ids become reusable before the client hears of it.
        for (const std::string& id : result.finished_ids) {
          auto it = live_.find(id);
          if (it != live_.end()) live_.erase(it);
        }
      }
      for (auto& [cb, out] : calls) {
        if (*cb) (*cb)(std::move(out));
      }
    }
  }

  std::unique_ptr<LLMEngine> engine_;

  // Requests in, to the core thread.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PendingAdd> adds_;
  std::vector<std::string> aborts_;  // child ids
  bool stopping_ = false;
  std::unordered_map<std::string, std::vector<std::string>> live_;  // request -> scheduler ids
  uint64_t next_serial_ = 0;

  // Core outputs, to the output thread.
  std::mutex out_mu_;
  std::condition_variable out_cv_;
  std::deque<OutputItem> out_queue_;
  bool core_done_ = false;

  // Output processing (the output thread, and Submit registering).
  mutable std::mutex proc_mu_;
  OutputProcessor processor_;
  std::unordered_map<std::string, std::shared_ptr<OutputCallback>> callbacks_;

  mutable std::mutex stats_mu_;
  EngineStats core_stats_;

  std::thread core_thread_;
  std::thread output_thread_;
};

StatusOr<std::unique_ptr<EngineClient>> EngineClient::Create(EngineConfig config) {
  ASSIGN_OR_RETURN(std::unique_ptr<LLMEngine> engine, LLMEngine::Create(std::move(config)));
  return std::make_unique<EngineClient>(std::move(engine));
}

EngineClient::EngineClient(std::unique_ptr<LLMEngine> engine)
    : impl_(std::make_unique<Impl>(std::move(engine))) {}

EngineClient::~EngineClient() = default;

Status EngineClient::Submit(GenerateRequest request, OutputCallback callback) {
  return impl_->Submit(std::move(request), std::move(callback));
}

StatusOr<std::unique_ptr<OutputStream>> EngineClient::Submit(GenerateRequest request) {
  auto stream = std::make_shared<QueueStream>();
  RETURN_IF_ERROR(impl_->Submit(std::move(request), [stream](RequestOutput o) { stream->Push(std::move(o)); }));
  // The stream object outlives the callback's copy through the shared_ptr.
  struct Holder : OutputStream {
    std::shared_ptr<QueueStream> s;
    std::optional<RequestOutput> Next() override { return s->Next(); }
  };
  auto h = std::make_unique<Holder>();
  h->s = std::move(stream);
  return std::unique_ptr<OutputStream>(std::move(h));
}

StatusOr<SamplingParams> EngineClient::Validate(const GenerateRequest& request) const {
  return impl_->Validate(request);
}

void EngineClient::Abort(const std::string& request_id) { impl_->Abort(request_id); }

EngineStats EngineClient::GetStats() const { return impl_->GetStats(); }

const Tokenizer& EngineClient::tokenizer() const { return impl_->engine().tokenizer(); }
const ModelConfig& EngineClient::model_config() const { return impl_->engine().model().config(); }
const EngineConfig& EngineClient::config() const { return impl_->engine().config(); }
int64_t EngineClient::max_model_len() const { return impl_->engine().config().model.max_model_len; }
const KvCache& EngineClient::kv_cache() const { return impl_->engine().kv_cache(); }
const nlohmann::json& EngineClient::generation_config() const {
  return impl_->engine().model().generation_config();
}
const std::vector<int32_t>& EngineClient::eos_token_ids() const { return impl_->engine().eos_token_ids(); }

void EngineClient::Shutdown() { impl_->Shutdown(); }

}  // namespace pagoda
