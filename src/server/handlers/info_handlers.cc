// GET /health, /version, /v1/models and /metrics: small read-only routes.
#include "server/handlers/handlers.h"
#include "server/metrics.h"

namespace pagoda {

void HandleHealth(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange) {
  HttpResponse response;
  response.content_type = "";
  exchange->Respond(std::move(response));
}

void HandleVersion(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange) {
  RespondJson(*exchange, {{"version", "0.1.0"}});
}

void HandleModels(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange) {
  nlohmann::json data = nlohmann::json::array();
  for (const std::string& name : ctx.options().served_model_names) {
    data.push_back({{"id", name},
                    {"object", "model"},
                    {"created", ctx.created()},
                    {"owned_by", "pagoda"},
                    {"root", ctx.options().model_path},
                    {"parent", nullptr},
                    {"max_model_len", ctx.engine().max_model_len()},
                    {"permission", nlohmann::json::array()}});
  }
  RespondJson(*exchange, {{"object", "list"}, {"data", std::move(data)}});
}

void HandleMetrics(ServerContext& ctx, const std::shared_ptr<HttpExchange>& exchange) {
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = RenderPrometheusMetrics(ctx.engine().GetStats(), ctx.model_name());
  exchange->Respond(std::move(response));
}

}  // namespace pagoda
