#include "tokenizer/incremental_detokenizer.h"

#include "tokenizer/utf8.h"

namespace pagoda {

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tokenizer,
                                               std::span<const int32_t> prompt_ids,
                                               DecodeOptions options)
    : tokenizer_(&tokenizer), options_(options) {
  // The state after the prompt is the state its last decoded token leaves:
  // walk back past skipped tokens instead of decoding the whole prompt.
  std::string scratch;
  for (size_t i = prompt_ids.size(); i-- > 0;) {
    DecodeState s;
    tokenizer.AppendTokenBytes(prompt_ids[i], options_, &s, &scratch);
    if (s.started) {
      state_ = s;
      break;
    }
  }
}

std::string IncrementalDetokenizer::Drain(bool final) {
  std::string delta;
  const size_t used = AppendUtf8Lossy(pending_, final, &delta);
  pending_.erase(0, used);
  text_ += delta;
  return delta;
}

std::string IncrementalDetokenizer::Add(int32_t id) {
  tokenizer_->AppendTokenBytes(id, options_, &state_, &pending_);
  ++num_tokens_;
  return Drain(false);
}

std::string IncrementalDetokenizer::Add(std::span<const int32_t> ids) {
  for (int32_t id : ids) tokenizer_->AppendTokenBytes(id, options_, &state_, &pending_);
  num_tokens_ += ids.size();
  return Drain(false);
}

std::string IncrementalDetokenizer::Finish() { return Drain(true); }

}  // namespace pagoda
