#include "server/openai/responses.h"

#include <cmath>

#include "server/openai/json_fields.h"

namespace pagoda {

nlohmann::json UsageJson(int64_t prompt_tokens, int64_t completion_tokens, int64_t cached_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", cached_tokens}}}};
}

double JsonLogprob(float logprob) {
  if (!std::isfinite(logprob)) return -9999.0;
  return std::max<double>(logprob, -9999.0);
}

int64_t CountCodePoints(const std::string& text) {
  int64_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

void CompletionLogprobs::AddWithoutLogprob(const std::string& token_text) {
  tokens_.push_back(token_text);
  token_logprobs_.push_back(nullptr);
  top_logprobs_.push_back(nullptr);
  text_offset_.push_back(offset_);
  offset_ += CountCodePoints(token_text);
}

void CompletionLogprobs::Add(const TokenLogprobs& entry) {
  tokens_.push_back(entry.chosen.text);
  token_logprobs_.push_back(JsonLogprob(entry.chosen.logprob));
  nlohmann::json top = nlohmann::json::object();
  for (const LogprobEntry& alt : entry.top) top[alt.text] = JsonLogprob(alt.logprob);
  // The chosen token is always listed, as vLLM lists it.
  if (!top.contains(entry.chosen.text)) top[entry.chosen.text] = JsonLogprob(entry.chosen.logprob);
  top_logprobs_.push_back(std::move(top));
  text_offset_.push_back(offset_);
  offset_ += CountCodePoints(entry.chosen.text);
}

nlohmann::json CompletionLogprobs::Take() {
  nlohmann::json out = {{"tokens", std::move(tokens_)},
                        {"token_logprobs", std::move(token_logprobs_)},
                        {"top_logprobs", std::move(top_logprobs_)},
                        {"text_offset", std::move(text_offset_)}};
  tokens_ = nlohmann::json::array();
  token_logprobs_ = nlohmann::json::array();
  top_logprobs_ = nlohmann::json::array();
  text_offset_ = nlohmann::json::array();
  return out;
}

namespace {
nlohmann::json Bytes(const std::string& text) {
  nlohmann::json bytes = nlohmann::json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}
}  // namespace

nlohmann::json ChatLogprobsJson(const std::vector<TokenLogprobs>& entries, int top_n) {
  nlohmann::json content = nlohmann::json::array();
  for (const TokenLogprobs& entry : entries) {
    nlohmann::json top = nlohmann::json::array();
    for (size_t i = 0; i < entry.top.size() && static_cast<int>(i) < top_n; ++i) {
      const LogprobEntry& alt = entry.top[i];
      top.push_back({{"token", alt.text}, {"logprob", JsonLogprob(alt.logprob)}, {"bytes", Bytes(alt.text)}});
    }
    content.push_back({{"token", entry.chosen.text},
                       {"logprob", JsonLogprob(entry.chosen.logprob)},
                       {"bytes", Bytes(entry.chosen.text)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}};
}

std::string SseEvent(const nlohmann::json& data) { return "data: " + DumpJson(data) + "\n\n"; }

nlohmann::json StopReasonJson(const CompletionDelta& delta) {
  if (const auto* s = std::get_if<std::string>(&delta.stop_reason)) return *s;
  if (const auto* id = std::get_if<int32_t>(&delta.stop_reason)) return *id;
  return nullptr;
}

}  // namespace pagoda
