// GenerationJob: the engine side of one /v1/completions or
// /v1/chat/completions request — one engine request per prompt, their
// outputs routed to the endpoint's formatter, and every one of them aborted
// when the client disconnects. Subclasses format the outputs (whole or
// streamed).
//
// Thread-safety: Start runs on an I/O thread; engine outputs arrive on the
// engine's output thread and the disconnect on an I/O thread. OnOutput and
// OnFinished are called under the job's mutex, one at a time, so subclass
// state needs no locking of its own.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine_client.h"
#include "server/http/http_exchange.h"
#include "server/openai/errors.h"

namespace pagoda {

class GenerationJob : public std::enable_shared_from_this<GenerationJob> {
 public:
  GenerationJob(EngineClient& engine, std::shared_ptr<HttpExchange> exchange);
  virtual ~GenerationJob() = default;

  // Validates every request (nothing is queued if one is bad), then
  // submits them all. An error means nothing is running and the caller
  // answers with it; BeforeSubmit() runs between validation and submission
  // (streams send their headers there).
  std::optional<ApiError> Start(std::vector<GenerateRequest> requests);

 protected:
  virtual void BeforeSubmit() {}
  // One output of prompt `prompt_index`'s request.
  virtual void OnOutput(size_t prompt_index, RequestOutput& output) = 0;
  // Every prompt's request has delivered its final output.
  virtual void OnFinished() = 0;
  // A submission failed after BeforeSubmit (engine shut down meanwhile).
  virtual void OnSubmitError(const ApiError& error) = 0;

  HttpExchange& exchange() { return *exchange_; }
  // The validated requests (sampling params with the engine's defaults).
  const std::vector<GenerateRequest>& requests() const { return requests_; }

 private:
  void Deliver(size_t prompt_index, RequestOutput output);
  void AbortAll();

  EngineClient& engine_;
  std::shared_ptr<HttpExchange> exchange_;
  std::vector<GenerateRequest> requests_;
  std::mutex mu_;
  size_t num_submitted_ = 0;
  size_t num_finished_ = 0;
  bool failed_ = false;
};

}  // namespace pagoda
