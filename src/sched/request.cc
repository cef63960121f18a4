#include "sched/request.h"

#include <utility>

#include "base/check.h"

namespace pagoda {

bool IsFinished(RequestStatus status) {
  return status == RequestStatus::kFinishedStopped ||
         status == RequestStatus::kFinishedLengthCapped ||
         status == RequestStatus::kFinishedAborted;
}

std::optional<FinishReason> ToFinishReason(RequestStatus status) {
  switch (status) {
    case RequestStatus::kFinishedStopped: return FinishReason::kStop;
    case RequestStatus::kFinishedLengthCapped: return FinishReason::kLength;
    case RequestStatus::kFinishedAborted: return FinishReason::kAbort;
    default: return std::nullopt;
  }
}

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
  }
  return "unknown";
}

Request::Request(std::string request_id, std::vector<int32_t> prompt_token_ids,
                 SamplingParams sampling_params, RequestOptions options)
    : request_id_(std::move(request_id)),
      all_token_ids_(std::move(prompt_token_ids)),
      num_prompt_tokens_(static_cast<int32_t>(all_token_ids_.size())),
      sampling_params_(std::move(sampling_params)),
      options_(std::move(options)) {
  // An empty prompt has no position to sample from; the engine rejects it.
  CHECK(num_prompt_tokens_ > 0) << "request " << request_id_ << " has an empty prompt";
}

}  // namespace pagoda
