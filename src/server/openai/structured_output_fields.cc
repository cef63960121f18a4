#include "server/openai/structured_output_fields.h"

#include <string>
#include <vector>

namespace pagoda {

namespace {

using Kind = StructuredOutputSpec::Kind;

// A schema given as an object, or as a JSON string holding one (vLLM accepts both).
std::optional<ApiError> SchemaText(const nlohmann::json& v, const std::string& field, std::string* out) {
  if (v.is_object() || v.is_boolean()) {
    *out = v.dump();
    return std::nullopt;
  }
  if (v.is_string()) {
    nlohmann::json parsed = nlohmann::json::parse(v.get<std::string>(), nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !(parsed.is_object() || parsed.is_boolean())) {
      return ApiError::BadRequest("'" + field + "' must be a JSON Schema object (or a string holding one)", field);
    }
    *out = parsed.dump();
    return std::nullopt;
  }
  return ApiError::BadRequest("'" + field + "' must be a JSON Schema object", field);
}

std::optional<ApiError> Choices(const nlohmann::json& v, const std::string& field, std::vector<std::string>* out) {
  if (!v.is_array()) return ApiError::BadRequest("'" + field + "' must be an array of strings", field);
  if (v.empty()) return ApiError::BadRequest("'" + field + "' must not be empty (the choice list is empty)", field);
  for (const auto& c : v) {
    if (!c.is_string()) return ApiError::BadRequest("'" + field + "' must be an array of strings", field);
    out->push_back(c.get<std::string>());
  }
  return std::nullopt;
}

std::optional<ApiError> Text(const nlohmann::json& v, const std::string& field, std::string* out) {
  if (!v.is_string()) return ApiError::BadRequest("'" + field + "' must be a string", field);
  *out = v.get<std::string>();
  if (out->empty()) return ApiError::BadRequest("'" + field + "' must not be empty", field);
  return std::nullopt;
}

class Collector {
 public:
  // Records one constraint; a second one is an error (which would win is unclear).
  std::optional<ApiError> Add(const std::string& field, StructuredOutputSpec spec) {
    if (spec_) {
      return ApiError::BadRequest("only one structured output constraint may be given, got '" + field_ +
                                      "' and '" + field + "'",
                                  field);
    }
    field_ = field;
    spec_ = std::move(spec);
    return std::nullopt;
  }
  std::optional<StructuredOutputSpec>& spec() { return spec_; }

 private:
  std::string field_;
  std::optional<StructuredOutputSpec> spec_;
};

std::optional<ApiError> ReadResponseFormat(const nlohmann::json& rf, Collector* c) {
  if (!rf.is_object()) return ApiError::BadRequest("'response_format' must be an object", "response_format");
  auto type = rf.find("type");
  if (type == rf.end() || !type->is_string()) {
    return ApiError::BadRequest("'response_format.type' must be a string", "response_format");
  }
  const std::string t = type->get<std::string>();
  if (t == "text") return std::nullopt;
  if (t == "json_object") return c->Add("response_format", {.kind = Kind::kJsonObject});
  if (t != "json_schema") {
    return ApiError::BadRequest("response_format type '" + t + "' is not supported (text, json_object, json_schema)",
                                "response_format");
  }
  auto js = rf.find("json_schema");
  if (js == rf.end() || !js->is_object()) {
    return ApiError::BadRequest("'response_format.json_schema' must be an object", "response_format");
  }
  auto schema = js->find("schema");
  StructuredOutputSpec spec{.kind = Kind::kJsonSchema};
  if (schema == js->end() || schema->is_null()) {
    spec.text = "{}";  // OpenAI allows a name alone: any JSON value
  } else if (auto e = SchemaText(*schema, "response_format.json_schema.schema", &spec.text)) {
    e->param = "response_format";
    return e;
  }
  if (auto strict = js->find("strict"); strict != js->end() && !strict->is_null()) {
    if (!strict->is_boolean()) {
      return ApiError::BadRequest("'response_format.json_schema.strict' must be a boolean", "response_format");
    }
  }
  return c->Add("response_format", std::move(spec));
}

std::optional<ApiError> ReadVllmFields(const nlohmann::json& obj, const std::string& prefix, bool guided_names,
                                       Collector* c) {
  auto name = [&](const char* plain, const char* guided) { return guided_names ? std::string(guided) : std::string(plain); };
  auto get = [&](const std::string& key) -> const nlohmann::json* {
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  };
  const std::string json_key = name("json", "guided_json");
  if (const nlohmann::json* v = get(json_key)) {
    StructuredOutputSpec spec{.kind = Kind::kJsonSchema};
    if (auto e = SchemaText(*v, prefix + json_key, &spec.text)) return e;
    if (auto e = c->Add(prefix + json_key, std::move(spec))) return e;
  }
  const std::string regex_key = name("regex", "guided_regex");
  if (const nlohmann::json* v = get(regex_key)) {
    StructuredOutputSpec spec{.kind = Kind::kRegex};
    if (auto e = Text(*v, prefix + regex_key, &spec.text)) return e;
    if (auto e = c->Add(prefix + regex_key, std::move(spec))) return e;
  }
  const std::string choice_key = name("choice", "guided_choice");
  if (const nlohmann::json* v = get(choice_key)) {
    StructuredOutputSpec spec{.kind = Kind::kChoice};
    if (auto e = Choices(*v, prefix + choice_key, &spec.choices)) return e;
    if (auto e = c->Add(prefix + choice_key, std::move(spec))) return e;
  }
  const std::string grammar_key = name("grammar", "guided_grammar");
  if (const nlohmann::json* v = get(grammar_key)) {
    StructuredOutputSpec spec{.kind = Kind::kGrammar};
    if (auto e = Text(*v, prefix + grammar_key, &spec.text)) return e;
    if (auto e = c->Add(prefix + grammar_key, std::move(spec))) return e;
  }
  if (!guided_names) {
    if (const nlohmann::json* v = get("json_object")) {
      if (!v->is_boolean()) return ApiError::BadRequest("'structured_outputs.json_object' must be a boolean", "structured_outputs");
      if (v->get<bool>()) {
        if (auto e = c->Add("structured_outputs.json_object", {.kind = Kind::kJsonObject})) return e;
      }
    }
    for (const char* unsupported : {"structural_tag"}) {
      if (get(unsupported)) {
        return ApiError::BadRequest(std::string("'structured_outputs.") + unsupported + "' is not supported",
                                    "structured_outputs");
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> ReadStructuredOutputFields(const nlohmann::json& body, SamplingParams* params) {
  Collector c;
  if (auto it = body.find("response_format"); it != body.end() && !it->is_null()) {
    if (auto e = ReadResponseFormat(*it, &c)) return e;
  }
  if (auto it = body.find("structured_outputs"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return ApiError::BadRequest("'structured_outputs' must be an object", "structured_outputs");
    if (auto e = ReadVllmFields(*it, "structured_outputs.", false, &c)) return e;
  }
  if (auto e = ReadVllmFields(body, "", true, &c)) return e;
  bool any_whitespace = false;
  if (auto it = body.find("guided_whitespace_pattern"); it != body.end() && it->is_string()) any_whitespace = true;
  if (c.spec()) {
    c.spec()->any_whitespace = any_whitespace;
    params->structured_output = std::move(c.spec());
  }
  return std::nullopt;
}

}  // namespace pagoda
