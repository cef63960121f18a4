#include "engine/llm_engine.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "engine/output_processor.h"
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
                                           config.cache.block_size, mc.num_kv_heads, mc.head_dim,
                                           config.cache.kv_cache_dtype);
  KVCacheConfig kv;
  kv.num_blocks = static_cast<int32_t>(config.cache.num_kv_blocks);
  kv.block_size = config.cache.block_size;
  kv.enable_prefix_caching = config.cache.enable_prefix_caching;
  e->scheduler_ = std::make_unique<Scheduler>(config.scheduler, kv);
  e->runner_ = std::make_unique<ModelRunner>(e->model_.get(), e->kv_cache_.get(), e->pool_.get());
  e->structured_ = std::make_unique<StructuredOutputManager>(*e->tokenizer_, e->eos_token_ids_,
                                                             static_cast<int32_t>(mc.vocab_size));
  StructuredOutputManager* so = e->structured_.get();
  e->runner_->set_logits_mask_hook(
      [so](const std::string& id, float* logits, int64_t vocab) { so->ApplyMask(id, logits, vocab); });
  return e;
}

StatusOr<std::vector<int32_t>> LLMEngine::Tokenize(const std::string& prompt) const {
  std::vector<int32_t> ids = tokenizer_->Encode(prompt, /*add_special=*/true);
  if (ids.empty() && tokenizer_->bos_id() >= 0) ids.push_back(tokenizer_->bos_id());
  if (ids.empty()) return InvalidArgument("the prompt is empty and the model has no BOS token");
  return ids;
}

namespace {

// vLLM's default max_logprobs.
constexpr int kMaxLogprobs = 20;

std::string Quote(const std::string& id) { return "request " + id + ": "; }

}  // namespace

