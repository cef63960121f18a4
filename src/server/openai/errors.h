// OpenAI-style API errors: {"error": {"message", "type", "param", "code"}}
// with the HTTP status the OpenAI API uses for each kind, so official
// clients raise the right exception class (BadRequestError, ...). Plain
// values and pure functions: thread-safe.
#pragma once

#include <string>

#include "base/status.h"
#include "server/http/http_types.h"

namespace pagoda {

struct ApiError {
  int status = 400;
  std::string message;
  std::string param;  // the offending request field; "" = null
  std::string code;   // a machine-readable code; "" = null

  static ApiError BadRequest(std::string message, std::string param = "") {
    return {400, std::move(message), std::move(param), ""};
  }
  static ApiError NotFound(std::string message, std::string code = "") {
    return {404, std::move(message), "", std::move(code)};
  }
};

// "invalid_request_error", "authentication_error", "server_error", ...
const char* ApiErrorType(int status);

std::string ApiErrorJson(const ApiError& error);
HttpResponse ApiErrorResponse(const ApiError& error);
// Maps an engine Status: InvalidArgument/OutOfRange -> 400, NotFound -> 404,
// FailedPrecondition/ResourceExhausted -> 503, anything else -> 500.
ApiError ApiErrorFromStatus(const Status& status, std::string param = "");

}  // namespace pagoda
