#include "server/chat_prompt.h"

#include <cstdio>

namespace pagoda {

StatusOr<std::unique_ptr<ChatPromptRenderer>> ChatPromptRenderer::Create(const std::string& template_text,
                                                                         const std::string& model_path) {
  std::unique_ptr<ChatPromptRenderer> renderer(new ChatPromptRenderer());
  if (!template_text.empty()) {
    StatusOr<ChatTemplate> t = ChatTemplate::FromString(template_text, "--chat-template");
    if (!t.ok()) return t.status();
    // The special tokens (bos_token, ...) still come from the model.
    if (!model_path.empty()) {
      if (StatusOr<ChatTemplate> own = ChatTemplate::FromPath(model_path); own.ok()) {
        for (const auto& [key, value] : own->special_tokens().items()) {
          if (value.is_string()) t->SetSpecialToken(key, value.get<std::string>());
        }
      }
    }
    renderer->template_ = std::move(t).value();
    return renderer;
  }
  if (model_path.empty()) return renderer;
  StatusOr<ChatTemplate> own = ChatTemplate::FromPath(model_path);
  if (own.ok()) {
    renderer->template_ = std::move(own).value();
  } else if (own.status().code() != StatusCode::kNotFound) {
    std::fprintf(stderr, "pagoda serve: the model's chat template is unusable (%s); using the plain format\n",
                 own.status().message().c_str());
  }
  return renderer;
}

StatusOr<std::string> ChatPromptRenderer::Render(const std::vector<ChatMessage>& messages,
                                                 bool add_generation_prompt, bool continue_final_message,
                                                 const nlohmann::json& template_kwargs,
                                                 const nlohmann::json& tools) const {
  if (!template_) {
    std::string prompt;
    for (size_t i = 0; i < messages.size(); ++i) {
      if (i > 0) prompt += "\n";
      prompt += messages[i].content;
    }
    return prompt;
  }
  ChatTemplateInputs inputs;
  for (const ChatMessage& m : messages) inputs.messages.push_back(nlohmann::ordered_json::parse(m.raw.dump()));
  if (!tools.is_null()) inputs.tools = nlohmann::ordered_json::parse(tools.dump());
  inputs.add_generation_prompt = add_generation_prompt && !continue_final_message;
  if (template_kwargs.is_object()) inputs.kwargs = nlohmann::ordered_json::parse(template_kwargs.dump());
  StatusOr<std::string> rendered = template_->Render(inputs);
  if (!rendered.ok()) return InvalidArgument("chat template: " + rendered.status().message());
  if (continue_final_message && !messages.empty() && !messages.back().content.empty()) {
    // Continue the final message: cut what the template put after it (its
    // end-of-turn marker), as vLLM does.
    std::string text = std::move(rendered).value();
    const size_t at = text.rfind(messages.back().content);
    if (at != std::string::npos) text.resize(at + messages.back().content.size());
    return text;
  }
  return rendered;
}

}  // namespace pagoda
