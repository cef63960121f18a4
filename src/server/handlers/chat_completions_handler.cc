// POST /v1/chat/completions: renders the messages into a prompt (the chat
// template, see chat_prompt.h), submits one engine request with n choices,
// and answers with chat.completion — or streams chat.completion.chunk
// events: a first chunk per choice with the assistant role, then content
// deltas, the finish reason, an optional usage chunk and "data: [DONE]".
// With tools, the output becomes OpenAI tool_calls (server/tool_calls.h):
// a named function streams its arguments as they are generated (the name
// first); "required" and "auto" calls are sent once each call is complete,
// so no fragment ever belongs to a call that later fails to parse.
#include "server/handlers/handlers.h"
#include "server/handlers/openai_job.h"
#include "server/openai/responses.h"
#include "server/tool_calls.h"

namespace pagoda {

namespace {

struct ChatChoiceState {
  std::string content;
  std::vector<TokenLogprobs> logprobs;
  int64_t num_tokens = 0;
  bool sent_role = false;
  size_t sent_content = 0;  // streaming with tools: bytes of `content` sent as content
  std::string tool_call_id;  // streaming a named call: its id once the header chunk went out
  nlohmann::json finish_reason = nullptr;
  nlohmann::json stop_reason = nullptr;
};

class ChatJob final : public OpenAiJob {
 public:
  ChatJob(ServerContext& ctx, std::shared_ptr<HttpExchange> exchange, ChatCompletionRequest request,
          std::string request_id)
      : OpenAiJob(ctx, std::move(exchange), request, "chatcmpl", std::move(request_id)),
        request_(std::move(request)),
        choices_(request_.sampling.n) {
    // echo repeats a final assistant message the reply continues (vLLM).
    if (request_.echo && !request_.messages.empty() && request_.messages.back().role == "assistant") {
      echo_ = request_.messages.back().content;
    }
  }

 protected:
  void OnOutput(size_t, RequestOutput& output) override {
    num_prompt_tokens_ = output.num_prompt_tokens;
    num_cached_tokens_ = output.num_cached_tokens;
    for (CompletionDelta& delta : output.outputs) {
      if (delta.index < 0 || static_cast<size_t>(delta.index) >= choices_.size()) continue;
      ChatChoiceState& choice = choices_[delta.index];
      choice.num_tokens += static_cast<int64_t>(delta.token_ids.size());
      if (delta.finished) {
        choice.finish_reason = delta.finish_reason ? nlohmann::json(*delta.finish_reason) : nlohmann::json(nullptr);
        choice.stop_reason = StopReasonJson(delta);
      }
      if (!request_.stream) {
        choice.content += delta.text;
        if (request_.logprobs) {
          for (TokenLogprobs& entry : delta.logprobs) choice.logprobs.push_back(std::move(entry));
        }
        continue;
      }
      if (!choice.sent_role) {
        choice.sent_role = true;
        WriteChunk(delta.index, {{"role", "assistant"}, {"content", echo_}}, nullptr, nullptr, nullptr);
      }
      if (ToolsActive()) {
        StreamToolDelta(delta, choice);
        continue;
      }
      const bool has_logprobs = request_.logprobs && !delta.logprobs.empty();
      if (delta.text.empty() && !has_logprobs && !delta.finished) continue;
      nlohmann::json d = nlohmann::json::object();
      if (!delta.text.empty()) d["content"] = delta.text;
      WriteChunk(delta.index, std::move(d),
                 has_logprobs ? ChatLogprobsJson(delta.logprobs, TopN()) : nlohmann::json(nullptr),
                 delta.finished ? choice.finish_reason : nlohmann::json(nullptr),
                 delta.finished ? choice.stop_reason : nlohmann::json(nullptr));
    }
  }

