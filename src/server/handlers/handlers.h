// The route handlers of the OpenAI-compatible server, one file each. Every
// handler runs on an I/O thread, must not block (generation answers later,
// from the engine's output thread, through the exchange), and answers every
// failure with an OpenAI-style error body. Stateless functions over a
// shared, immutable ServerContext: thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "server/http/http_exchange.h"
#include "server/openai/errors.h"
#include "server/server_context.h"

namespace pagoda {

void HandleModels(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange);
void HandleCompletions(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange);
void HandleChatCompletions(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange);
void HandleTokenize(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange);
void HandleDetokenize(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange);
void HandleHealth(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange);
void HandleVersion(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange);
void HandleMetrics(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange);

// Shared helpers of the handlers.
void RespondJson(HttpExchange& exchange, const nlohmann::json& body, HttpHeaders headers = {});
void RespondError(HttpExchange& exchange, const ApiError& error, HttpHeaders headers = {});
// Checks the content type (application/json) and parses the body as a JSON
// object; on failure answers 400 and returns false.
bool ReadJsonBody(HttpExchange& exchange, nlohmann::json* out);

}  // namespace pagoda
