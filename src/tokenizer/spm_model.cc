#include "tokenizer/spm_model.h"

#include <queue>

#include "tokenizer/utf8.h"

namespace pagoda {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 "▁"

}  // namespace

SpmModel::SpmModel(const Vocab& vocab, int32_t unk_id) : unk_id_(unk_id) {
  split_at_spaces_ = true;
  for (int32_t id = 0; id < vocab.size() && split_at_spaces_; ++id) {
    const std::string_view p = vocab.Piece(id);
    // Look for "▁" preceded by something other than "▁".
    for (size_t pos = p.find(kSpaceMark, 1); pos != std::string_view::npos;
         pos = p.find(kSpaceMark, pos + 1)) {
      if (pos < kSpaceMark.size() || p.substr(pos - kSpaceMark.size(), kSpaceMark.size()) != kSpaceMark) {
        split_at_spaces_ = false;
        break;
      }
    }
  }
}

void SpmModel::Encode(const Vocab& vocab, std::string_view text,
                      std::vector<int32_t>* out) const {
  if (!split_at_spaces_) {
    EncodeWord(vocab, text, out);
    return;
  }
  // Cut before every "▁" that follows a character other than "▁", stepping
  // by characters exactly as EncodeWord splits them (so invalid UTF-8 is
  // cut at the same places too).
  size_t begin = 0;
  bool prev_mark = true;
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = Utf8CharLenAt(text, pos);
    const bool mark = text.compare(pos, len, kSpaceMark) == 0;
    if (mark && !prev_mark && pos > begin) {
      EncodeWord(vocab, text.substr(begin, pos - begin), out);
      begin = pos;
    }
    prev_mark = mark;
    pos += len;
  }
  EncodeWord(vocab, text.substr(begin), out);
}

void SpmModel::EncodeWord(const Vocab& vocab, std::string_view text,
                          std::vector<int32_t>* out) const {
  if (text.empty()) return;
  // Symbols are byte ranges of `text`; merging only ever joins neighbours,
  // so a symbol stays one contiguous range.
  struct Symbol {
    uint32_t begin, len;  // len 0: merged away
    int32_t prev, next;
  };
  std::vector<Symbol> syms;
  syms.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = Utf8CharLenAt(text, pos);
    const auto idx = static_cast<int32_t>(syms.size());
    syms.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(len), idx - 1, idx + 1});
    pos += len;
  }
  syms.back().next = -1;

  struct Bigram {
    float score;
    int32_t left, right;
    uint32_t len;  // combined length when pushed; a mismatch marks it stale
    bool operator<(const Bigram& o) const {
      // std::priority_queue pops the "largest": best score, then leftmost.
      return score != o.score ? score < o.score : left > o.left;
    }
  };
  std::priority_queue<Bigram> heap;
  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const uint32_t len = syms[left].len + syms[right].len;
    const int32_t id = vocab.Find(text.substr(syms[left].begin, len));
    if (id < 0) return;
    heap.push({vocab.Score(id), left, right, len});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(syms.size()); ++i) try_add(i - 1, i);

  while (!heap.empty()) {
    const Bigram b = heap.top();
    heap.pop();
    Symbol& l = syms[b.left];
    Symbol& r = syms[b.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.len) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  for (int32_t i = 0; i >= 0; i = syms[i].next) {
    const std::string_view piece = text.substr(syms[i].begin, syms[i].len);
    const int32_t id = vocab.Find(piece);
    if (id >= 0) {
      out->push_back(id);
      continue;
    }
    for (char c : piece) {
      int32_t byte_id = vocab.ByteToken(static_cast<uint8_t>(c));
      if (byte_id < 0) byte_id = vocab.Find(std::string_view(&c, 1));
      if (byte_id < 0) byte_id = unk_id_;
      if (byte_id >= 0) out->push_back(byte_id);
    }
  }
}

}  // namespace pagoda
