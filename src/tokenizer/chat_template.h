// ChatTemplate: a model's chat template and the special tokens it is
// rendered with, loaded from where Hugging Face and llama.cpp keep it
// (tokenizer_config.json's "chat_template" as a string or a list of
// {name, template}; a chat_template.jinja / chat_template.json beside it;
// a .jinja file; GGUF metadata tokenizer.chat_template[.NAME]) and rendered
// as transformers' apply_chat_template renders it: the context is
// messages, tools (None when absent), documents (None when absent),
// add_generation_prompt, the tokenizer's special tokens (bos_token,
// eos_token, ...), then the caller's extra kwargs (e.g. enable_thinking),
// which override the special tokens.
// Immutable after loading: Render is safe from any thread.
#pragma once

#include <ctime>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "tokenizer/jinja/template.h"

namespace pagoda {

class GgufFile;

struct ChatTemplateInputs {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;      // null: the template sees tools = None
  nlohmann::ordered_json documents;  // null: documents = None
  bool add_generation_prompt = false;
  nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();
  std::time_t now = 0;  // for strftime_now(); 0: the current time
};

class ChatTemplate {
 public:
  // `origin` names the template in error messages (a file, "GGUF ...").
  static StatusOr<ChatTemplate> FromString(const std::string& source, const std::string& origin);
  static StatusOr<ChatTemplate> FromJinjaFile(const std::string& path);
  // tokenizer_config.json (a file, or a folder holding it; a folder's
  // chat_template.jinja or chat_template.json wins, as in transformers).
  // `name` picks one of several named templates ("" = "default").
  static StatusOr<ChatTemplate> FromTokenizerConfig(const std::string& path, const std::string& name = "");
  static StatusOr<ChatTemplate> FromGguf(const GgufFile& gguf, const std::string& name = "");
  // A GGUF file, a .jinja file, or a model / tokenizer folder.
  static StatusOr<ChatTemplate> FromPath(const std::string& path, const std::string& name = "");

  StatusOr<std::string> Render(const ChatTemplateInputs& inputs) const;

  // The special tokens the template sees ({"bos_token": "<s>", ...}).
  const nlohmann::ordered_json& special_tokens() const { return special_tokens_; }
  void SetSpecialToken(const std::string& key, const std::string& value) { special_tokens_[key] = value; }
  const std::string& source() const { return source_; }

 private:
  std::shared_ptr<const jinja::Template> template_;
  std::string source_;
  nlohmann::ordered_json special_tokens_ = nlohmann::ordered_json::object();
};

}  // namespace pagoda
