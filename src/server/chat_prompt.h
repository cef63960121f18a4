// ChatPromptRenderer: turns chat messages into the prompt text the model
// was trained on. Until the Jinja chat-template renderer is part of
// tokenizer/, every model gets the fallback format: the messages' contents
// joined by "\n", with no role markers — right for base models with no chat
// template (stories260K: a one-message chat equals the same text sent to
// /v1/completions), and the closest honest choice for others. Immutable
// after Create: Render is safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "server/openai/protocol.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {

class ChatPromptRenderer {
 public:
  // `template_text`: a --chat-template given on the command line ("" = the
  // model's own). Unimplemented while templates cannot be rendered.
  static StatusOr<std::unique_ptr<ChatPromptRenderer>> Create(const std::string& template_text,
                                                              const Tokenizer& tokenizer);

  StatusOr<std::string> Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                               bool continue_final_message, const nlohmann::json& template_kwargs) const;

  // Whether rendered text already holds the model's special tokens (BOS,
  // role markers) as text: then tokenization parses special tokens and adds
  // none; with the fallback format it adds BOS as for a completion.
  bool places_special_tokens() const { return false; }

 private:
  ChatPromptRenderer() = default;
};

}  // namespace pagoda
