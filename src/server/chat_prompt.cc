#include "server/chat_prompt.h"

namespace pagoda {

StatusOr<std::unique_ptr<ChatPromptRenderer>> ChatPromptRenderer::Create(const std::string& template_text,
                                                                         const Tokenizer& tokenizer) {
  if (!template_text.empty()) {
    return Unimplemented("--chat-template: this build cannot render Jinja chat templates yet");
  }
  return std::unique_ptr<ChatPromptRenderer>(new ChatPromptRenderer());
}

StatusOr<std::string> ChatPromptRenderer::Render(const std::vector<ChatMessage>& messages,
                                                 bool add_generation_prompt, bool continue_final_message,
                                                 const nlohmann::json& template_kwargs) const {
  std::string prompt;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) prompt += "\n";
    prompt += messages[i].content;
  }
  return prompt;
}

}  // namespace pagoda
