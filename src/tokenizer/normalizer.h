// Normalizer: the text rewrites applied to each raw-text fragment before
// pre-tokenization, in the manner of Hugging Face's normalizers (NFC,
// Prepend, Replace, Strip, BertNormalizer, Sequence). SentencePiece's whitespace escaping
// (dummy-prefix "▁" and ' ' -> "▁") is Prepend + Replace here.
// Immutable after construction: Apply is safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pagoda {

class Normalizer {
 public:
  void AddNfc();
  // Prepends `s` to a non-empty fragment.
  void AddPrepend(std::string s);
  // Replaces every occurrence of the literal `from` by `to`.
  void AddReplace(std::string from, std::string to);
  // Removes up to all leading/trailing whitespace (HF Strip).
  void AddStrip(bool left, bool right);
  // Hugging Face BertNormalizer, in its order: drop control characters and
  // map whitespace to ' ' (clean_text), put spaces around CJK ideographs,
  // strip accents (NFD, then drop nonspacing marks), lowercase.
  void AddBert(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase);

  bool empty() const { return steps_.empty(); }
  std::string Apply(std::string_view text) const;

 private:
  enum class Kind { kNfc, kPrepend, kReplace, kStrip, kBert };
  struct Step {
    Kind kind;
    std::string a, b;
    bool left = false, right = false;
    // kBert: clean_text, handle_chinese_chars, strip_accents, lowercase
    bool flags[4] = {false, false, false, false};
  };
  std::vector<Step> steps_;
};

// Unicode Normalization Form C (canonical decomposition, then canonical
// composition). Invalid UTF-8 bytes are passed through unchanged and block
// composition across them.
std::string NfcNormalize(std::string_view text);

}  // namespace pagoda
