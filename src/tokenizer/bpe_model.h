// BpeModel: rank-based byte-pair encoding of one pre-tokenized word, as GPT-2,
// Llama-3, Qwen (byte-level) and Hugging Face's SentencePiece-style BPE
// (Llama-2/Mistral tokenizer.json, with byte fallback) use it: start from the
// word's characters and repeatedly merge the adjacent pair with the lowest
// merge rank (leftmost first on ties) until no listed pair remains. A heap
// over adjacent pairs keeps this O(n log n) in the word length, which matters
// when a whole SentencePiece-style input is one "word".
// Words repeat, so EncodeWord remembers recent results in a per-thread
// cache (no locks; a thread switching between models starts its cache over).
// Immutable after loading: EncodeWord is safe from any thread.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "tokenizer/vocab.h"

namespace pagoda {

struct BpeOptions {
  // A word that is itself a token is emitted whole, without merging
  // (Llama-3's "ignore_merges"; merges could otherwise split it).
  bool ignore_merges = false;
  // A character missing from the vocabulary becomes its <0xNN> byte tokens.
  bool byte_fallback = false;
  // Otherwise it becomes unk_id (consecutive unknowns fused into one when
  // fuse_unk), or is dropped when there is no unknown token; a dropped
  // character still keeps its neighbours from merging, as in llama.cpp.
  int32_t unk_id = -1;
  bool fuse_unk = false;
};

class BpeModel {
 public:
  explicit BpeModel(BpeOptions options);

  // Adds the next merge (its rank is the number of merges added before).
  // Merges whose parts or result the vocabulary lacks can never apply; they
  // are counted and skipped, as they are harmless.
  void AddMerge(const Vocab& vocab, std::string_view left, std::string_view right);
  // Parses "left right" (split at the first space after the first byte, so a
  // left part that is itself a space still works).
  void AddMergeLine(const Vocab& vocab, std::string_view line);

  void EncodeWord(const Vocab& vocab, std::string_view word, std::vector<int32_t>* out) const;

  size_t num_merges() const { return merges_.size(); }
  size_t skipped_merges() const { return skipped_; }
  const BpeOptions& options() const { return options_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  static uint64_t Key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void EncodeWordUncached(const Vocab& vocab, std::string_view word, std::vector<int32_t>* out) const;

  BpeOptions options_;
  uint64_t instance_id_;  // tells the per-thread caches of different models apart
  std::unordered_map<uint64_t, Merge> merges_;
  int32_t next_rank_ = 0;
  size_t skipped_ = 0;
};

}  // namespace pagoda
