#include "runner/model_runner.h"

#include <algorithm>
#include <random>

#include "base/check.h"

namespace pagoda {

SamplingOptions ToSamplingOptions(const SamplingParams& sp) {
  SamplingOptions o;
  o.temperature = sp.temperature;
  o.top_k = sp.top_k;
  o.top_p = sp.top_p;
  o.min_p = sp.min_p;
  o.presence_penalty = sp.presence_penalty;
  o.frequency_penalty = sp.frequency_penalty;
  o.repetition_penalty = sp.repetition_penalty;
  o.logit_bias = sp.logit_bias;
  o.min_tokens = sp.min_tokens;
  if (sp.min_tokens > 0) {
    if (!sp.ignore_eos) o.min_tokens_banned_ids = sp.eos_token_ids;
    o.min_tokens_banned_ids.insert(o.min_tokens_banned_ids.end(), sp.stop_token_ids.begin(),
                                   sp.stop_token_ids.end());
  }
  o.bad_words_token_ids = sp.bad_words_token_ids;
  o.num_logprobs = sp.logprobs ? *sp.logprobs : -1;
  return o;
}

ModelRunner::ModelRunner(const Model* model, KvCache* cache, ThreadPool* pool)
    : model_(model), cache_(cache), pool_(pool) {}

void ModelRunner::BuildBatch(const SchedulerOutput& out) {
  BatchInput& b = batch_;
  b = BatchInput();
  plans_.assign(out.scheduled.size(), RowPlan{});
  const int64_t bs = cache_->block_size();
  size_t max_blocks = 0;
  for (const ScheduledRequest& r : out.scheduled) max_blocks = std::max(max_blocks, r.block_ids.size());
  b.max_blocks_per_seq = static_cast<int32_t>(max_blocks);
  b.query_start_loc.push_back(0);
  for (size_t k = 0; k < out.scheduled.size(); ++k) {
    const ScheduledRequest& r = out.scheduled[k];
    const int32_t start = r.num_computed_tokens;
    const int32_t first_row = static_cast<int32_t>(b.token_ids.size());
    for (size_t i = 0; i < r.token_ids.size(); ++i) {
      const int32_t pos = start + static_cast<int32_t>(i);
      b.token_ids.push_back(r.token_ids[i]);
      b.positions.push_back(pos);
      const int64_t block = r.block_ids[static_cast<size_t>(pos / bs)];
      b.slot_mapping.push_back(block * bs + pos % bs);
    }
    b.query_start_loc.push_back(static_cast<int32_t>(b.token_ids.size()));
    const int32_t end = start + static_cast<int32_t>(r.token_ids.size());
    b.seq_lens.push_back(end);
    std::vector<int32_t> row(max_blocks, 0);
    std::copy(r.block_ids.begin(), r.block_ids.end(), row.begin());
    b.block_tables.insert(b.block_tables.end(), row.begin(), row.end());

    RowPlan& plan = plans_[k];
    const RequestState& st = states_.at(r.req_id);
    if (st.num_prompt_logprobs >= 0 && !st.prompt_logprobs_sent) {
      // Positions p whose next token p + 1 is a prompt token, not yet done
      // (a preempted request recomputes positions it already reported).
      const int32_t lo = std::max(start, st.next_prompt_logprob_pos);
      const int32_t hi = std::min(end, r.num_prompt_tokens - 1);
      if (hi > lo) {
        plan.first_prompt_row = static_cast<int32_t>(b.logits_indices.size());
        plan.num_prompt_rows = hi - lo;
        plan.first_prompt_pos = lo;
        for (int32_t p = lo; p < hi; ++p) b.logits_indices.push_back(first_row + (p - start));
      }
    }
    if (r.needs_sample) {
      plan.sample_row = static_cast<int32_t>(b.logits_indices.size());
      b.logits_indices.push_back(b.query_start_loc.back() - 1);
    }
  }
}

ModelRunnerOutput ModelRunner::Execute(const SchedulerOutput& out) {
  for (const std::string& id : out.finished_req_ids) states_.erase(id);
  for (const ScheduledRequest& r : out.scheduled) {
    if (states_.count(r.req_id)) continue;
    const SamplingParams& sp = *r.sampling_params;
    RequestState st;
    st.options = ToSamplingOptions(sp);
    st.rng.seed(sp.seed ? *sp.seed : std::random_device{}());
    st.num_prompt_logprobs = sp.prompt_logprobs ? *sp.prompt_logprobs : -1;
    states_.emplace(r.req_id, std::move(st));
  }

  const size_t n = out.scheduled.size();
  ModelRunnerOutput result;
  result.req_ids.reserve(n);
  result.sampled_token_ids.resize(n);
  result.logprobs.resize(n);
  result.prompt_logprobs.resize(n);
  for (const ScheduledRequest& r : out.scheduled) result.req_ids.push_back(r.req_id);
  if (out.scheduled.empty()) return result;

  BuildBatch(out);
  const int64_t vocab = model_->config().vocab_size;
  logits_.resize(batch_.logits_indices.size() * static_cast<size_t>(vocab));
  model_->Forward(batch_, *cache_, ws_, pool_, logits_.data());
  auto row_of = [&](int32_t row) { return logits_.data() + static_cast<size_t>(row) * static_cast<size_t>(vocab); };

  for (size_t i = 0; i < n; ++i) {
    const ScheduledRequest& r = out.scheduled[i];
    RequestState& st = states_.at(r.req_id);
    const RowPlan& plan = plans_[i];
    CHECK(r.all_token_ids != nullptr || (plan.num_prompt_rows == 0 && st.options.num_logprobs < 0))
        << "request " << r.req_id << ": the scheduler did not pass its tokens";
    for (int32_t j = 0; j < plan.num_prompt_rows; ++j) {
      const int32_t pos = plan.first_prompt_pos + j;
      const int32_t next = (*r.all_token_ids)[static_cast<size_t>(pos + 1)];
      st.prompt_logprobs.push_back(
          Sampler::ComputeLogprobs(row_of(plan.first_prompt_row + j), vocab, next, st.num_prompt_logprobs));
      st.next_prompt_logprob_pos = pos + 1;
    }
    if (plan.sample_row < 0) continue;
    if (st.num_prompt_logprobs >= 0 && !st.prompt_logprobs_sent) {
      result.prompt_logprobs[i] = std::move(st.prompt_logprobs);
      st.prompt_logprobs.clear();
      st.prompt_logprobs_sent = true;
    }
    TokenHistory history;
    if (r.all_token_ids != nullptr) {
      const std::span<const int32_t> all(*r.all_token_ids);
      history.prompt = all.first(static_cast<size_t>(r.num_prompt_tokens));
      history.output = all.subspan(static_cast<size_t>(r.num_prompt_tokens));
    }
    LogitsMaskHook mask;
    if (mask_hook_) mask = [&](float* l, int64_t v) { mask_hook_(r.req_id, l, v); };
    SampleResult s = Sampler::Sample(row_of(plan.sample_row), vocab, st.options, history, st.rng,
                                     mask_hook_ ? &mask : nullptr);
    result.sampled_token_ids[i].push_back(s.token_id);
    if (s.logprobs) result.logprobs[i].push_back(std::move(*s.logprobs));
  }
  return result;
}

}  // namespace pagoda
