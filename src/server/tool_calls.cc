#include "server/tool_calls.h"

#include <random>

namespace pagoda {

namespace {

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kPythonTag = "<|python_tag|>";

nlohmann::json ParametersOf(const nlohmann::json& function) {
  auto p = function.find("parameters");
  if (p == function.end() || p->is_null()) return nlohmann::json{{"type", "object"}};
  return *p;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// {"name": ..., "arguments"|"parameters": {...}} -> a call.
std::optional<ParsedToolCall> CallFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  auto name = j.find("name");
  if (name == j.end() || !name->is_string()) return std::nullopt;
  auto args = j.find("arguments");
  if (args == j.end()) args = j.find("parameters");
  ParsedToolCall call;
  call.name = name->get<std::string>();
  if (args == j.end() || args->is_null()) {
    call.arguments = "{}";
  } else if (args->is_string()) {
    call.arguments = args->get<std::string>();  // some models send it pre-serialised
  } else {
    call.arguments = args->dump();
  }
  return call;
}

std::optional<nlohmann::json> ParseJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace

std::optional<ToolCallFormat> ToolCallFormatFromName(const std::string& name, const std::string& source) {
  if (name == "hermes") return ToolCallFormat::kHermes;
  if (name == "llama3_json") return ToolCallFormat::kLlama3Json;
  if (!name.empty()) return std::nullopt;
  if (source.find("<tool_call>") != std::string::npos) return ToolCallFormat::kHermes;
  if (source.find("<|python_tag|>") != std::string::npos || source.find("\"parameters\"") != std::string::npos) {
    return ToolCallFormat::kLlama3Json;
  }
  return ToolCallFormat::kHermes;
}

ParsedToolOutput ParseToolCalls(ToolCallFormat format, std::string_view text) {
  ParsedToolOutput out;
  if (format == ToolCallFormat::kHermes) {
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t open = text.find(kHermesOpen, pos);
      if (open == std::string_view::npos) {
        // Whitespace between and after calls is layout, not content.
        if (out.calls.empty() || !Trim(text.substr(pos)).empty()) out.content.append(text.substr(pos));
        break;
      }
      const size_t body = open + kHermesOpen.size();
      size_t close = text.find(kHermesClose, body);
      const size_t body_end = close == std::string_view::npos ? text.size() : close;
      std::optional<ParsedToolCall> call;
      if (auto j = ParseJson(Trim(text.substr(body, body_end - body)))) call = CallFromJson(*j);
      if (!call) {  // not a call after all: keep it as text
        out.content.append(text.substr(pos, (close == std::string_view::npos ? text.size() : close + kHermesClose.size()) - pos));
      } else {
        if (out.calls.empty() || !Trim(text.substr(pos, open - pos)).empty()) {
          out.content.append(text.substr(pos, open - pos));
        }
        out.calls.push_back(std::move(*call));
      }
      pos = close == std::string_view::npos ? text.size() : close + kHermesClose.size();
    }
    if (!out.calls.empty() && Trim(out.content).empty()) out.content.clear();
    return out;
  }
  std::string_view body = Trim(text);
  if (body.substr(0, kPythonTag.size()) == kPythonTag) body = Trim(body.substr(kPythonTag.size()));
  if (body.empty() || body.front() != '{') {
    out.content = std::string(text);
    return out;
  }
  // One object, or several separated by ';' (Llama-3.2 parallel calls).
  std::vector<ParsedToolCall> calls;
  if (auto j = ParseJson(body)) {
    if (auto call = CallFromJson(*j)) calls.push_back(std::move(*call));
  } else {
    size_t start = 0;
    bool ok = true;
    while (start < body.size() && ok) {
      size_t semi = body.find(';', start);
      // A ';' inside a string would split wrongly; such parts fail to parse and the whole stays content.
      std::string_view part = Trim(body.substr(start, semi == std::string_view::npos ? std::string_view::npos : semi - start));
      auto pj = ParseJson(part);
      auto call = pj ? CallFromJson(*pj) : std::nullopt;
      if (!call) ok = false;
      else calls.push_back(std::move(*call));
      start = semi == std::string_view::npos ? body.size() : semi + 1;
    }
    if (!ok) calls.clear();
  }
  if (calls.empty()) out.content = std::string(text);
  else out.calls = std::move(calls);
  return out;
}

std::optional<std::vector<ParsedToolCall>> ParseRequiredToolCalls(std::string_view text) {
  auto j = ParseJson(text);
  if (!j || !j->is_array()) return std::nullopt;
  std::vector<ParsedToolCall> calls;
  for (const auto& item : *j) {
    auto call = CallFromJson(item);
    if (!call) return std::nullopt;
    calls.push_back(std::move(*call));
  }
  return calls;
}

size_t ToolCallSafeContentLength(ToolCallFormat format, std::string_view text) {
  if (format == ToolCallFormat::kHermes) {
    const size_t open = text.find(kHermesOpen);
    if (open != std::string_view::npos) return open;
    // Hold back a tail that could be the start of "<tool_call>".
    for (size_t k = std::min(text.size(), kHermesOpen.size() - 1); k > 0; --k) {
      if (text.substr(text.size() - k) == kHermesOpen.substr(0, k)) return text.size() - k;
    }
    return text.size();
  }
  // Llama-3 JSON: a call is the whole output, so nothing is content until
  // the first non-space character shows it is not one.
  std::string_view t = Trim(text);
  if (t.empty()) return 0;
  if (t.front() == '{' || t.front() == '<') {
    if (t.front() == '<' && t.size() >= kPythonTag.size() && t.substr(0, kPythonTag.size()) != kPythonTag) {
      return text.size();
    }
    return 0;
  }
  return text.size();
}

std::optional<ApiError> CheckTools(const nlohmann::json& tools) {
  if (!tools.is_array()) return ApiError::BadRequest("'tools' must be an array", "tools");
  for (size_t i = 0; i < tools.size(); ++i) {
    const nlohmann::json& t = tools[i];
    const std::string where = "tools[" + std::to_string(i) + "]";
    if (!t.is_object()) return ApiError::BadRequest(where + " must be an object", "tools");
    auto type = t.find("type");
    if (type != t.end() && !(type->is_string() && type->get<std::string>() == "function")) {
      return ApiError::BadRequest(where + ".type must be 'function'", "tools");
    }
    auto fn = t.find("function");
    if (fn == t.end() || !fn->is_object()) return ApiError::BadRequest(where + ".function must be an object", "tools");
    auto name = fn->find("name");
    if (name == fn->end() || !name->is_string() || name->get<std::string>().empty()) {
      return ApiError::BadRequest(where + ".function.name must be a non-empty string", "tools");
    }
    auto params = fn->find("parameters");
    if (params != fn->end() && !params->is_null() && !params->is_object()) {
      return ApiError::BadRequest(where + ".function.parameters must be a JSON Schema object", "tools");
    }
  }
  return std::nullopt;
}

nlohmann::json RequiredToolCallsSchema(const nlohmann::json& tools, bool parallel_tool_calls) {
  nlohmann::json any = nlohmann::json::array();
  for (const auto& t : tools) {
    const nlohmann::json& fn = t["function"];
    any.push_back({{"type", "object"},
                   {"properties",
                    {{"name", {{"type", "string"}, {"enum", {fn["name"]}}}}, {"arguments", ParametersOf(fn)}}},
                   {"required", {"name", "arguments"}}});
  }
  nlohmann::json schema = {{"type", "array"}, {"minItems", 1}, {"items", {{"anyOf", any}}}};
  if (!parallel_tool_calls) schema["maxItems"] = 1;
  return schema;
}

std::optional<nlohmann::json> NamedToolSchema(const nlohmann::json& tools, const std::string& name) {
  for (const auto& t : tools) {
    const nlohmann::json& fn = t["function"];
    if (fn["name"] == name) return ParametersOf(fn);
  }
  return std::nullopt;
}

std::string NewToolCallId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string id = "chatcmpl-tool-";
  for (int i = 0; i < 24; ++i) id += kHex[rng() % 16];
  return id;
}

}  // namespace pagoda
