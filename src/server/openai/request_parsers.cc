// Parsers of the OpenAI request bodies (see protocol.h).
#include <cmath>
#include <cstdlib>

#include "server/openai/json_fields.h"
#include "server/openai/protocol.h"
#include "server/openai/structured_output_fields.h"
#include "server/tool_calls.h"

namespace pagoda {

namespace {

void ReadStreamFields(FieldReader& r, const nlohmann::json& body, CommonRequestFields* out) {
  r.Bool("stream", &out->stream);
  if (const nlohmann::json* so = r.Get("stream_options")) {
    if (!so->is_object()) return r.Fail("stream_options", "'stream_options' must be an object");
    if (!out->stream) return r.Fail("stream_options", "'stream_options' is only allowed when 'stream' is true");
    FieldReader sr(*so);
    sr.Bool("include_usage", &out->stream_options.include_usage);
    sr.Bool("continuous_usage_stats", &out->stream_options.continuous_usage_stats);
    if (!sr.ok()) r.Fail("stream_options", sr.error()->message);
  }
}

// The sampling fields of both endpoints, with vLLM's validation rules.
void ReadSamplingFields(FieldReader& r, const ProtocolLimits& limits, SamplingParams* p) {
  r.Int("n", &p->n);
  r.Check(p->n >= 1, "n", "n must be at least 1, got " + std::to_string(p->n) + ".");
  r.Check(p->n <= limits.max_n, "n", "n must be at most " + std::to_string(limits.max_n) + ".");
  if (r.Int("best_of", &p->best_of)) {
    r.Check(*p->best_of >= p->n, "best_of",
            "best_of must be greater than or equal to n, got n=" + std::to_string(p->n) +
                " and best_of=" + std::to_string(*p->best_of) + ".");
    r.Check(*p->best_of <= limits.max_n, "best_of", "best_of must be at most " + std::to_string(limits.max_n) + ".");
  }
  if (r.Float("temperature", &p->temperature)) {
    r.Check(p->temperature >= 0.0f, "temperature", "temperature must be non-negative.");
  }
  if (r.Float("top_p", &p->top_p)) {
    r.Check(p->top_p > 0.0f && p->top_p <= 1.0f, "top_p", "top_p must be in (0, 1].");
  }
  if (r.Int("top_k", &p->top_k)) {
    r.Check(p->top_k >= -1, "top_k", "top_k must be 0 or -1 (disable), or at least 1.");
  }
  if (r.Float("min_p", &p->min_p)) r.Check(p->min_p >= 0.0f && p->min_p <= 1.0f, "min_p", "min_p must be in [0, 1].");
  if (r.Float("presence_penalty", &p->presence_penalty)) {
    r.Check(std::fabs(p->presence_penalty) <= 2.0f, "presence_penalty", "presence_penalty must be in [-2, 2].");
  }
  if (r.Float("frequency_penalty", &p->frequency_penalty)) {
    r.Check(std::fabs(p->frequency_penalty) <= 2.0f, "frequency_penalty", "frequency_penalty must be in [-2, 2].");
  }
  if (r.Float("repetition_penalty", &p->repetition_penalty)) {
    r.Check(p->repetition_penalty > 0.0f, "repetition_penalty", "repetition_penalty must be greater than zero.");
  }
  std::optional<int64_t> seed;
  if (r.Int64("seed", &seed)) p->seed = static_cast<uint64_t>(*seed);
  r.StringOrList("stop", &p->stop);
  for (const std::string& s : p->stop) r.Check(!s.empty(), "stop", "stop strings must not be empty.");
  r.IntList("stop_token_ids", &p->stop_token_ids);
  r.Bool("include_stop_str_in_output", &p->include_stop_str_in_output);
  r.Bool("ignore_eos", &p->ignore_eos);
  if (r.Int("min_tokens", &p->min_tokens)) r.Check(p->min_tokens >= 0, "min_tokens", "min_tokens must be non-negative.");
  r.Bool("skip_special_tokens", &p->skip_special_tokens);
  r.Bool("spaces_between_special_tokens", &p->spaces_between_special_tokens);
  r.StringOrList("bad_words", &p->bad_words);
  if (r.Int("prompt_logprobs", &p->prompt_logprobs)) {
    r.Check(*p->prompt_logprobs >= 0 && *p->prompt_logprobs <= limits.max_logprobs, "prompt_logprobs",
            "prompt_logprobs must be in [0, " + std::to_string(limits.max_logprobs) + "].");
  }
  if (const nlohmann::json* bias = r.Get("logit_bias")) {
    if (!bias->is_object()) return r.Fail("logit_bias", "'logit_bias' must be an object of token id -> bias");
    p->logit_bias.clear();
    for (const auto& [key, value] : bias->items()) {
      char* end = nullptr;
      long id = std::strtol(key.c_str(), &end, 10);
      if (key.empty() || *end != '\0' || id < 0 || id > INT32_MAX) {
        return r.Fail("logit_bias", "logit_bias keys must be token ids, got '" + key + "'");
      }
      if (!value.is_number() || std::fabs(value.get<double>()) > 100.0) {
        return r.Fail("logit_bias", "logit_bias values must be numbers in [-100, 100]");
      }
      p->logit_bias.emplace_back(static_cast<int32_t>(id), value.get<float>());
    }
  }
}

void ReadMaxTokens(FieldReader& r, const char* name, SamplingParams* p) {
  std::optional<int> max_tokens;
  if (r.Int(name, &max_tokens)) {
    r.Check(*max_tokens >= 1, name, std::string(name) + " must be at least 1, got " + std::to_string(*max_tokens) + ".");
    p->max_tokens = max_tokens;
  }
}

void ReadCommonFields(FieldReader& r, const nlohmann::json& body, const ProtocolLimits& limits,
                      CommonRequestFields* out) {
  r.String("model", &out->model);
  ReadStreamFields(r, body, out);
  ReadSamplingFields(r, limits, &out->sampling);
  r.Int("priority", &out->priority);
  r.String("cache_salt", &out->cache_salt);
  r.String("user", &out->user);
  r.Bool("add_special_tokens", &out->add_special_tokens);
}

std::optional<ApiError> ReadPrompts(const nlohmann::json* prompt, std::vector<PromptInput>* out) {
  auto fail = [] {
    return ApiError::BadRequest(
        "'prompt' must be a string, an array of strings, an array of token ids, or an array of token id arrays",
        "prompt");
  };
  if (!prompt) return ApiError::BadRequest("'prompt' is required", "prompt");
  auto as_ids = [](const nlohmann::json& arr, std::vector<int32_t>* ids) {
    for (const auto& v : arr) {
      if (!v.is_number_integer()) return false;
      int64_t x = v.get<int64_t>();
      if (x < 0 || x > INT32_MAX) return false;
      ids->push_back(static_cast<int32_t>(x));
    }
    return true;
  };
  if (prompt->is_string()) {
    out->push_back({.is_tokens = false, .text = prompt->get<std::string>(), .token_ids = {}});
    return std::nullopt;
  }
  if (!prompt->is_array() || prompt->empty()) {
    if (prompt->is_array()) return ApiError::BadRequest("'prompt' must not be empty", "prompt");
    return fail();
  }
  const nlohmann::json& first = (*prompt)[0];
  if (first.is_number()) {  // one prompt as token ids
    PromptInput input{.is_tokens = true, .text = {}, .token_ids = {}};
    if (!as_ids(*prompt, &input.token_ids)) return fail();
    out->push_back(std::move(input));
    return std::nullopt;
  }
  for (const auto& item : *prompt) {
    if (item.is_string()) {
      out->push_back({.is_tokens = false, .text = item.get<std::string>(), .token_ids = {}});
    } else if (item.is_array()) {
      PromptInput input{.is_tokens = true, .text = {}, .token_ids = {}};
      if (item.empty() || !as_ids(item, &input.token_ids)) return fail();
      out->push_back(std::move(input));
    } else {
      return fail();
    }
  }
  return std::nullopt;
}

// tool_choice and parallel_tool_calls; "required" and a named function set
// the structured-output constraint from the tools' parameter schemas.
std::optional<ApiError> ReadToolChoice(const nlohmann::json& body, ChatCompletionRequest* out) {
  const bool has_tools = out->tools.is_array() && !out->tools.empty();
  if (out->tools.is_array()) {
    if (auto error = CheckTools(out->tools)) return error;
  }
  if (auto it = body.find("parallel_tool_calls"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return ApiError::BadRequest("'parallel_tool_calls' must be a boolean", "parallel_tool_calls");
    out->parallel_tool_calls = it->get<bool>();
  }
  out->tool_choice = has_tools ? ToolChoiceMode::kAuto : ToolChoiceMode::kNone;
  auto it = body.find("tool_choice");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) {
    const std::string c = it->get<std::string>();
    if (c == "none") out->tool_choice = ToolChoiceMode::kNone;
    else if (c == "auto") out->tool_choice = ToolChoiceMode::kAuto;
    else if (c == "required") out->tool_choice = ToolChoiceMode::kRequired;
    else return ApiError::BadRequest("'tool_choice' must be 'none', 'auto', 'required' or a named function", "tool_choice");
  } else if (it->is_object()) {
    auto fn = it->find("function");
    auto name = fn != it->end() && fn->is_object() ? fn->find("name") : it->end();
    if (fn == it->end() || !fn->is_object() || name == fn->end() || !name->is_string()) {
      return ApiError::BadRequest("'tool_choice' must be {\"type\": \"function\", \"function\": {\"name\": ...}}",
                                  "tool_choice");
    }
    out->tool_choice = ToolChoiceMode::kNamed;
    out->tool_choice_name = name->get<std::string>();
  } else {
    return ApiError::BadRequest("'tool_choice' must be a string or an object", "tool_choice");
  }
  if (out->tool_choice == ToolChoiceMode::kNone || out->tool_choice == ToolChoiceMode::kAuto) return std::nullopt;
  if (!has_tools) return ApiError::BadRequest("tool_choice other than 'none' and 'auto' needs 'tools'", "tool_choice");
  if (out->sampling.structured_output) {
    return ApiError::BadRequest("a forced tool_choice cannot be combined with another structured output constraint",
                                "tool_choice");
  }
  nlohmann::json schema;
  if (out->tool_choice == ToolChoiceMode::kNamed) {
    auto named = NamedToolSchema(out->tools, out->tool_choice_name);
    if (!named) {
      return ApiError::BadRequest("tool_choice names function '" + out->tool_choice_name + "', which is not in 'tools'",
                                  "tool_choice");
    }
    schema = std::move(*named);
  } else {
    schema = RequiredToolCallsSchema(out->tools, out->parallel_tool_calls);
  }
  out->sampling.structured_output =
      StructuredOutputSpec{.kind = StructuredOutputSpec::Kind::kJsonSchema, .text = schema.dump()};
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> ParseChatMessages(const nlohmann::json& messages, std::vector<ChatMessage>* out) {
  if (!messages.is_array()) return ApiError::BadRequest("'messages' must be an array", "messages");
  if (messages.empty()) return ApiError::BadRequest("'messages' must not be empty", "messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const nlohmann::json& m = messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return ApiError::BadRequest(where + " must be an object", "messages");
    ChatMessage message;
    message.raw = m;
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) {
      return ApiError::BadRequest(where + ".role must be a string", "messages");
    }
    message.role = role->get<std::string>();
    auto content = m.find("content");
    if (content == m.end() || content->is_null()) {
      // Assistant turns with tool calls carry no content.
    } else if (content->is_string()) {
      message.content = content->get<std::string>();
    } else if (content->is_array()) {
      std::string joined;
      for (const auto& part : *content) {
        if (part.is_string()) {  // a shorthand some clients send
          if (!joined.empty()) joined += "\n";
          joined += part.get<std::string>();
          continue;
        }
        auto type = part.is_object() ? part.find("type") : part.end();
        if (!part.is_object() || type == part.end() || !type->is_string()) {
          return ApiError::BadRequest(where + ".content parts must be objects with a 'type'", "messages");
        }
        const std::string t = type->get<std::string>();
        if (t == "text" || t == "input_text") {
          auto text = part.find("text");
          if (text == part.end() || !text->is_string()) {
            return ApiError::BadRequest(where + ".content text part needs a string 'text'", "messages");
          }
          if (!joined.empty()) joined += "\n";
          joined += text->get<std::string>();
        } else {
          return ApiError::BadRequest(where + ": content part type '" + t + "' is not supported by this model",
                                      "messages");
        }
      }
      message.content = std::move(joined);
      message.raw["content"] = message.content;  // templates see the joined text
    } else {
      return ApiError::BadRequest(where + ".content must be a string, an array of content parts, or null",
                                  "messages");
    }
    out->push_back(std::move(message));
  }
  return std::nullopt;
}

std::optional<ApiError> ParseCompletionRequest(const nlohmann::json& body, const SamplingParams& defaults,
                                               const ProtocolLimits& limits, CompletionRequest* out) {
  FieldReader r(body);
  out->sampling = defaults;
  ReadCommonFields(r, body, limits, out);
  ReadMaxTokens(r, "max_tokens", &out->sampling);
  r.Bool("echo", &out->echo);
  std::optional<int> logprobs;
  if (r.Int("logprobs", &logprobs)) {
    r.Check(*logprobs >= 0 && *logprobs <= limits.max_logprobs, "logprobs",
            "logprobs must be in [0, " + std::to_string(limits.max_logprobs) + "].");
    out->sampling.logprobs = logprobs;
  }
  if (r.Has("suffix")) r.Fail("suffix", "'suffix' is not supported");
  if (!r.ok()) return r.error();
  if (auto error = ReadStructuredOutputFields(body, &out->sampling)) return error;
  // Echo with logprobs reports the prompt's logprobs too, as vLLM does.
  if (out->echo && out->sampling.logprobs && !out->sampling.prompt_logprobs) {
    out->sampling.prompt_logprobs = out->sampling.logprobs;
  }
  if (out->stream && out->sampling.best_of && *out->sampling.best_of > out->sampling.n) {
    return ApiError::BadRequest("best_of > n is not supported when streaming", "best_of");
  }
  return ReadPrompts(r.Get("prompt"), &out->prompts);
}

std::optional<ApiError> ParseChatCompletionRequest(const nlohmann::json& body, const SamplingParams& defaults,
                                                   const ProtocolLimits& limits, ChatCompletionRequest* out) {
  FieldReader r(body);
  out->sampling = defaults;
  out->add_special_tokens = false;  // the chat template places BOS itself
  ReadCommonFields(r, body, limits, out);
  // max_completion_tokens replaces the deprecated max_tokens.
  ReadMaxTokens(r, "max_tokens", &out->sampling);
  ReadMaxTokens(r, "max_completion_tokens", &out->sampling);
  r.Bool("logprobs", &out->logprobs);
  std::optional<int> top_logprobs;
  if (r.Int("top_logprobs", &top_logprobs)) {
    r.Check(*top_logprobs >= 0 && *top_logprobs <= limits.max_logprobs, "top_logprobs",
            "top_logprobs must be in [0, " + std::to_string(limits.max_logprobs) + "].");
    r.Check(out->logprobs, "top_logprobs", "when using 'top_logprobs', 'logprobs' must be set to true.");
  }
  if (out->logprobs) out->sampling.logprobs = top_logprobs.value_or(0);
  r.Bool("add_generation_prompt", &out->add_generation_prompt);
  r.Bool("continue_final_message", &out->continue_final_message);
  r.Bool("echo", &out->echo);
  if (const nlohmann::json* kwargs = r.Get("chat_template_kwargs")) {
    if (!kwargs->is_object()) r.Fail("chat_template_kwargs", "'chat_template_kwargs' must be an object");
    else out->chat_template_kwargs = *kwargs;
  }
  if (const nlohmann::json* tools = r.Get("tools")) {
    if (!tools->is_array()) r.Fail("tools", "'tools' must be an array");
    else out->tools = *tools;
  }
  if (!r.ok()) return r.error();
  if (auto error = ReadStructuredOutputFields(body, &out->sampling)) return error;
  if (auto error = ReadToolChoice(body, out)) return error;
  if (out->continue_final_message && out->add_generation_prompt && r.Has("add_generation_prompt")) {
    return ApiError::BadRequest("'continue_final_message' and 'add_generation_prompt' cannot both be true",
                                "continue_final_message");
  }
  if (out->continue_final_message) out->add_generation_prompt = false;
  if (out->stream && out->sampling.best_of && *out->sampling.best_of > out->sampling.n) {
    return ApiError::BadRequest("best_of > n is not supported when streaming", "best_of");
  }
  const nlohmann::json* messages = r.Get("messages");
  if (!messages) return ApiError::BadRequest("'messages' is required", "messages");
  return ParseChatMessages(*messages, &out->messages);
}

std::optional<ApiError> ParseTokenizeRequest(const nlohmann::json& body, TokenizeRequest* out) {
  FieldReader r(body);
  r.String("model", &out->model);
  r.Bool("return_token_strs", &out->return_token_strs);
  r.Bool("add_generation_prompt", &out->add_generation_prompt);
  r.Bool("continue_final_message", &out->continue_final_message);
  if (const nlohmann::json* kwargs = r.Get("chat_template_kwargs")) {
    if (!kwargs->is_object()) r.Fail("chat_template_kwargs", "'chat_template_kwargs' must be an object");
    else out->chat_template_kwargs = *kwargs;
  }
  if (const nlohmann::json* messages = r.Get("messages")) {
    out->is_chat = true;
    out->add_special_tokens = false;
    r.Bool("add_special_tokens", &out->add_special_tokens);
    if (!r.ok()) return r.error();
    return ParseChatMessages(*messages, &out->messages);
  }
  r.Bool("add_special_tokens", &out->add_special_tokens);
  if (!r.Has("prompt")) r.Fail("prompt", "'prompt' (or 'messages') is required");
  r.String("prompt", &out->prompt);
  return r.error();
}

std::optional<ApiError> ParseDetokenizeRequest(const nlohmann::json& body, DetokenizeRequest* out) {
  FieldReader r(body);
  r.String("model", &out->model);
  if (!r.Has("tokens")) r.Fail("tokens", "'tokens' is required");
  r.IntList("tokens", &out->tokens);
  return r.error();
}

SamplingParams SamplingDefaultsFromGenerationConfig(const nlohmann::json& gen) {
  SamplingParams defaults;
  if (!gen.is_object()) return defaults;
  auto number = [&](const char* name, float* out) {
    auto it = gen.find(name);
    if (it != gen.end() && it->is_number()) *out = it->get<float>();
  };
  number("temperature", &defaults.temperature);
  number("top_p", &defaults.top_p);
  number("min_p", &defaults.min_p);
  number("repetition_penalty", &defaults.repetition_penalty);
  if (auto it = gen.find("top_k"); it != gen.end() && it->is_number_integer()) defaults.top_k = it->get<int>();
  if (auto it = gen.find("max_new_tokens"); it != gen.end() && it->is_number_integer() && it->get<int>() > 0) {
    defaults.max_tokens = it->get<int>();
  }
  return defaults;
}

}  // namespace pagoda
