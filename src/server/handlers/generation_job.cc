#include "server/handlers/generation_job.h"

#include <cstdio>
#include <exception>

namespace pagoda {

GenerationJob::GenerationJob(EngineClient& engine, std::shared_ptr<HttpExchange> exchange)
    : engine_(engine), exchange_(std::move(exchange)) {}

std::optional<ApiError> GenerationJob::Start(std::vector<GenerateRequest> requests) {
  for (GenerateRequest& request : requests) {
    StatusOr<SamplingParams> params = engine_.Validate(request);
    if (!params.ok()) return ApiErrorFromStatus(params.status());
    request.sampling_params = std::move(params).value();
  }
  requests_ = std::move(requests);
  BeforeSubmit();
  // Registered before submitting, so a client that hangs up at once still
  // gets its requests aborted.
  std::weak_ptr<GenerationJob> weak = weak_from_this();
  exchange_->SetOnClose([weak] {
    if (auto self = weak.lock()) self->AbortAll();
  });
  for (size_t i = 0; i < requests_.size(); ++i) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++num_submitted_;
    }
    auto self = shared_from_this();
    Status status = engine_.Submit(requests_[i], [self, i](RequestOutput output) {
      self->Deliver(i, std::move(output));
    });
    if (!status.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      --num_submitted_;
      failed_ = true;
      for (size_t j = 0; j < i; ++j) engine_.Abort(requests_[j].request_id);
      OnSubmitError(ApiErrorFromStatus(status));
      return std::nullopt;
    }
  }
  // A disconnect noticed while the loop ran may have missed the later ids.
  if (exchange_->client_gone()) AbortAll();
  return std::nullopt;
}

void GenerationJob::Deliver(size_t prompt_index, RequestOutput output) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_) return;
  // This runs on the engine's output thread: a formatting bug must end this
  // request, not the thread every other request depends on.
  try {
    OnOutput(prompt_index, output);
    if (output.finished && ++num_finished_ == requests_.size()) OnFinished();
  } catch (const std::exception& e) {
    failed_ = true;
    std::fprintf(stderr, "pagoda serve: request failed while formatting its output: %s\n", e.what());
    AbortAll();
    exchange_->Respond(ApiErrorResponse({500, std::string("internal error: ") + e.what(), "", ""}));
    exchange_->EndStream();
  }
}

void GenerationJob::AbortAll() {
  for (const GenerateRequest& request : requests_) engine_.Abort(request.request_id);
}

}  // namespace pagoda
