// Building blocks of the OpenAI response bodies: usage, the two logprobs
// formats (legacy completions, chat), SSE framing. Pure functions and small
// per-choice accumulators; an accumulator belongs to one request.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine_client.h"

namespace pagoda {

// {"prompt_tokens", "completion_tokens", "total_tokens",
//  "prompt_tokens_details": {"cached_tokens"}}
nlohmann::json UsageJson(int64_t prompt_tokens, int64_t completion_tokens, int64_t cached_tokens);

// JSON has no -inf: impossible tokens report -9999.0, as vLLM does.
double JsonLogprob(float logprob);

// Unicode code points in UTF-8 text (OpenAI's text_offset unit).
int64_t CountCodePoints(const std::string& text);

// The legacy /v1/completions logprobs object: parallel arrays `tokens`,
// `token_logprobs`, `top_logprobs` (token text -> logprob, the chosen token
// included) and `text_offset`. Offsets continue across Take() calls, so a
// stream's chunks carry only their new tokens with offsets into the whole
// text.
class CompletionLogprobs {
 public:
  explicit CompletionLogprobs(int64_t text_offset = 0) : offset_(text_offset) {}
  // A position without logprobs (the first prompt token): null entries.
  void AddWithoutLogprob(const std::string& token_text);
  void Add(const TokenLogprobs& entry);
  // Text that advances the offsets without tokens (prompt text when the
  // prompt's logprobs are unavailable).
  void Advance(const std::string& text) { offset_ += CountCodePoints(text); }
  bool empty() const { return tokens_.empty(); }
  // The object for the entries added since the last Take().
  nlohmann::json Take();

 private:
  int64_t offset_;
  nlohmann::json tokens_ = nlohmann::json::array();
  nlohmann::json token_logprobs_ = nlohmann::json::array();
  nlohmann::json top_logprobs_ = nlohmann::json::array();
  nlohmann::json text_offset_ = nlohmann::json::array();
};

// The chat logprobs object {"content": [{token, logprob, bytes,
// top_logprobs: [{token, logprob, bytes}]}]} for `entries`, with at most
// `top_n` alternatives each.
nlohmann::json ChatLogprobsJson(const std::vector<TokenLogprobs>& entries, int top_n);

// "data: <json>\n\n" and the final "data: [DONE]\n\n".
std::string SseEvent(const nlohmann::json& data);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

// The finish details of a choice: finish_reason and vLLM's stop_reason
// (the matched stop string or stop token id; null otherwise).
nlohmann::json StopReasonJson(const CompletionDelta& delta);

}  // namespace pagoda
