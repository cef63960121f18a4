// `pagoda chat-template`: prints the prompt a model's chat template makes of
// a conversation, exactly (no newline added), for people debugging
// prompts. The template comes from --chat-template FILE.jinja, or from the
// model (GGUF metadata, tokenizer_config.json, chat_template.jinja); the
// special tokens from the model, overridden by --bos-token/--eos-token.
// --messages is a JSON array of messages, or an object with "messages"
// (and optionally "tools", "documents", "add_generation_prompt", and other
// keys, passed to the template as keyword arguments); "-" reads stdin.
// Exit codes: 0 rendered, 1 bad input files, 3 the template failed
// (raise_exception, a syntax or type error): its message goes to stderr.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tokenizer/chat_template.h"

namespace pagoda {
namespace {

using nlohmann::ordered_json;

struct ChatTemplateArgs {
  std::string model;
  std::string messages;
  std::string tools;
  std::string chat_template;
  std::string template_name;
  std::string kwargs;
  std::string bos_token;
  std::string eos_token;
  bool add_generation_prompt = false;
};

StatusOr<ordered_json> ReadJsonFile(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFound("cannot open " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  ordered_json j = ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(path + ": not valid JSON");
  return j;
}

int Fail(const std::string& message, int code) {
  std::fprintf(stderr, "pagoda chat-template: %s\n", message.c_str());
  return code;
}

}  // namespace

CommandRun AddChatTemplateCommand(CLI::App& app) {
  auto a = std::make_shared<ChatTemplateArgs>();
  app.add_option("--model,-m", a->model, "GGUF file, or model/tokenizer folder (template and special tokens)");
  app.add_option("--messages", a->messages, "JSON file: a list of messages, or {\"messages\": [...], ...}")
      ->required();
  app.add_option("--tools", a->tools, "JSON file with the tool definitions");
  app.add_flag("--add-generation-prompt", a->add_generation_prompt, "End with the assistant turn's header");
  app.add_option("--chat-template", a->chat_template, "Template file (.jinja) instead of the model's");
  app.add_option("--template-name", a->template_name, "A named template of the model (e.g. tool_use)");
  app.add_option("--kwargs", a->kwargs, "JSON object of extra template variables, e.g. '{\"enable_thinking\": false}'");
  app.add_option("--bos-token", a->bos_token, "bos_token for the template");
  app.add_option("--eos-token", a->eos_token, "eos_token for the template");
  return [a, &app]() -> int {
    if (a->model.empty() && a->chat_template.empty()) return Fail("needs --model or --chat-template", 1);
    StatusOr<ChatTemplate> tmpl = Internal("no template");
    if (!a->chat_template.empty()) {
      tmpl = ChatTemplate::FromJinjaFile(a->chat_template);
      if (tmpl.ok() && !a->model.empty()) {
        // The model still supplies the special tokens.
        StatusOr<ChatTemplate> model = ChatTemplate::FromPath(a->model, a->template_name);
        if (model.ok()) {
          const ordered_json& sp = model->special_tokens();
          for (auto it = sp.begin(); it != sp.end(); ++it) {
            if (it->is_string()) tmpl->SetSpecialToken(it.key(), it->get<std::string>());
          }
        }
      }
    } else {
      tmpl = ChatTemplate::FromPath(a->model, a->template_name);
    }
    if (!tmpl.ok()) {
      // A template that does not parse is the template's failure (3); a
      // missing or unreadable file is the caller's (1).
      const Status st = tmpl.status();
      const std::string& m = st.message();
      const bool template_error = m.find("TemplateSyntaxError") != std::string::npos ||
                                  m.find("TemplateAssertionError") != std::string::npos;
      return Fail(m, template_error ? 3 : 1);
    }
    if (!a->bos_token.empty() || app.count("--bos-token") > 0) tmpl->SetSpecialToken("bos_token", a->bos_token);
    if (!a->eos_token.empty() || app.count("--eos-token") > 0) tmpl->SetSpecialToken("eos_token", a->eos_token);

    ChatTemplateInputs in;
    StatusOr<ordered_json> messages = ReadJsonFile(a->messages);
    if (!messages.ok()) return Fail(messages.status().message(), 1);
    if (messages->is_object()) {
      for (auto it = messages->begin(); it != messages->end(); ++it) {
        if (it.key() == "messages") {
          in.messages = it.value();
        } else if (it.key() == "tools") {
          in.tools = it.value();
        } else if (it.key() == "documents") {
          in.documents = it.value();
        } else if (it.key() == "add_generation_prompt" && it->is_boolean()) {
          in.add_generation_prompt = it->get<bool>();
        } else {
          in.kwargs[it.key()] = it.value();
        }
      }
    } else {
      in.messages = *messages;
    }
    if (!in.messages.is_array()) return Fail(a->messages + ": expected a JSON array of messages", 1);
    if (!a->tools.empty()) {
      StatusOr<ordered_json> tools = ReadJsonFile(a->tools);
      if (!tools.ok()) return Fail(tools.status().message(), 1);
      in.tools = *tools;
    }
    if (a->add_generation_prompt) in.add_generation_prompt = true;
    if (!a->kwargs.empty()) {
      ordered_json kw = ordered_json::parse(a->kwargs, nullptr, false);
      if (!kw.is_object()) return Fail("--kwargs must be a JSON object", 1);
      for (auto it = kw.begin(); it != kw.end(); ++it) in.kwargs[it.key()] = it.value();
    }
    StatusOr<std::string> text = tmpl->Render(in);
    if (!text.ok()) return Fail(text.status().message(), 3);
    std::fwrite(text->data(), 1, text->size(), stdout);
    return 0;
  };
}

}  // namespace pagoda
