// IncrementalDetokenizer: turns one request's output token ids, fed one or
// several at a time, into the text deltas a streaming response sends.
//
// - A delta is always valid UTF-8: a token that ends inside a character
//   (byte-level BPE, SentencePiece byte fallback) is held back until the
//   character completes; a sequence that can no longer complete becomes
//   U+FFFD, exactly where Tokenizer::Decode puts one.
// - The deltas concatenate to Tokenizer::DecodeAfter(prompt, output), which
//   for an empty prompt is Decode(output). After a prompt, the first output
//   token keeps its leading space (vLLM primes its detokenizer with the
//   prompt's last tokens for the same reason): "Once upon" + " a time", not
//   "Once upon" + "a time".
// - skip_special_tokens and spaces_between_special_tokens act as in Decode.
//
// Decoding is local to each token (its bytes, plus whether it is the first
// decoded token and whether the one before was an added token), so the state
// is a few bytes and each Add costs O(new bytes), however long the output:
// no re-decoding of a window of earlier tokens as vLLM's string diff does.
//
// Not thread-safe: one instance per request, used by one thread at a time.
// The Tokenizer must outlive it (Tokenizer itself is immutable and shared).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "tokenizer/tokenizer.h"

namespace pagoda {

class IncrementalDetokenizer {
 public:
  // prompt_ids: the tokens the output continues (the whole prompt, or at
  // least its tail; empty when the output starts a text). Only the decode
  // state at its end matters; text of an incomplete character at the very
  // end of the prompt is not carried over.
  explicit IncrementalDetokenizer(const Tokenizer& tokenizer,
                                  std::span<const int32_t> prompt_ids = {},
                                  DecodeOptions options = {});

  // Appends output ids; returns the new text they complete (possibly empty).
  std::string Add(int32_t id);
  std::string Add(std::span<const int32_t> ids);
  // The output is over: returns the held-back tail (an incomplete character
  // becomes U+FFFD, as Decode renders it). Safe to call more than once.
  std::string Finish();

  // Everything returned so far, concatenated (for stop-string checks).
  const std::string& text() const { return text_; }
  size_t num_tokens() const { return num_tokens_; }
  // Bytes of an unfinished character that Add has not returned yet.
  size_t num_held_bytes() const { return pending_.size(); }

 private:
  std::string Drain(bool final);

  const Tokenizer* tokenizer_;
  DecodeOptions options_;
  DecodeState state_;
  std::string pending_;  // decoded bytes not yet returned: < 4, an unfinished character
  std::string text_;
  size_t num_tokens_ = 0;
};

}  // namespace pagoda
