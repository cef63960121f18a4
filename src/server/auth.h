// API-key check for the OpenAI routes (--api-key): requests under /v1 must
// carry "Authorization: Bearer <key>". Other routes (/health, /metrics,
// /version, /tokenize) stay open, as vLLM leaves them. Immutable after
// construction: safe from any thread.
#pragma once

#include <string>

#include "server/http/http_types.h"

namespace pagoda {

class ApiKeyAuth {
 public:
  explicit ApiKeyAuth(std::string api_key) : api_key_(std::move(api_key)) {}

  bool enabled() const { return !api_key_.empty(); }
  // True when `request` may proceed.
  bool Allows(const HttpRequest& request) const;

 private:
  std::string api_key_;
};

}  // namespace pagoda
