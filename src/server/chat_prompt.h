// ChatPromptRenderer: turns chat messages into the prompt text the model
// was trained on, with the model's chat template (tokenizer/chat_template.h:
// GGUF metadata, tokenizer_config.json, chat_template.jinja) or the one
// given with --chat-template. A model with no template gets the fallback
// format: the messages' contents joined by "\n", with no role markers —
// right for base models such as stories260K (a one-message chat equals the
// same text sent to /v1/completions). Immutable after Create: Render is
// safe from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "server/openai/protocol.h"
#include "tokenizer/chat_template.h"

namespace pagoda {

class ChatPromptRenderer {
 public:
  // `template_text`: the --chat-template contents ("" = the model's own,
  // looked up at `model_path`; none there means the fallback format). A
  // --chat-template that does not parse is an error; a model's own template
  // that does not parse is reported on stderr and replaced by the fallback.
  static StatusOr<std::unique_ptr<ChatPromptRenderer>> Create(const std::string& template_text,
                                                              const std::string& model_path);

  // InvalidArgument when the template rejects the conversation (its
  // raise_exception), for a 400.
  StatusOr<std::string> Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                               bool continue_final_message, const nlohmann::json& template_kwargs,
                               const nlohmann::json& tools = nullptr) const;

  // Whether rendered text already holds the model's special tokens (BOS,
  // role markers) as text: then tokenization parses special tokens and adds
  // none; with the fallback format it adds BOS as for a completion.
  bool places_special_tokens() const { return template_.has_value(); }
  bool has_template() const { return template_.has_value(); }
  // The template's Jinja text ("" for the fallback format).
  std::string template_source() const { return template_ ? template_->source() : std::string(); }

 private:
  ChatPromptRenderer() = default;
  std::optional<ChatTemplate> template_;
};

}  // namespace pagoda
