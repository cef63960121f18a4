// POST /v1/completions: one engine request per prompt (string, list of
// strings, token ids or list of token id lists), n choices each — choice
// index = prompt index * n + choice. Answers whole, or as server-sent
// events with a final usage chunk (stream_options.include_usage) and
// "data: [DONE]". echo prepends the prompt; logprobs use the legacy format.
#include "server/handlers/handlers.h"
#include "server/handlers/openai_job.h"
#include "server/openai/responses.h"

namespace pagoda {

namespace {

struct ChoiceState {
  std::string text;
  int64_t num_tokens = 0;
  CompletionLogprobs logprobs;
  bool echoed = false;  // stream: the prompt was sent
  nlohmann::json finish_reason = nullptr;
  nlohmann::json stop_reason = nullptr;
};

struct PromptState {
  std::string text;  // the prompt as text, for echo
  int64_t num_prompt_tokens = 0;
  int64_t num_cached_tokens = 0;
  std::optional<std::vector<TokenLogprobs>> prompt_logprobs;
  std::vector<int32_t> prompt_token_ids;
};

class CompletionJob final : public OpenAiJob {
 public:
  CompletionJob(ServerContext& ctx, std::shared_ptr<HttpExchange> exchange, CompletionRequest request,
                std::string request_id)
      : OpenAiJob(ctx, std::move(exchange), request, "cmpl", std::move(request_id)),
        request_(std::move(request)),
        n_(request_.sampling.n) {
    prompts_.resize(request_.prompts.size());
    choices_.resize(request_.prompts.size() * n_);
    for (size_t i = 0; i < request_.prompts.size(); ++i) {
      const PromptInput& p = request_.prompts[i];
      prompts_[i].text = p.is_tokens ? ctx_.tokenizer().Decode(p.token_ids) : p.text;
    }
  }

 protected:
  void OnOutput(size_t prompt_index, RequestOutput& output) override {
    PromptState& prompt = prompts_[prompt_index];
    if (!output.prompt_token_ids.empty()) {
      prompt.prompt_token_ids = std::move(output.prompt_token_ids);
    }
    if (output.prompt_logprobs) prompt.prompt_logprobs = std::move(output.prompt_logprobs);
    prompt.num_prompt_tokens = output.num_prompt_tokens;
    prompt.num_cached_tokens = output.num_cached_tokens;
    for (CompletionDelta& delta : output.outputs) {
      const size_t index = prompt_index * n_ + delta.index;
      if (index >= choices_.size()) continue;
      ChoiceState& choice = choices_[index];
      std::string text;
      if (request_.echo && !choice.echoed) {
        choice.echoed = true;
        text = prompt.text;
        AddPromptLogprobs(prompt, &choice);
      }
      text += delta.text;
      choice.num_tokens += static_cast<int64_t>(delta.token_ids.size());
      if (request_.sampling.logprobs) {
        for (const TokenLogprobs& entry : delta.logprobs) choice.logprobs.Add(entry);
      }
      if (delta.finished) {
        choice.finish_reason = delta.finish_reason ? nlohmann::json(*delta.finish_reason) : nlohmann::json(nullptr);
        choice.stop_reason = StopReasonJson(delta);
      }
      if (request_.stream) {
        if (text.empty() && choice.logprobs.empty() && !delta.finished) continue;
        nlohmann::json c = {{"index", index},
                            {"text", text},
                            {"logprobs", request_.sampling.logprobs ? choice.logprobs.Take() : nlohmann::json(nullptr)},
                            {"finish_reason", delta.finished ? choice.finish_reason : nlohmann::json(nullptr)},
                            {"stop_reason", delta.finished ? choice.stop_reason : nlohmann::json(nullptr)}};
        nlohmann::json chunk = Envelope("text_completion");
        chunk["choices"] = nlohmann::json::array({std::move(c)});
        WriteStreamChunk(std::move(chunk));
      } else {
        choice.text += text;
      }
    }
  }

  void OnFinished() override {
    if (request_.stream) return EndStream("text_completion");
    nlohmann::json choices = nlohmann::json::array();
    for (size_t i = 0; i < choices_.size(); ++i) {
      ChoiceState& choice = choices_[i];
      choices.push_back({{"index", i},
                         {"text", choice.text},
                         {"logprobs", request_.sampling.logprobs ? choice.logprobs.Take() : nlohmann::json(nullptr)},
                         {"finish_reason", choice.finish_reason},
                         {"stop_reason", choice.stop_reason}});
    }
    nlohmann::json body = Envelope("text_completion");
    body["choices"] = std::move(choices);
    body["usage"] = Usage();
    RespondWhole(body);
  }

  nlohmann::json Usage() const override {
    int64_t prompt_tokens = 0, cached = 0, completion = 0;
    for (const PromptState& p : prompts_) prompt_tokens += p.num_prompt_tokens, cached += p.num_cached_tokens;
    for (const ChoiceState& c : choices_) completion += c.num_tokens;
    return UsageJson(prompt_tokens, completion, cached);
  }

  // echo with logprobs: the prompt's tokens lead the choice's logprobs.
  void AddPromptLogprobs(const PromptState& prompt, ChoiceState* choice) {
    if (!request_.sampling.logprobs) return;
    if (!prompt.prompt_logprobs || prompt.prompt_token_ids.empty()) {
      choice->logprobs.Advance(prompt.text);
      return;
    }
    choice->logprobs.AddWithoutLogprob(
        ctx_.tokenizer().Decode(std::vector<int32_t>{prompt.prompt_token_ids[0]}, /*skip_special=*/false));
    for (const TokenLogprobs& entry : *prompt.prompt_logprobs) choice->logprobs.Add(entry);
  }

  CompletionRequest request_;
  size_t n_;
  std::vector<PromptState> prompts_;
  std::vector<ChoiceState> choices_;
};

}  // namespace

void HandleCompletions(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange) {
  const std::string request_id = ctx.RequestId(exchange->request());
  HttpHeaders id_header = {{"X-Request-Id", request_id}};
  nlohmann::json body;
  if (!ReadJsonBody(*exchange, &body)) return;
  CompletionRequest request;
  if (auto error = ParseCompletionRequest(body, ctx.completion_defaults(), ctx.options().limits, &request)) {
    return RespondError(*exchange, *error, id_header);
  }
  if (auto error = ctx.CheckModel(request.model)) return RespondError(*exchange, *error, id_header);

  std::vector<GenerateRequest> engine_requests;
  for (size_t i = 0; i < request.prompts.size(); ++i) {
    const PromptInput& prompt = request.prompts[i];
    engine_requests.push_back(EngineRequest(
        request, "cmpl-" + request_id + "-" + std::to_string(i),
        prompt.is_tokens ? prompt.token_ids
                          : ctx.Tokenize(prompt.text, request.add_special_tokens, /*parse_special=*/true)));
  }
  auto job = std::make_shared<CompletionJob>(ctx, exchange, std::move(request), request_id);
  if (auto error = job->Start(std::move(engine_requests))) RespondError(*exchange, *error, id_header);
}

}  // namespace pagoda