StatusOr<SamplingParams> LLMEngine::ValidateRequest(const std::string& request_id,
                                                    const std::vector<int32_t>& prompt,
                                                    const SamplingParams& in) const {
  SamplingParams params = in;
  const std::string who = Quote(request_id);
  const int64_t max_len = config_.model.max_model_len;
  const int64_t vocab = model_->config().vocab_size;
  if (prompt.empty()) return InvalidArgument(who + "the prompt is empty");
  for (int32_t id : prompt) {
    if (id < 0 || id >= vocab) {
      return InvalidArgument(who + "token id " + std::to_string(id) +
                             " is outside the vocabulary (size " + std::to_string(vocab) + ")");
    }
  }
  if (static_cast<int64_t>(prompt.size()) >= max_len) {
    return InvalidArgument(who + "the prompt has " + std::to_string(prompt.size()) +
                           " tokens, which leaves no room to generate within max_model_len " +
                           std::to_string(max_len));
  }
  const int64_t room = max_len - static_cast<int64_t>(prompt.size());
  if (!params.max_tokens) params.max_tokens = static_cast<int>(room);
  if (*params.max_tokens < 1) return InvalidArgument(who + "max_tokens must be at least 1");
  if (*params.max_tokens > room) {
    return InvalidArgument(who + "max_tokens " + std::to_string(*params.max_tokens) +
                           " plus the prompt's " + std::to_string(prompt.size()) +
                           " tokens exceeds max_model_len " + std::to_string(max_len));
  }
  if (params.min_tokens < 0) return InvalidArgument(who + "min_tokens must be >= 0");
  if (params.min_tokens > *params.max_tokens) {
    return InvalidArgument(who + "min_tokens " + std::to_string(params.min_tokens) +
                           " is greater than max_tokens " + std::to_string(*params.max_tokens));
  }
  if (params.n < 1) return InvalidArgument(who + "n must be at least 1");
  if (params.best_of && *params.best_of < params.n) {
    return InvalidArgument(who + "best_of (" + std::to_string(*params.best_of) +
                           ") must be greater than or equal to n (" + std::to_string(params.n) + ")");
  }
  if (!(params.temperature >= 0)) return InvalidArgument(who + "temperature must be >= 0");
  if (!(params.top_p > 0 && params.top_p <= 1)) return InvalidArgument(who + "top_p must be in (0, 1]");
  if (!(params.min_p >= 0 && params.min_p <= 1)) return InvalidArgument(who + "min_p must be in [0, 1]");
  if (params.top_k < -1) return InvalidArgument(who + "top_k must be -1 (off), 0 (off) or positive");
  if (!(params.presence_penalty >= -2 && params.presence_penalty <= 2)) {
    return InvalidArgument(who + "presence_penalty must be in [-2, 2]");
  }
  if (!(params.frequency_penalty >= -2 && params.frequency_penalty <= 2)) {
    return InvalidArgument(who + "frequency_penalty must be in [-2, 2]");
  }
  if (!(params.repetition_penalty > 0 && params.repetition_penalty <= 1e6f)) {
    return InvalidArgument(who + "repetition_penalty must be > 0");
  }
  if (params.logprobs && (*params.logprobs < 0 || *params.logprobs > kMaxLogprobs)) {
    return InvalidArgument(who + "logprobs must be in [0, " + std::to_string(kMaxLogprobs) + "]");
  }
  if (params.prompt_logprobs && (*params.prompt_logprobs < 0 || *params.prompt_logprobs > kMaxLogprobs)) {
    return InvalidArgument(who + "prompt_logprobs must be in [0, " + std::to_string(kMaxLogprobs) + "]");
  }
  for (const std::string& s : params.stop) {
    if (s.empty()) return InvalidArgument(who + "stop strings must not be empty");
  }
  for (int32_t id : params.stop_token_ids) {
    if (id < 0 || id >= vocab) {
      return InvalidArgument(who + "stop_token_ids entry " + std::to_string(id) + " is outside the vocabulary");
    }
  }
  for (const auto& [id, bias] : params.logit_bias) {
    if (id < 0 || id >= vocab) {
      return InvalidArgument(who + "logit_bias token id " + std::to_string(id) + " is outside the vocabulary");
    }
    if (!std::isfinite(bias)) return InvalidArgument(who + "logit_bias values must be finite");
  }
  params.eos_token_ids = eos_token_ids_;
  params.compiled_grammar = nullptr;
  if (params.structured_output) {
    // Compiled here, on the caller's thread, so the engine thread never waits
    // for a grammar; the compiler's cache makes repeats free.
    auto grammar = structured_->Compile(*params.structured_output);
    if (!grammar.ok()) return InvalidArgument(who + "invalid structured output constraint: " +
                                              std::string(grammar.status().message()));
    params.compiled_grammar = *grammar;
    // The grammar decides where the output ends (its stop tokens are
    // allowed only there, and then they are the only choice), so EOS must
    // be able to end the request.
    params.ignore_eos = false;
  }
  // vLLM's rule: each bad word alone and after a space, the second only
  // when the space makes a different first token of the same length.
  params.bad_words_token_ids.clear();
  for (const std::string& word : params.bad_words) {
    std::string trimmed = word;
    trimmed.erase(0, trimmed.find_first_not_of(' ') == std::string::npos ? trimmed.size()
                                                                          : trimmed.find_first_not_of(' '));
    if (trimmed.empty()) continue;
    std::vector<int32_t> plain = tokenizer_->Encode(trimmed, /*add_special=*/false);
    std::vector<int32_t> spaced = tokenizer_->Encode(" " + trimmed, /*add_special=*/false);
    if (plain.empty()) continue;
    params.bad_words_token_ids.push_back(plain);
    if (!spaced.empty() && spaced[0] != plain[0] && spaced.size() == plain.size()) {
      params.bad_words_token_ids.push_back(std::move(spaced));
    }
  }
  return params;
}

