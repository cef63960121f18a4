#include "server/openai/json_fields.h"

#include <cmath>
#include <limits>

namespace pagoda {

namespace {
// An integer, or a float with no fractional part (2.0), as lenient JSON
// schema validators accept.
bool AsInt64(const nlohmann::json& v, int64_t* out) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) return false;
    *out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18) {
      *out = static_cast<int64_t>(d);
      return true;
    }
  }
  return false;
}
}  // namespace

const nlohmann::json* FieldReader::Get(const char* name) const {
  auto it = object_.find(name);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool FieldReader::Has(const char* name) const { return Get(name) != nullptr; }

void FieldReader::Fail(const std::string& param, const std::string& message) {
  if (!error_) error_ = ApiError::BadRequest(message, param);
}

void FieldReader::TypeError(const char* name, const char* expected) {
  Fail(name, std::string("'") + name + "' must be " + expected);
}

void FieldReader::Check(bool ok, const char* name, const std::string& message) {
  if (!ok) Fail(name, message);
}

bool FieldReader::Bool(const char* name, bool* out) {
  const nlohmann::json* v = Get(name);
  if (!v) return false;
  if (!v->is_boolean()) return TypeError(name, "a boolean"), false;
  *out = v->get<bool>();
  return true;
}

bool FieldReader::Int(const char* name, int* out) {
  const nlohmann::json* v = Get(name);
  if (!v) return false;
  int64_t x = 0;
  if (!AsInt64(*v, &x) || x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max()) {
    return TypeError(name, "an integer"), false;
  }
  *out = static_cast<int>(x);
  return true;
}

bool FieldReader::Int(const char* name, std::optional<int>* out) {
  int x = 0;
  if (!Int(name, &x)) return false;
  *out = x;
  return true;
}

bool FieldReader::Int64(const char* name, std::optional<int64_t>* out) {
  const nlohmann::json* v = Get(name);
  if (!v) return false;
  int64_t x = 0;
  if (!AsInt64(*v, &x)) return TypeError(name, "an integer"), false;
  *out = x;
  return true;
}

bool FieldReader::Float(const char* name, float* out) {
  const nlohmann::json* v = Get(name);
  if (!v) return false;
  if (!v->is_number()) return TypeError(name, "a number"), false;
  double d = v->get<double>();
  if (!std::isfinite(d)) return TypeError(name, "a finite number"), false;
  *out = static_cast<float>(d);
  return true;
}

bool FieldReader::String(const char* name, std::string* out) {
  const nlohmann::json* v = Get(name);
  if (!v) return false;
  if (!v->is_string()) return TypeError(name, "a string"), false;
  *out = v->get<std::string>();
  return true;
}

bool FieldReader::StringOrList(const char* name, std::vector<std::string>* out) {
  const nlohmann::json* v = Get(name);
  if (!v) return false;
  if (v->is_string()) {
    *out = {v->get<std::string>()};
    return true;
  }
  if (!v->is_array()) return TypeError(name, "a string or an array of strings"), false;
  std::vector<std::string> values;
  for (const auto& item : *v) {
    if (!item.is_string()) return TypeError(name, "a string or an array of strings"), false;
    values.push_back(item.get<std::string>());
  }
  *out = std::move(values);
  return true;
}

bool FieldReader::IntList(const char* name, std::vector<int32_t>* out) {
  const nlohmann::json* v = Get(name);
  if (!v) return false;
  if (!v->is_array()) return TypeError(name, "an array of integers"), false;
  std::vector<int32_t> values;
  for (const auto& item : *v) {
    int64_t x = 0;
    if (!AsInt64(item, &x) || x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max()) {
      return TypeError(name, "an array of integers"), false;
    }
    values.push_back(static_cast<int32_t>(x));
  }
  *out = std::move(values);
  return true;
}

std::optional<ApiError> ParseJsonObject(const std::string& body, nlohmann::json* out) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return ApiError::BadRequest("malformed JSON in the request body");
  }
  if (!parsed.is_object()) return ApiError::BadRequest("the request body must be a JSON object");
  *out = std::move(parsed);
  return std::nullopt;
}

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pagoda
