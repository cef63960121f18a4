// OpenAiJob: what /v1/completions and /v1/chat/completions answer alike
// around their own choices — the response id ("<prefix>-<request id>") and
// creation time, the envelope of every object, the stream's headers and
// its end (an optional usage chunk, then "data: [DONE]"), a whole JSON
// answer, and a submission that failed after the stream began. Subclasses
// add the choices. Same threading as GenerationJob.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/handlers/generation_job.h"
#include "server/openai/protocol.h"
#include "server/server_context.h"

namespace pagoda {

class OpenAiJob : public GenerationJob {
 protected:
  OpenAiJob(ServerContext& ctx, std::shared_ptr<HttpExchange> exchange, const CommonRequestFields& fields,
            const std::string& id_prefix, std::string request_id);

  void BeforeSubmit() override;
  void OnSubmitError(const ApiError& error) override;

  // The usage object of the response so far.
  virtual nlohmann::json Usage() const = 0;

  // {"id", "object", "created", "model"}.
  nlohmann::json Envelope(const char* object) const;
  // Writes one streamed chunk, with usage when continuous_usage_stats asks.
  void WriteStreamChunk(nlohmann::json chunk);
  // Ends a stream: the usage chunk (include_usage), "data: [DONE]".
  void EndStream(const char* chunk_object);
  // Answers a request that did not stream.
  void RespondWhole(const nlohmann::json& body);

  ServerContext& ctx_;

 private:
  std::string id_;
  std::string request_id_;
  int64_t created_;
  bool stream_;
  StreamOptions stream_options_;
};

// An engine request for `token_ids` with the request's sampling, priority
// and cache salt, arriving now.
GenerateRequest EngineRequest(const CommonRequestFields& fields, std::string request_id,
                              std::vector<int32_t> token_ids);

}  // namespace pagoda