Status LLMEngine::AddRequest(const std::string& request_id, std::vector<int32_t> prompt,
                             SamplingParams params, RequestOptions options) {
  ASSIGN_OR_RETURN(SamplingParams checked, ValidateRequest(request_id, prompt, params));
  if (scheduler_->GetRequest(request_id) != nullptr) {
    return InvalidArgument("request id " + request_id + " is already in use");
  }
  AddValidatedRequest(request_id, std::move(prompt), std::move(checked), std::move(options));
  return Status::Ok();
}

void LLMEngine::AddValidatedRequest(const std::string& request_id, std::vector<int32_t> prompt,
                                    SamplingParams params, RequestOptions options) {
  scheduler_->AddRequest(
      std::make_unique<Request>(request_id, std::move(prompt), std::move(params), std::move(options)));
}

void LLMEngine::AbortRequest(const std::string& request_id) {
  const std::string ids[] = {request_id};
  scheduler_->AbortRequests(ids);
}

std::vector<EngineCoreOutput> LLMEngine::Step() {
  SchedulerOutput out = scheduler_->Schedule();
  num_preemptions_total_ += static_cast<int64_t>(out.preempted_req_ids.size());
  // Masks are filled on a worker while the forward pass runs; the runner's
  // mask hook joins it before sampling.
  structured_->BeginStep(out);
  ModelRunnerOutput result = runner_->Execute(out);
  structured_->EndStep(out, &result);
  return scheduler_->UpdateFromOutput(out, result);
}

bool LLMEngine::HasUnfinishedRequests() const { return scheduler_->HasUnfinishedRequests(); }

bool LLMEngine::HasPendingWork() const {
  return scheduler_->HasUnfinishedRequests() || scheduler_->HasFinishedRequests();
}

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
  if (params.n != 1 || (params.best_of && *params.best_of != 1)) {
    return InvalidArgument("Generate returns one sequence per prompt; n and best_of need EngineClient");
  }
  std::vector<CompletionOutput> outs(prompts.size());
  std::map<std::string, size_t> index;
  OutputProcessor processor(*tokenizer_);
  const std::string prefix = "gen-" + std::to_string(next_generate_call_++) + "-";
  for (size_t i = 0; i < prompts.size(); ++i) {
    outs[i].request_id = prefix + std::to_string(i);
    outs[i].prompt_token_ids = prompts[i];
    StatusOr<SamplingParams> checked = ValidateRequest(outs[i].request_id, prompts[i], params);
    if (!checked.ok()) {
      for (size_t j = 0; j < i; ++j) AbortRequest(outs[j].request_id);
      if (scheduler_->HasFinishedRequests()) Step();
      return checked.status();
    }
    processor.AddRequest({.request_id = outs[i].request_id,
                          .prompt_token_ids = prompts[i],
                          .params = *checked,
                          .child_ids = {outs[i].request_id}});
    AddValidatedRequest(outs[i].request_id, prompts[i], *checked);
    index[outs[i].request_id] = i;
  }
  OutputProcessor::Result result;
  auto collect = [&]() {
    for (RequestOutput& ro : result.outputs) {
      CompletionOutput& c = outs[index.at(ro.request_id)];
      for (CompletionDelta& d : ro.outputs) {
        c.text += d.text;
        c.token_ids.insert(c.token_ids.end(), d.token_ids.begin(), d.token_ids.end());
        if (d.finished && d.finish_reason) {
          c.finish_reason = *d.finish_reason == "stop"     ? FinishReason::kStop
                            : *d.finish_reason == "length" ? FinishReason::kLength
                                                           : FinishReason::kAbort;
          c.stop_reason = d.stop_reason;
        }
      }
    }
    for (const std::string& id : result.stop_aborts) AbortRequest(id);
    result = {};
  };
  while (HasUnfinishedRequests()) {
    processor.Process(Step(), MonotonicSeconds(), &result);
    collect();
  }
  // One more step hands the runner the finished ids so it drops their state.
  if (scheduler_->HasFinishedRequests()) Step();
  return outs;
}

}  // namespace pagoda
