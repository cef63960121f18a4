// A fake model runner and a step loop around the Scheduler, for exact,
// deterministic scheduler tests. The fake runner keeps a paged "KV cache" of
// token ids: each step it writes the scheduled tokens into the slots their
// block table gives, then, for requests that sample, reads the whole context
// back through the block table and checks it is the request's tokens. So a
// wrong block table or a wrong prefix-cache hit fails the test. The sampled
// token is a hash of that context and of a per-request sample counter (a
// stand-in for the seeded generator the real runner keeps across
// preemption), unless the test scripts the tokens. Single-threaded.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "sched/scheduler.h"

namespace pagoda::testing {

class FakeRunner {
 public:
  FakeRunner(int block_size, int num_blocks)
      : block_size_(block_size), kv_(static_cast<size_t>(block_size) * num_blocks, -1) {}

  // The request's i-th sampled token is tokens[i] (then hashes again).
  void Script(const std::string& req_id, std::vector<int32_t> tokens) { scripts_[req_id] = std::move(tokens); }

  static int32_t NextToken(const std::vector<int32_t>& context, int sample_index) {
    uint64_t h = 1469598103934665603ull ^ static_cast<uint64_t>(sample_index) * 0x9E3779B97F4A7C15ull;
    for (int32_t t : context) h = (h ^ static_cast<uint32_t>(t)) * 1099511628211ull;
    return 1000 + static_cast<int32_t>(h % 1000);  // never a small "special" id
  }

  ModelRunnerOutput Execute(const SchedulerOutput& out, const Scheduler& scheduler) {
    for (const std::string& id : out.finished_req_ids) states_.erase(id);
    ModelRunnerOutput mro;
    // Write every request's K/V first, then "attend" (write-then-attend).
    for (const ScheduledRequest& sr : out.scheduled) {
      const Request* r = scheduler.GetRequest(sr.req_id);
      EXPECT_NE(r, nullptr) << sr.req_id;
      EXPECT_NE(sr.sampling_params, nullptr);
      EXPECT_EQ(sr.is_new, states_.count(sr.req_id) == 0) << sr.req_id << ": is_new must match runner state";
      if (sr.is_new) states_[sr.req_id] = 0;
      const std::vector<int32_t>& all = r->all_token_ids();
      EXPECT_EQ(sr.token_ids, std::vector<int32_t>(all.begin() + sr.num_computed_tokens,
                                                   all.begin() + sr.num_computed_tokens + sr.token_ids.size()));
      for (size_t i = 0; i < sr.token_ids.size(); ++i) {
        const int pos = sr.num_computed_tokens + static_cast<int>(i);
        const int32_t block = sr.block_ids.at(pos / block_size_);
        EXPECT_NE(block, 0) << "the null block holds no K/V";
        kv_.at(static_cast<size_t>(block) * block_size_ + pos % block_size_) = sr.token_ids[i];
      }
    }
    for (const ScheduledRequest& sr : out.scheduled) {
      mro.req_ids.push_back(sr.req_id);
      mro.sampled_token_ids.emplace_back();
      if (!sr.needs_sample) continue;
      const Request* r = scheduler.GetRequest(sr.req_id);
      const int context_len = sr.num_computed_tokens + static_cast<int>(sr.token_ids.size());
      EXPECT_EQ(context_len, r->num_tokens());
      std::vector<int32_t> context;
      for (int pos = 0; pos < context_len; ++pos) {
        const int32_t block = sr.block_ids.at(pos / block_size_);
        context.push_back(kv_.at(static_cast<size_t>(block) * block_size_ + pos % block_size_));
      }
      EXPECT_EQ(context, r->all_token_ids()) << sr.req_id << ": K/V read through the block table";
      int& n = states_[sr.req_id];
      auto script = scripts_.find(sr.req_id);
      const bool scripted = script != scripts_.end() && n < static_cast<int>(script->second.size());
      mro.sampled_token_ids.back().push_back(scripted ? script->second[n] : NextToken(context, n));
      ++n;
    }
    return mro;
  }

 private:
  int block_size_;
  std::vector<int32_t> kv_;              // slot -> token id
  std::map<std::string, int> states_;    // req id -> samples drawn
  std::map<std::string, std::vector<int32_t>> scripts_;
};

// "id pos+len [blocks] new sample", one entry per scheduled request, " | "-joined.
inline std::string Describe(const SchedulerOutput& out) {
  std::ostringstream os;
  for (size_t i = 0; i < out.scheduled.size(); ++i) {
    const ScheduledRequest& s = out.scheduled[i];
    if (i) os << " | ";
    os << s.req_id << " " << s.num_computed_tokens << "+" << s.token_ids.size() << " [";
    for (size_t b = 0; b < s.block_ids.size(); ++b) os << (b ? "," : "") << s.block_ids[b];
    os << "]";
    if (s.is_new) os << " new";
    if (s.needs_sample) os << " sample";
  }
  return os.str();
}

inline std::vector<int32_t> Range(int32_t start, int n) {
  std::vector<int32_t> v(n);
  for (int i = 0; i < n; ++i) v[i] = start + i;
  return v;
}

class FakeEngine {
 public:
  FakeEngine(SchedulerConfig sc, KVCacheConfig kc) : scheduler(sc, kc), runner(kc.block_size, kc.num_blocks) {}

  void Add(const std::string& id, std::vector<int32_t> prompt, SamplingParams params = {},
           RequestOptions options = {}) {
    scheduler.AddRequest(std::make_unique<Request>(id, std::move(prompt), std::move(params), std::move(options)));
  }

  // One engine step; returns Describe() of its schedule.
  std::string Step() {
    last = scheduler.Schedule();
    ModelRunnerOutput mro = runner.Execute(last, scheduler);
    last_outputs = scheduler.UpdateFromOutput(last, mro);
    for (const EngineCoreOutput& o : last_outputs) {
      auto& t = tokens[o.req_id];
      t.insert(t.end(), o.new_token_ids.begin(), o.new_token_ids.end());
      if (o.finish_reason) finished[o.req_id] = o;
    }
    return Describe(last);
  }

  void RunUntilDone(int max_steps = 1000) {
    for (int i = 0; i < max_steps && scheduler.HasUnfinishedRequests(); ++i) Step();
    ASSERT_FALSE(scheduler.HasUnfinishedRequests());
  }

  std::vector<int32_t> FreeBlockIds() const { return scheduler.kv_cache_manager().block_pool().FreeBlockIds(); }

  Scheduler scheduler;
  FakeRunner runner;
  SchedulerOutput last;
  std::vector<EngineCoreOutput> last_outputs;
  std::map<std::string, std::vector<int32_t>> tokens;   // every token emitted per request
  std::map<std::string, EngineCoreOutput> finished;     // last output of finished requests
};

inline SamplingParams MaxTokens(int n) {
  SamplingParams p;
  p.max_tokens = n;
  return p;
}

}  // namespace pagoda::testing
