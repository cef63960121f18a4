#include "tokenizer/wordpiece_model.h"

#include <algorithm>
#include <utility>

#include "tokenizer/utf8.h"

namespace pagoda {

WordPieceModel::WordPieceModel(const Vocab& vocab, WordPieceOptions options) : options_(std::move(options)) {
  for (int32_t id = 0; id < vocab.size(); ++id) max_piece_bytes_ = std::max(max_piece_bytes_, vocab.Piece(id).size());
}

void WordPieceModel::EncodeWord(const Vocab& vocab, std::string_view word, std::vector<int32_t>* out) const {
  if (word.empty()) return;
  const size_t first_out = out->size();
  auto unknown = [&] {
    out->resize(first_out);
    if (options_.unk_id >= 0) out->push_back(options_.unk_id);
  };
  if (options_.max_input_chars_per_word > 0) {
    size_t chars = 0;
    for (char c : word) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (chars > options_.max_input_chars_per_word) return unknown();
  }
  std::string candidate;
  for (size_t start = 0; start < word.size();) {
    const std::string& prefix = start == 0 ? options_.word_prefix : options_.continuing_prefix;
    // Longest first; ends always fall on character boundaries.
    size_t end = std::min(word.size(), start + max_piece_bytes_);
    while (end < word.size() && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) ++end;
    int32_t found = -1;
    size_t found_end = 0;
    while (end > start) {
      candidate.assign(prefix).append(word.substr(start, end - start));
      const int32_t id = vocab.Find(candidate);
      if (id >= 0) {
        found = id;
        found_end = end;
        break;
      }
      --end;
      while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
    }
    if (found < 0) return unknown();
    out->push_back(found);
    start = found_end;
  }
}

}  // namespace pagoda
