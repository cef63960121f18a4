#include "runner/model_runner.h"

#include <algorithm>
#include <random>

namespace pagoda {

ModelRunner::ModelRunner(const Model* model, KvCache* cache, ThreadPool* pool)
    : model_(model), cache_(cache), pool_(pool) {}

void ModelRunner::BuildBatch(const SchedulerOutput& out) {
  BatchInput& b = batch_;
  b = BatchInput();
  const int64_t bs = cache_->block_size();
  size_t max_blocks = 0;
  for (const ScheduledRequest& r : out.scheduled) max_blocks = std::max(max_blocks, r.block_ids.size());
  b.max_blocks_per_seq = static_cast<int32_t>(max_blocks);
  b.query_start_loc.push_back(0);
  for (const ScheduledRequest& r : out.scheduled) {
    const int32_t start = r.num_computed_tokens;
    for (size_t i = 0; i < r.token_ids.size(); ++i) {
      const int32_t pos = start + static_cast<int32_t>(i);
      b.token_ids.push_back(r.token_ids[i]);
      b.positions.push_back(pos);
      const int64_t block = r.block_ids[static_cast<size_t>(pos / bs)];
      b.slot_mapping.push_back(block * bs + pos % bs);
    }
    b.query_start_loc.push_back(static_cast<int32_t>(b.token_ids.size()));
    b.seq_lens.push_back(start + static_cast<int32_t>(r.token_ids.size()));
    std::vector<int32_t> row(max_blocks, 0);
    std::copy(r.block_ids.begin(), r.block_ids.end(), row.begin());
    b.block_tables.insert(b.block_tables.end(), row.begin(), row.end());
    if (r.needs_sample) b.logits_indices.push_back(b.query_start_loc.back() - 1);
  }
}

ModelRunnerOutput ModelRunner::Execute(const SchedulerOutput& out) {
  for (const std::string& id : out.finished_req_ids) states_.erase(id);
  for (const ScheduledRequest& r : out.scheduled) {
    if (states_.count(r.req_id)) continue;
    RequestState st;
    const SamplingParams& sp = *r.sampling_params;
    st.options.temperature = static_cast<float>(sp.temperature);
    st.options.top_k = sp.top_k;
    st.options.top_p = static_cast<float>(sp.top_p);
    st.options.min_p = static_cast<float>(sp.min_p);
    st.rng.seed(sp.seed ? *sp.seed : std::random_device{}());
    states_.emplace(r.req_id, std::move(st));
  }

  ModelRunnerOutput result;
  result.req_ids.reserve(out.scheduled.size());
  result.sampled_token_ids.resize(out.scheduled.size());
  for (const ScheduledRequest& r : out.scheduled) result.req_ids.push_back(r.req_id);
  if (out.scheduled.empty()) return result;

  BuildBatch(out);
  const int64_t vocab = model_->config().vocab_size;
  logits_.resize(batch_.logits_indices.size() * static_cast<size_t>(vocab));
  model_->Forward(batch_, *cache_, ws_, pool_, logits_.data());

  size_t row = 0;
  for (size_t i = 0; i < out.scheduled.size(); ++i) {
    const ScheduledRequest& r = out.scheduled[i];
    if (!r.needs_sample) continue;
    RequestState& st = states_.at(r.req_id);
    float* l = logits_.data() + row * static_cast<size_t>(vocab);
    result.sampled_token_ids[i].push_back(Sampler::Sample(l, vocab, st.options, st.rng));
    ++row;
  }
  return result;
}

}  // namespace pagoda
