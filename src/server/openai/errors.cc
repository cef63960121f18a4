#include "server/openai/errors.h"

#include <nlohmann/json.hpp>

namespace pagoda {

const char* ApiErrorType(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "invalid_request_error";
    case 429: return "rate_limit_error";
    case 503: return "service_unavailable_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

std::string ApiErrorJson(const ApiError& error) {
  nlohmann::json body = {
      {"error",
       {{"message", error.message},
        {"type", ApiErrorType(error.status)},
        {"param", error.param.empty() ? nlohmann::json(nullptr) : nlohmann::json(error.param)},
        {"code", error.code.empty() ? nlohmann::json(nullptr) : nlohmann::json(error.code)}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse ApiErrorResponse(const ApiError& error) {
  HttpResponse response;
  response.status = error.status;
  response.content_type = "application/json";
  response.body = ApiErrorJson(error);
  return response;
}

ApiError ApiErrorFromStatus(const Status& status, std::string param) {
  ApiError error;
  error.message = status.message();
  error.param = std::move(param);
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      error.status = 400;
      break;
    case StatusCode::kNotFound:
      error.status = 404;
      break;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kResourceExhausted:
      error.status = 503;
      break;
    case StatusCode::kUnimplemented:
      error.status = 501;
      break;
    default:
      error.status = 500;
      break;
  }
  return error;
}

}  // namespace pagoda
