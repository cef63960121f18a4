// SpecialTokenMatcher: finds added/special token texts ("<|eot_id|>",
// "<think>", ...) in raw input before any normalisation or pre-tokenization,
// so they become single ids and never get split by the regexes.
// Matching is leftmost-longest (as Hugging Face's added-vocabulary matcher),
// walking a byte trie from each position, so the cost does not grow with the
// number of tokens (Llama-3 has 256 that all start with "<|").
// Tokens marked `special` (GGUF control types, HF "special": true) only match
// when the caller asks for parse_special; the others (GGUF user-defined, HF
// non-special added tokens) always match, as in both llama.cpp and HF.
// Immutable after construction: Split is safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pagoda {

struct TextFragment {
  std::string_view text;  // when id < 0
  int32_t id = -1;        // a matched token
  size_t offset = 0;      // where the fragment starts in the input
};

class SpecialTokenMatcher {
 public:
  // lstrip/rstrip: the match also swallows whitespace on that side (HF).
  void Add(std::string text, int32_t id, bool special, bool lstrip = false, bool rstrip = false);
  bool empty() const { return entries_.empty(); }

  // Cuts `text` into raw-text fragments and token fragments.
  std::vector<TextFragment> Split(std::string_view text, bool parse_special) const;

 private:
  struct Entry {
    std::string text;
    int32_t id;
    bool special, lstrip, rstrip;
  };
  static uint64_t Edge(int32_t node, unsigned char byte) {
    return (static_cast<uint64_t>(node) << 8) | byte;
  }
  std::vector<Entry> entries_;
  // Trie over the token texts: (node, byte) -> child node; node 0 is the root.
  std::unordered_map<uint64_t, int32_t> edges_;
  std::vector<int32_t> node_entry_{-1};  // entry ending at each node, or -1
  // Bytes that start some token: most positions are skipped without a
  // hash lookup.
  bool first_byte_[256] = {};
};

}  // namespace pagoda
