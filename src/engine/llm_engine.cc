#include "engine/llm_engine.h"

#include <algorithm>
#include <map>

#include "formats/gguf.h"

namespace pagoda {

LLMEngine::~LLMEngine() = default;

StatusOr<std::unique_ptr<LLMEngine>> LLMEngine::Create(EngineConfig config) {
  std::unique_ptr<LLMEngine> e(new LLMEngine());
  ASSIGN_OR_RETURN(e->model_, Model::Load(config.model.model));
  const std::string tok_path = config.model.tokenizer.empty() ? config.model.model : config.model.tokenizer;
  if (config.model.tokenizer.empty() && e->model_->gguf() != nullptr) {
    ASSIGN_OR_RETURN(e->tokenizer_, Tokenizer::FromGguf(*e->model_->gguf()));
  } else {
    ASSIGN_OR_RETURN(e->tokenizer_, Tokenizer::FromHf(tok_path));
  }
  RETURN_IF_ERROR(config.Resolve(*e->model_));
  e->config_ = config;

  if (e->tokenizer_->eos_id() >= 0) e->eos_token_ids_.push_back(e->tokenizer_->eos_id());
  const nlohmann::json& gen = e->model_->generation_config();
  if (auto it = gen.find("eos_token_id"); it != gen.end()) {
    auto add = [&](const nlohmann::json& v) {
      if (v.is_number_integer()) {
        const int32_t id = v.get<int32_t>();
        if (std::find(e->eos_token_ids_.begin(), e->eos_token_ids_.end(), id) == e->eos_token_ids_.end()) {
          e->eos_token_ids_.push_back(id);
        }
      }
    };
    if (it->is_array()) for (const auto& v : *it) add(v);
    else add(*it);
  }

  const ModelConfig& mc = e->model_->config();
  e->pool_ = std::make_unique<ThreadPool>(config.model.threads);
  e->kv_cache_ = std::make_unique<KvCache>(mc.num_layers, config.cache.num_kv_blocks,
                                           config.cache.block_size, mc.num_kv_heads, mc.head_dim);
  KVCacheConfig kv;
  kv.num_blocks = static_cast<int32_t>(config.cache.num_kv_blocks);
  kv.block_size = config.cache.block_size;
  kv.enable_prefix_caching = config.cache.enable_prefix_caching;
  e->scheduler_ = std::make_unique<Scheduler>(config.scheduler, kv);
  e->runner_ = std::make_unique<ModelRunner>(e->model_.get(), e->kv_cache_.get(), e->pool_.get());
  return e;
}

StatusOr<std::vector<int32_t>> LLMEngine::Tokenize(const std::string& prompt) const {
  std::vector<int32_t> ids = tokenizer_->Encode(prompt, /*add_special=*/true);
  if (ids.empty() && tokenizer_->bos_id() >= 0) ids.push_back(tokenizer_->bos_id());
  if (ids.empty()) return InvalidArgument("the prompt is empty and the model has no BOS token");
  return ids;
}

Status LLMEngine::AddRequest(const std::string& request_id, std::vector<int32_t> prompt,
                             SamplingParams params) {
  const int64_t max_len = config_.model.max_model_len;
  const int64_t vocab = model_->config().vocab_size;
  if (prompt.empty()) return InvalidArgument("request " + request_id + ": the prompt is empty");
  for (int32_t id : prompt) {
    if (id < 0 || id >= vocab) {
      return InvalidArgument("request " + request_id + ": token id " + std::to_string(id) +
                             " is outside the vocabulary (size " + std::to_string(vocab) + ")");
    }
  }
  if (static_cast<int64_t>(prompt.size()) >= max_len) {
    return InvalidArgument("request " + request_id + ": the prompt has " +
                           std::to_string(prompt.size()) +
                           " tokens, which leaves no room to generate within max_model_len " +
                           std::to_string(max_len));
  }
  const int64_t room = max_len - static_cast<int64_t>(prompt.size());
  if (!params.max_tokens) params.max_tokens = static_cast<int>(room);
  if (*params.max_tokens < 1) return InvalidArgument("max_tokens must be at least 1");
  if (*params.max_tokens > room) {
    return InvalidArgument("request " + request_id + ": max_tokens " +
                           std::to_string(*params.max_tokens) + " plus the prompt's " +
                           std::to_string(prompt.size()) + " tokens exceeds max_model_len " +
                           std::to_string(max_len));
  }
  if (params.temperature < 0) return InvalidArgument("temperature must be >= 0");
  if (!(params.top_p > 0 && params.top_p <= 1)) return InvalidArgument("top_p must be in (0, 1]");
  if (params.min_p < 0 || params.min_p > 1) return InvalidArgument("min_p must be in [0, 1]");
  if (params.top_k < -1) return InvalidArgument("top_k must be -1 (off), 0 (off) or positive");
  params.eos_token_ids = eos_token_ids_;
  scheduler_->AddRequest(std::make_unique<Request>(request_id, std::move(prompt), std::move(params)));
  return Status::Ok();
}

void LLMEngine::AbortRequest(const std::string& request_id) {
  const std::string ids[] = {request_id};
  scheduler_->AbortRequests(ids);
}

std::vector<EngineCoreOutput> LLMEngine::Step() {
  SchedulerOutput out = scheduler_->Schedule();
  ModelRunnerOutput result = runner_->Execute(out);
  return scheduler_->UpdateFromOutput(out, result);
}

bool LLMEngine::HasUnfinishedRequests() const { return scheduler_->HasUnfinishedRequests(); }

StatusOr<std::vector<CompletionOutput>> LLMEngine::Generate(const std::vector<std::string>& prompts,
                                                            const SamplingParams& params) {
  std::vector<std::vector<int32_t>> ids;
  for (const std::string& p : prompts) {
    ASSIGN_OR_RETURN(auto t, Tokenize(p));
    ids.push_back(std::move(t));
  }
  return GenerateFromIds(ids, params);
}

StatusOr<std::vector<CompletionOutput>> LLMEngine::GenerateFromIds(
    const std::vector<std::vector<int32_t>>& prompts, const SamplingParams& params) {
  std::vector<CompletionOutput> outs(prompts.size());
  std::map<std::string, size_t> index;
  const std::string prefix = "gen-" + std::to_string(next_generate_call_++) + "-";
  for (size_t i = 0; i < prompts.size(); ++i) {
    outs[i].request_id = prefix + std::to_string(i);
    outs[i].prompt_token_ids = prompts[i];
    Status s = AddRequest(outs[i].request_id, prompts[i], params);
    if (!s.ok()) {
      for (size_t j = 0; j < i; ++j) AbortRequest(outs[j].request_id);
      return s;
    }
    index[outs[i].request_id] = i;
  }
  while (HasUnfinishedRequests()) {
    for (const EngineCoreOutput& o : Step()) {
      auto it = index.find(o.req_id);
      if (it == index.end()) continue;
      CompletionOutput& c = outs[it->second];
      c.token_ids.insert(c.token_ids.end(), o.new_token_ids.begin(), o.new_token_ids.end());
      if (o.finish_reason) c.finish_reason = o.finish_reason;
    }
  }
  // One more step hands the runner the finished ids so it drops their state.
  if (scheduler_->HasFinishedRequests()) Step();
  for (CompletionOutput& c : outs) c.text = tokenizer_->Decode(c.token_ids, params.skip_special_tokens);
  return outs;
}

}  // namespace pagoda
