#include "server/api_server.h"

#include "server/handlers/handlers.h"

namespace pagoda {

namespace {
using Handler = void (*)(ServerContext&, const std::shared_ptr<HttpExchange>&);
}  // namespace

StatusOr<std::unique_ptr<ApiServer>> ApiServer::Create(EngineClient* engine, ServeOptions options) {
  std::unique_ptr<ApiServer> server(new ApiServer());
  HttpServerOptions http_options = options.http;
  ASSIGN_OR_RETURN(server->context_, ServerContext::Create(engine, std::move(options)));
  auto router = std::make_shared<Router>([](int status, const std::string& message) {
    ApiError error{status, message, "", ""};
    return ApiErrorResponse(error);
  });
  ServerContext* ctx = server->context_.get();
  auto add = [&](const char* method, const char* path, Handler handler) {
    router->Add(method, path, [ctx, handler](std::shared_ptr<HttpExchange> exchange) {
      if (!ctx->auth().Allows(exchange->request())) {
        HttpResponse response = ApiErrorResponse(
            {401, "Incorrect or missing API key: send 'Authorization: Bearer <key>'", "", "invalid_api_key"});
        response.headers.emplace_back("WWW-Authenticate", "Bearer");
        exchange->Respond(std::move(response));
        return;
      }
      handler(*ctx, exchange);
    });
  };
  add("GET", "/health", HandleHealth);
  add("GET", "/version", HandleVersion);
  add("GET", "/metrics", HandleMetrics);
  add("GET", "/v1/models", HandleModels);
  add("POST", "/v1/completions", HandleCompletions);
  add("POST", "/v1/chat/completions", HandleChatCompletions);
  add("POST", "/tokenize", HandleTokenize);
  add("POST", "/detokenize", HandleDetokenize);
  server->http_ = std::make_unique<HttpServer>(http_options, std::move(router));
  return server;
}

ApiServer::~ApiServer() { Stop(); }

Status ApiServer::Start() { return http_->Start(); }

void ApiServer::Stop() {
  if (http_) http_->Stop();
}

}  // namespace pagoda
