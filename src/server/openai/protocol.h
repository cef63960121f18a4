// The OpenAI-compatible request types pagoda serves, and their parsers from
// JSON: /v1/completions, /v1/chat/completions, /tokenize, /detokenize. Field
// names, defaults and limits follow the OpenAI API plus vLLM's extra
// sampling fields (top_k, min_p, repetition_penalty, ...). A parser returns
// the first mistake as a 400 ApiError naming the field; unknown fields are
// ignored, as vLLM ignores them. Plain values and pure functions:
// thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sched/sampling_params.h"
#include "server/openai/errors.h"

namespace pagoda {

// Limits on what a request may ask for, from the server's configuration.
struct ProtocolLimits {
  int max_logprobs = 20;  // logprobs / top_logprobs / prompt_logprobs
  int max_n = 128;
};

struct StreamOptions {
  bool include_usage = false;
  // vLLM's extension: usage in every chunk.
  bool continuous_usage_stats = false;
};

// One prompt of a completion request: text, or token ids as sent.
struct PromptInput {
  bool is_tokens = false;
  std::string text;
  std::vector<int32_t> token_ids;
};

// Fields both completion kinds share.
struct CommonRequestFields {
  std::string model;  // "" when the client left it out
  SamplingParams sampling;  // the request's fields over the server defaults
  bool stream = false;
  StreamOptions stream_options;
  bool add_special_tokens = true;
  int priority = 0;
  std::string cache_salt;
  std::string user;
};

struct CompletionRequest : CommonRequestFields {
  std::vector<PromptInput> prompts;
  bool echo = false;
};

struct ChatMessage {
  std::string role;
  std::string content;  // text parts joined with "\n"; "" for null content
  nlohmann::json raw;   // the message as sent (names, tool calls) for templates
};

// tool_choice: "none", "auto" (the default when tools are given), "required"
// or a named function; "required" and a named function constrain the output
// (see server/tool_calls.h for the formats).
enum class ToolChoiceMode { kNone, kAuto, kRequired, kNamed };

struct ChatCompletionRequest : CommonRequestFields {
  std::vector<ChatMessage> messages;
  bool logprobs = false;
  bool add_generation_prompt = true;
  bool continue_final_message = false;
  bool echo = false;  // vLLM's extension: prepend the final message's text
  nlohmann::json chat_template_kwargs = nlohmann::json::object();
  nlohmann::json tools;  // null when absent; passed to the chat template
  ToolChoiceMode tool_choice = ToolChoiceMode::kNone;
  std::string tool_choice_name;  // kNamed
  bool parallel_tool_calls = true;
};

struct TokenizeRequest {
  std::string model;
  bool is_chat = false;  // messages given instead of a prompt
  std::string prompt;
  std::vector<ChatMessage> messages;
  bool add_special_tokens = true;
  bool add_generation_prompt = true;
  bool continue_final_message = false;
  bool return_token_strs = false;
  nlohmann::json chat_template_kwargs = nlohmann::json::object();
};

struct DetokenizeRequest {
  std::string model;
  std::vector<int32_t> tokens;
};

// `defaults` carries the server's defaults (generation_config.json) that a
// request field overrides; defaults.max_tokens is the default for an absent
// max_tokens (completions: 16 unless the model says otherwise).
std::optional<ApiError> ParseCompletionRequest(const nlohmann::json& body, const SamplingParams& defaults,
                                               const ProtocolLimits& limits, CompletionRequest* out);
std::optional<ApiError> ParseChatCompletionRequest(const nlohmann::json& body, const SamplingParams& defaults,
                                                   const ProtocolLimits& limits, ChatCompletionRequest* out);
std::optional<ApiError> ParseTokenizeRequest(const nlohmann::json& body, TokenizeRequest* out);
std::optional<ApiError> ParseDetokenizeRequest(const nlohmann::json& body, DetokenizeRequest* out);

// Parses `messages` (an array of {role, content}, content a string, an
// array of text parts, or null).
std::optional<ApiError> ParseChatMessages(const nlohmann::json& messages, std::vector<ChatMessage>* out);

// The defaults a model's generation_config.json sets: temperature, top_p,
// top_k, min_p, repetition_penalty, and max_new_tokens as max_tokens.
SamplingParams SamplingDefaultsFromGenerationConfig(const nlohmann::json& generation_config);

}  // namespace pagoda
