// ServeOptions and ServerContext: what every route handler needs — the
// EngineClient (the only door to the engine), the tokenizer, the chat
// prompt renderer, the served model names, defaults and limits. Built once
// by ApiServer before the HTTP server starts; immutable afterwards except
// for the atomic request counter, so handlers share it from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine_client.h"
#include "server/auth.h"
#include "server/chat_prompt.h"
#include "server/http/http_server.h"
#include "server/openai/errors.h"
#include "server/openai/protocol.h"
#include "server/tool_calls.h"

namespace pagoda {

struct ServeOptions {
  HttpServerOptions http;
  // Names clients may send as `model`; the first is reported. Empty: the
  // model path.
  std::vector<std::string> served_model_names;
  std::string model_path;     // reported as the model's root
  std::string api_key;        // "" = no authentication
  std::string chat_template;  // template text ("" = the model's own)
  // "auto": the model's generation_config.json; "vllm" (or "none"): no
  // model defaults; otherwise a folder holding generation_config.json.
  std::string generation_config = "auto";
  ProtocolLimits limits;
  // The model's tool-call format for tool_choice "auto": "hermes",
  // "llama3_json", or "" to pick from the chat template.
  std::string tool_call_parser;
};

class ServerContext {
 public:
  // Fails on an unreadable --generation-config or an unusable chat template.
  static StatusOr<std::unique_ptr<ServerContext>> Create(EngineClient* engine, ServeOptions options);

  EngineClient& engine() const { return *engine_; }
  const Tokenizer& tokenizer() const { return engine_->tokenizer(); }
  const ServeOptions& options() const { return options_; }
  const ChatPromptRenderer& chat() const { return *chat_; }
  const ApiKeyAuth& auth() const { return auth_; }
  const std::string& model_name() const { return options_.served_model_names.front(); }
  int64_t created() const { return created_; }
  ToolCallFormat tool_call_format() const { return tool_call_format_; }
  // Defaults from generation_config.json; completions default max_tokens to
  // 16 (OpenAI's default) unless the model sets max_new_tokens.
  const SamplingParams& completion_defaults() const { return completion_defaults_; }
  const SamplingParams& chat_defaults() const { return chat_defaults_; }

  // 404 unless `model` is empty or one of the served names.
  std::optional<ApiError> CheckModel(const std::string& model) const;
  // The X-Request-Id header when the client sent one, else a fresh id.
  std::string RequestId(const HttpRequest& request);
  // Text -> ids as /v1/completions tokenizes it (an empty prompt is BOS).
  std::vector<int32_t> Tokenize(const std::string& text, bool add_special, bool parse_special) const;

 private:
  ServerContext(EngineClient* engine, ServeOptions options) : engine_(engine), options_(std::move(options)),
                                                              auth_(options_.api_key) {}
  EngineClient* engine_;
  ServeOptions options_;
  ApiKeyAuth auth_;
  std::unique_ptr<ChatPromptRenderer> chat_;
  SamplingParams completion_defaults_;
  SamplingParams chat_defaults_;
  int64_t created_ = 0;
  ToolCallFormat tool_call_format_ = ToolCallFormat::kHermes;
  std::atomic<uint64_t> next_request_ = 0;
  uint64_t id_salt_ = 0;
};

}  // namespace pagoda
