// Helpers shared by the handlers (see handlers.h).
#include <strings.h>

#include "server/handlers/handlers.h"
#include "server/openai/json_fields.h"

namespace pagoda {

void RespondJson(HttpExchange& exchange, const nlohmann::json& body, HttpHeaders headers) {
  HttpResponse response;
  response.body = DumpJson(body);
  response.headers = std::move(headers);
  exchange.Respond(std::move(response));
}

void RespondError(HttpExchange& exchange, const ApiError& error, HttpHeaders headers) {
  HttpResponse response = ApiErrorResponse(error);
  response.headers = std::move(headers);
  exchange.Respond(std::move(response));
}

bool ReadJsonBody(HttpExchange& exchange, nlohmann::json* out) {
  std::string_view type = exchange.request().Header("content-type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  constexpr std::string_view kJson = "application/json";
  if (type.size() != kJson.size() || ::strncasecmp(type.data(), kJson.data(), kJson.size()) != 0) {
    RespondError(exchange, ApiError::BadRequest("Unsupported content type '" + std::string(type) +
                                                "': only 'application/json' is allowed"));
    return false;
  }
  if (auto error = ParseJsonObject(exchange.request().body, out)) {
    RespondError(exchange, *error);
    return false;
  }
  return true;
}

}  // namespace pagoda