  void OnFinished() override {
    if (request_.stream) return EndStream("chat.completion.chunk");
    nlohmann::json choices = nlohmann::json::array();
    for (size_t i = 0; i < choices_.size(); ++i) {
      const ChatChoiceState& choice = choices_[i];
      nlohmann::json message = {{"role", "assistant"}, {"content", echo_ + choice.content}};
      nlohmann::json finish_reason = choice.finish_reason;
      if (ToolsActive()) {
        std::vector<ParsedToolCall> calls;
        std::string content = FinalToolOutput(choice.content, &calls);
        if (!calls.empty()) {
          message["content"] = content.empty() ? nlohmann::json(nullptr) : nlohmann::json(echo_ + content);
          message["tool_calls"] = nlohmann::json::array();
          for (const ParsedToolCall& call : calls) {
            message["tool_calls"].push_back({{"id", NewToolCallId()},
                                             {"type", "function"},
                                             {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
          }
          if (finish_reason == "stop") finish_reason = "tool_calls";
        }
      }
      choices.push_back({{"index", i},
                         {"message", std::move(message)},
                         {"logprobs", request_.logprobs ? ChatLogprobsJson(choice.logprobs, TopN())
                                                        : nlohmann::json(nullptr)},
                         {"finish_reason", finish_reason},
                         {"stop_reason", choice.stop_reason}});
    }
    nlohmann::json body = Envelope("chat.completion");
    body["choices"] = std::move(choices);
    body["usage"] = Usage();
    RespondWhole(body);
  }

  nlohmann::json Usage() const override {
    int64_t completion = 0;
    for (const ChatChoiceState& c : choices_) completion += c.num_tokens;
    return UsageJson(num_prompt_tokens_, completion, num_cached_tokens_);
  }

 private:
  int TopN() const { return request_.sampling.logprobs.value_or(0); }

  bool ToolsActive() const {
    return request_.tool_choice != ToolChoiceMode::kNone && request_.tools.is_array() && !request_.tools.empty();
  }

  // The calls in a finished choice's text, and the text left as content.
  std::string FinalToolOutput(const std::string& text, std::vector<ParsedToolCall>* calls) const {
    switch (request_.tool_choice) {
      case ToolChoiceMode::kNamed: {
        // The grammar wrote the arguments object; a truncated one (length)
        // is passed on as generated.
        // Passed on as generated (a re-serialisation would round large
        // integers through double); only the grammar's outer whitespace goes.
        const size_t b = text.find_first_not_of(" \t\r\n");
        const size_t e = text.find_last_not_of(" \t\r\n");
        calls->push_back({request_.tool_choice_name, b == std::string::npos ? text : text.substr(b, e - b + 1)});
        return "";
      }
      case ToolChoiceMode::kRequired: {
        if (auto parsed = ParseRequiredToolCalls(text)) {
          *calls = std::move(*parsed);
          return "";
        }
        return text;
      }
      case ToolChoiceMode::kAuto: {
        ParsedToolOutput parsed = ParseToolCalls(ctx_.tool_call_format(), text);
        *calls = std::move(parsed.calls);
        return parsed.content;
      }
      case ToolChoiceMode::kNone: break;
    }
    return text;
  }

  void WriteToolCallChunks(int index, const std::vector<ParsedToolCall>& calls) {
    for (size_t k = 0; k < calls.size(); ++k) {
      nlohmann::json head = {{"index", k},
                             {"id", NewToolCallId()},
                             {"type", "function"},
                             {"function", {{"name", calls[k].name}, {"arguments", ""}}}};
      WriteChunk(index, {{"tool_calls", {head}}}, nullptr, nullptr, nullptr);
      nlohmann::json args = {{"index", k}, {"function", {{"arguments", calls[k].arguments}}}};
      WriteChunk(index, {{"tool_calls", {args}}}, nullptr, nullptr, nullptr);
    }
  }

  void StreamToolDelta(const CompletionDelta& delta, ChatChoiceState& choice) {
    choice.content += delta.text;
    const nlohmann::json no_finish = nullptr;
    if (request_.tool_choice == ToolChoiceMode::kNamed) {
      // The output is the arguments object itself: stream it as it comes.
      if (choice.tool_call_id.empty() && (!delta.text.empty() || delta.finished)) {
        choice.tool_call_id = NewToolCallId();
        nlohmann::json head = {{"index", 0},
                               {"id", choice.tool_call_id},
                               {"type", "function"},
                               {"function", {{"name", request_.tool_choice_name}, {"arguments", ""}}}};
        WriteChunk(delta.index, {{"tool_calls", {head}}}, nullptr, nullptr, nullptr);
      }
      if (!delta.text.empty()) {
        nlohmann::json args = {{"index", 0}, {"function", {{"arguments", delta.text}}}};
        WriteChunk(delta.index, {{"tool_calls", {args}}}, nullptr, nullptr, nullptr);
      }
      if (delta.finished) {
        nlohmann::json reason = choice.finish_reason == "stop" ? nlohmann::json("tool_calls") : choice.finish_reason;
        WriteChunk(delta.index, nlohmann::json::object(), nullptr, reason, choice.stop_reason);
      }
      return;
    }
    if (request_.tool_choice == ToolChoiceMode::kAuto && !delta.finished) {
      // Content up to a possible tool-call start goes out at once.
      const size_t safe = ToolCallSafeContentLength(ctx_.tool_call_format(), choice.content);
      if (safe > choice.sent_content) {
        WriteChunk(delta.index, {{"content", choice.content.substr(choice.sent_content, safe - choice.sent_content)}},
                   nullptr, nullptr, nullptr);
        choice.sent_content = safe;
      }
    }
    if (!delta.finished) return;
    std::vector<ParsedToolCall> calls;
    std::string content = FinalToolOutput(choice.content, &calls);
    if (calls.empty()) content = choice.content;
    // What was streamed is a prefix of the content (text before the first call).
    if (content.size() > choice.sent_content && content.compare(0, choice.sent_content, choice.content, 0, choice.sent_content) == 0) {
      WriteChunk(delta.index, {{"content", content.substr(choice.sent_content)}}, nullptr, nullptr, nullptr);
    }
    WriteToolCallChunks(delta.index, calls);
    nlohmann::json reason = !calls.empty() && choice.finish_reason == "stop" ? nlohmann::json("tool_calls")
                                                                           : choice.finish_reason;
    WriteChunk(delta.index, nlohmann::json::object(), nullptr, reason, choice.stop_reason);
    (void)no_finish;
  }

  void WriteChunk(int index, nlohmann::json delta, nlohmann::json logprobs, nlohmann::json finish_reason,
                  nlohmann::json stop_reason) {
    nlohmann::json chunk = Envelope("chat.completion.chunk");
    chunk["choices"] = nlohmann::json::array({{{"index", index},
                                               {"delta", std::move(delta)},
                                               {"logprobs", std::move(logprobs)},
                                               {"finish_reason", std::move(finish_reason)},
                                               {"stop_reason", std::move(stop_reason)}}});
    WriteStreamChunk(std::move(chunk));
  }

  ChatCompletionRequest request_;
  std::string echo_;
  std::vector<ChatChoiceState> choices_;
  int64_t num_prompt_tokens_ = 0;
  int64_t num_cached_tokens_ = 0;
};

}  // namespace

void HandleChatCompletions(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange) {
  const std::string request_id = ctx.RequestId(exchange->request());
  HttpHeaders id_header = {{"X-Request-Id", request_id}};
  nlohmann::json body;
  if (!ReadJsonBody(*exchange, &body)) return;
  ChatCompletionRequest request;
  if (auto error = ParseChatCompletionRequest(body, ctx.chat_defaults(), ctx.options().limits, &request)) {
    return RespondError(*exchange, *error, id_header);
  }
  if (auto error = ctx.CheckModel(request.model)) return RespondError(*exchange, *error, id_header);
  StatusOr<std::string> prompt = ctx.chat().Render(request.messages, request.add_generation_prompt,
                                                   request.continue_final_message, request.chat_template_kwargs,
                                                   request.tools);
  if (!prompt.ok()) return RespondError(*exchange, ApiErrorFromStatus(prompt.status(), "messages"), id_header);
  const bool templated = ctx.chat().places_special_tokens();

  std::vector<GenerateRequest> engine_requests;
  engine_requests.push_back(EngineRequest(
      request, "chatcmpl-" + request_id,
      ctx.Tokenize(*prompt, request.add_special_tokens || !templated, /*parse_special=*/templated)));
  auto job = std::make_shared<ChatJob>(ctx, exchange, std::move(request), request_id);
  if (auto error = job->Start(std::move(engine_requests))) RespondError(*exchange, *error, id_header);
}

}  // namespace pagoda
