#include "tokenizer/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "formats/gguf.h"
#include "tokenizer/json_file.h"

namespace pagoda {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

StatusOr<ordered_json> ReadJson(const std::string& path) { return ReadOrderedJsonFile(path); }

// "chat_template" is a string, or a list of {"name", "template"}.
StatusOr<std::string> PickTemplate(const ordered_json& value, const std::string& name, const std::string& where) {
  if (value.is_string()) {
    if (!name.empty() && name != "default") return NotFound(where + ": no chat template named '" + name + "'");
    return value.get<std::string>();
  }
  if (value.is_array()) {
    const std::string want = name.empty() ? "default" : name;
    std::string names;
    for (const ordered_json& t : value) {
      if (!t.is_object() || !t.contains("name") || !t.contains("template") || !t["template"].is_string()) {
        return InvalidArgument(where + ": chat_template list entries need \"name\" and \"template\"");
      }
      if (t["name"] == want) return t["template"].get<std::string>();
      names += (names.empty() ? "" : ", ") + t["name"].dump();
    }
    return NotFound(where + ": no chat template named '" + want + "' (has " + names + ")");
  }
  return InvalidArgument(where + ": chat_template is neither a string nor a list");
}

// The special tokens transformers passes to the template: those the
// config names (a string or {"content": ...}), never null ones.
ordered_json SpecialTokens(const ordered_json& cfg) {
  ordered_json out = ordered_json::object();
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                          "mask_token"}) {
    auto it = cfg.find(key);
    if (it == cfg.end()) continue;
    if (it->is_string()) {
      out[key] = *it;
    } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
      out[key] = (*it)["content"];
    }
  }
  auto extra = cfg.find("additional_special_tokens");
  if (extra != cfg.end() && extra->is_array()) {
    ordered_json list = ordered_json::array();
    for (const ordered_json& t : *extra) {
      if (t.is_string()) list.push_back(t);
      if (t.is_object() && t.contains("content")) list.push_back(t["content"]);
    }
    out["additional_special_tokens"] = list;
  }
  return out;
}

}  // namespace

StatusOr<ChatTemplate> ChatTemplate::FromString(const std::string& source, const std::string& origin) {
  ChatTemplate t;
  ASSIGN_OR_RETURN(t.template_, jinja::Template::Parse(source, origin));
  t.source_ = source;
  return t;
}

StatusOr<ChatTemplate> ChatTemplate::FromJinjaFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string source, ReadFile(path));
  return FromString(source, path);
}

StatusOr<ChatTemplate> ChatTemplate::FromTokenizerConfig(const std::string& path, const std::string& name) {
  std::error_code ec;
  const bool is_dir = fs::is_directory(path, ec);
  const fs::path dir = is_dir ? fs::path(path) : fs::path(path).parent_path();
  const fs::path cfg_path = is_dir ? dir / "tokenizer_config.json" : fs::path(path);
  ordered_json cfg = ordered_json::object();
  if (fs::exists(cfg_path, ec)) {
    ASSIGN_OR_RETURN(cfg, ReadJson(cfg_path.string()));
  }
  // transformers >= 4.43 saves the template beside the config.
  const fs::path jinja_file = dir / "chat_template.jinja";
  const fs::path json_file = dir / "chat_template.json";
  StatusOr<ChatTemplate> t = NotFound(cfg_path.string() + ": no chat_template");
  if (is_dir && name.empty() && fs::exists(jinja_file, ec)) {
    t = FromJinjaFile(jinja_file.string());
  } else if (is_dir && fs::exists(json_file, ec)) {
    ASSIGN_OR_RETURN(ordered_json j, ReadJson(json_file.string()));
    if (!j.contains("chat_template")) return InvalidArgument(json_file.string() + ": no \"chat_template\" key");
    ASSIGN_OR_RETURN(std::string source, PickTemplate(j["chat_template"], name, json_file.string()));
    t = FromString(source, json_file.string());
  } else if (cfg.contains("chat_template") && !cfg["chat_template"].is_null()) {
    ASSIGN_OR_RETURN(std::string source, PickTemplate(cfg["chat_template"], name, cfg_path.string()));
    t = FromString(source, cfg_path.string() + " chat_template");
  }
  if (!t.ok()) return t.status();
  t->special_tokens_ = SpecialTokens(cfg);
  return t;
}

StatusOr<ChatTemplate> ChatTemplate::FromGguf(const GgufFile& gguf, const std::string& name) {
  const std::string key = name.empty() || name == "default" ? "tokenizer.chat_template"
                                                            : "tokenizer.chat_template." + name;
  std::optional<std::string> source = gguf.GetString(key);
  if (!source) return NotFound(gguf.path() + ": no " + key + " metadata");
  ASSIGN_OR_RETURN(ChatTemplate t, FromString(*source, gguf.path() + " " + key));
  const std::vector<std::string>* tokens = gguf.GetStringArray("tokenizer.ggml.tokens");
  auto token = [&](const char* id_key, const char* name_key) {
    std::optional<int64_t> id = gguf.GetInt(id_key);
    if (tokens != nullptr && id && *id >= 0 && *id < static_cast<int64_t>(tokens->size())) {
      t.special_tokens_[name_key] = (*tokens)[*id];
    }
  };
  token("tokenizer.ggml.bos_token_id", "bos_token");
  token("tokenizer.ggml.eos_token_id", "eos_token");
  token("tokenizer.ggml.unknown_token_id", "unk_token");
  token("tokenizer.ggml.padding_token_id", "pad_token");
  return t;
}

StatusOr<ChatTemplate> ChatTemplate::FromPath(const std::string& path, const std::string& name) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return FromTokenizerConfig(path, name);
  if (!fs::exists(path, ec)) return NotFound("no such file or folder: " + path);
  if (path.ends_with(".gguf")) {
    ASSIGN_OR_RETURN(std::shared_ptr<GgufFile> gguf, GgufFile::Open(path));
    return FromGguf(*gguf, name);
  }
  if (path.ends_with(".json")) return FromTokenizerConfig(path, name);
  return FromJinjaFile(path);
}

StatusOr<std::string> ChatTemplate::Render(const ChatTemplateInputs& in) const {
  if (!in.messages.is_array()) return InvalidArgument("chat template: messages must be a JSON array");
  ordered_json ctx = ordered_json::object();
  ctx["messages"] = in.messages;
  ctx["tools"] = in.tools;
  ctx["documents"] = in.documents;
  ctx["add_generation_prompt"] = in.add_generation_prompt;
  for (auto it = special_tokens_.begin(); it != special_tokens_.end(); ++it) ctx[it.key()] = it.value();
  if (in.kwargs.is_object()) {
    for (auto it = in.kwargs.begin(); it != in.kwargs.end(); ++it) ctx[it.key()] = it.value();
  }
  jinja::RenderOptions options;
  options.now = in.now;
  return template_->Render(ctx, options);
}

}  // namespace pagoda
