#include "server/handlers/openai_job.h"

#include <chrono>

#include "server/handlers/handlers.h"
#include "server/openai/responses.h"

namespace pagoda {

OpenAiJob::OpenAiJob(ServerContext& ctx, std::shared_ptr<HttpExchange> exchange, const CommonRequestFields& fields,
                     const std::string& id_prefix, std::string request_id)
    : GenerationJob(ctx.engine(), std::move(exchange)),
      ctx_(ctx),
      id_(id_prefix + "-" + request_id),
      request_id_(std::move(request_id)),
      created_(std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count()),
      stream_(fields.stream),
      stream_options_(fields.stream_options) {}

void OpenAiJob::BeforeSubmit() {
  if (stream_) exchange().StartStream(200, "text/event-stream", {{"X-Request-Id", request_id_}});
}

void OpenAiJob::OnSubmitError(const ApiError& error) {
  if (!stream_) return RespondError(exchange(), error, {{"X-Request-Id", request_id_}});
  exchange().Write(SseEvent(nlohmann::json::parse(ApiErrorJson(error))));
  exchange().Write(kSseDone);
  exchange().EndStream();
}

nlohmann::json OpenAiJob::Envelope(const char* object) const {
  return {{"id", id_}, {"object", object}, {"created", created_}, {"model", ctx_.model_name()}};
}

void OpenAiJob::WriteStreamChunk(nlohmann::json chunk) {
  if (stream_options_.continuous_usage_stats) chunk["usage"] = Usage();
  exchange().Write(SseEvent(chunk));
}

void OpenAiJob::EndStream(const char* chunk_object) {
  if (stream_options_.include_usage) {
    nlohmann::json chunk = Envelope(chunk_object);
    chunk["choices"] = nlohmann::json::array();
    chunk["usage"] = Usage();
    exchange().Write(SseEvent(chunk));
  }
  exchange().Write(kSseDone);
  exchange().EndStream();
}

void OpenAiJob::RespondWhole(const nlohmann::json& body) {
  RespondJson(exchange(), body, {{"X-Request-Id", request_id_}});
}

GenerateRequest EngineRequest(const CommonRequestFields& fields, std::string request_id,
                              std::vector<int32_t> token_ids) {
  GenerateRequest r;
  r.request_id = std::move(request_id);
  r.prompt_token_ids = std::move(token_ids);
  r.sampling_params = fields.sampling;
  r.priority = fields.priority;
  r.cache_salt = fields.cache_salt;
  r.arrival_time = MonotonicSeconds();
  return r;
}

}  // namespace pagoda
