#include "tokenizer/special_tokens.h"

#include <algorithm>

namespace pagoda {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

void SpecialTokenMatcher::Add(std::string text, int32_t id, bool special, bool lstrip,
                              bool rstrip) {
  if (text.empty()) return;
  const auto first = static_cast<unsigned char>(text[0]);
  entries_.push_back({std::move(text), id, special, lstrip, rstrip});
  auto& list = by_first_byte_[first];
  list.push_back(entries_.size() - 1);
  std::stable_sort(list.begin(), list.end(), [this](size_t a, size_t b) {
    return entries_[a].text.size() > entries_[b].text.size();
  });
}

std::vector<TextFragment> SpecialTokenMatcher::Split(std::string_view text,
                                                     bool parse_special) const {
  std::vector<TextFragment> out;
  size_t text_begin = 0;  // start of the pending raw-text fragment
  size_t pos = 0;
  auto flush = [&](size_t end) {
    if (end > text_begin) out.push_back({text.substr(text_begin, end - text_begin), -1, text_begin});
  };
  while (pos < text.size()) {
    const Entry* hit = nullptr;
    if (!by_first_byte_.empty()) {
      auto it = by_first_byte_.find(static_cast<unsigned char>(text[pos]));
      if (it != by_first_byte_.end()) {
        for (size_t idx : it->second) {
          const Entry& e = entries_[idx];
          if (e.special && !parse_special) continue;
          if (text.compare(pos, e.text.size(), e.text) == 0) {
            hit = &e;
            break;
          }
        }
      }
    }
    if (hit == nullptr) {
      ++pos;
      continue;
    }
    size_t end_of_text = pos;
    if (hit->lstrip) {
      while (end_of_text > text_begin && IsSpace(text[end_of_text - 1])) --end_of_text;
    }
    flush(end_of_text);
    out.push_back({std::string_view(), hit->id, pos});
    pos += hit->text.size();
    if (hit->rstrip) {
      while (pos < text.size() && IsSpace(text[pos])) ++pos;
    }
    text_begin = pos;
  }
  flush(text.size());
  return out;
}

}  // namespace pagoda
