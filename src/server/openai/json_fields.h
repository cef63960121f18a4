// FieldReader: reads typed, optional fields of a JSON request object and
// records the first mistake as a 400 ApiError naming the field. A null value
// counts as absent (clients send null for unset options). Used by the
// protocol parsers only; one reader per request, not shared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/openai/errors.h"

namespace pagoda {

class FieldReader {
 public:
  explicit FieldReader(const nlohmann::json& object) : object_(object) {}

  // Present and not null.
  bool Has(const char* name) const;
  const nlohmann::json* Get(const char* name) const;

  // Each reader leaves *out untouched when the field is absent, and returns
  // whether it read a value.
  bool Bool(const char* name, bool* out);
  bool Int(const char* name, int* out);
  bool Int(const char* name, std::optional<int>* out);
  bool Int64(const char* name, std::optional<int64_t>* out);
  bool Float(const char* name, float* out);
  bool String(const char* name, std::string* out);
  // A string or an array of strings (OpenAI's `stop`).
  bool StringOrList(const char* name, std::vector<std::string>* out);
  bool IntList(const char* name, std::vector<int32_t>* out);

  // Range checks on a value already read; each records an error on failure.
  void Check(bool ok, const char* name, const std::string& message);

  void Fail(const std::string& param, const std::string& message);
  bool ok() const { return !error_.has_value(); }
  const std::optional<ApiError>& error() const { return error_; }

 private:
  void TypeError(const char* name, const char* expected);

  const nlohmann::json& object_;
  std::optional<ApiError> error_;
};

// Parses a request body, which must be a JSON object. On failure returns a
// 400 error ("malformed JSON" or "expected an object").
std::optional<ApiError> ParseJsonObject(const std::string& body, nlohmann::json* out);

// Serializes for the wire: invalid UTF-8 (never expected) becomes U+FFFD
// instead of throwing.
std::string DumpJson(const nlohmann::json& value);

}  // namespace pagoda
