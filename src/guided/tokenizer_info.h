// TokenizerInfo: what structured output needs to know about a vocabulary,
// computed once per tokenizer and shared by every grammar compiled for it:
// the exact bytes each token appends to the output, which tokens are special
// (never produced by a grammar) and which stop generation (EOS, allowed only
// where the grammar can end), and the non-special tokens sorted by their
// bytes with the common-prefix length of each with its predecessor, so a
// walk over the vocabulary can share work between tokens with a common
// prefix (a trie laid out flat).
// Thread-safety: immutable after Create; share it freely between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pagoda {

class Tokenizer;

class TokenizerInfo {
 public:
  struct Options {
    // Tokens that end generation besides the tokenizer's EOS (for example
    // Llama-3's <|eot_id|>).
    std::vector<int32_t> stop_token_ids;
    // Size of the model's logit vector when it exceeds the tokenizer's
    // vocabulary (padding ids are never allowed); 0 means vocab_size().
    int32_t mask_vocab_size = 0;
  };

  static StatusOr<std::shared_ptr<const TokenizerInfo>> Create(const Tokenizer& tokenizer,
                                                               const Options& options);
  static StatusOr<std::shared_ptr<const TokenizerInfo>> Create(const Tokenizer& tokenizer) {
    return Create(tokenizer, Options{});
  }
  // From explicit token bytes (tests, or vocabularies pagoda does not load):
  // token i appends token_bytes[i]; `special` marks tokens a grammar never
  // produces; stop tokens are implicitly special.
  static StatusOr<std::shared_ptr<const TokenizerInfo>> FromTokenBytes(
      std::vector<std::string> token_bytes, const std::vector<int32_t>& special_ids,
      const std::vector<int32_t>& stop_ids, int32_t mask_vocab_size = 0);

  // Number of ids the bitmask covers (>= the tokenizer's vocabulary).
  int32_t vocab_size() const { return vocab_size_; }
  // 32-bit words in a token bitmask.
  int32_t bitmask_words() const { return (vocab_size_ + 31) / 32; }
  std::string_view TokenBytes(int32_t id) const {
    return std::string_view(bytes_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  bool IsSpecial(int32_t id) const { return special_[id] != 0; }
  bool IsStop(int32_t id) const { return stop_[id] != 0; }
  const std::vector<int32_t>& stop_token_ids() const { return stop_ids_; }

  // Tokens a grammar can produce (not special, not stop, not empty), sorted
  // by bytes; sorted_lcp(i) is the common-prefix length of sorted token i
  // with sorted token i - 1 (0 for i == 0).
  int32_t num_sorted() const { return static_cast<int32_t>(sorted_ids_.size()); }
  int32_t sorted_id(int32_t i) const { return sorted_ids_[i]; }
  int32_t sorted_lcp(int32_t i) const { return sorted_lcp_[i]; }
  // The first sorted index after the run of tokens sharing sorted token i's
  // first byte (lets a walk skip a dead first byte in one step).
  int32_t first_byte_end(int32_t i) const { return first_byte_end_[i]; }
  int32_t max_token_bytes() const { return max_token_bytes_; }

 private:
  TokenizerInfo() = default;
  void Finish(int32_t mask_vocab_size);

  int32_t vocab_size_ = 0;
  std::string bytes_;
  std::vector<uint32_t> offsets_;
  std::vector<uint8_t> special_;
  std::vector<uint8_t> stop_;
  std::vector<int32_t> stop_ids_;
  std::vector<int32_t> sorted_ids_;
  std::vector<int32_t> sorted_lcp_;
  std::vector<int32_t> first_byte_end_;
  int32_t max_token_bytes_ = 0;
};

}  // namespace pagoda
