#include "tokenizer/special_tokens.h"

namespace pagoda {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

void SpecialTokenMatcher::Add(std::string text, int32_t id, bool special, bool lstrip,
                              bool rstrip) {
  if (text.empty()) return;
  first_byte_[static_cast<unsigned char>(text[0])] = true;
  int32_t node = 0;
  for (char c : text) {
    auto [it, inserted] = edges_.try_emplace(Edge(node, static_cast<unsigned char>(c)),
                                             static_cast<int32_t>(node_entry_.size()));
    if (inserted) node_entry_.push_back(-1);
    node = it->second;
  }
  // The same text twice keeps the first entry.
  if (node_entry_[node] < 0) node_entry_[node] = static_cast<int32_t>(entries_.size());
  entries_.push_back({std::move(text), id, special, lstrip, rstrip});
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
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    // Longest usable token starting at pos.
    const Entry* hit = nullptr;
    int32_t node = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      auto it = edges_.find(Edge(node, static_cast<unsigned char>(text[i])));
      if (it == edges_.end()) break;
      node = it->second;
      const int32_t e = node_entry_[node];
      if (e >= 0 && (parse_special || !entries_[e].special)) hit = &entries_[e];
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
