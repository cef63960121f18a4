#include "tokenizer/vocab.h"

#include <cstdio>

namespace pagoda {

int32_t Vocab::Add(std::string piece, TokenType type, float score) {
  const auto id = static_cast<int32_t>(pieces_.size());
  piece_to_id_.emplace(piece, id);
  pieces_.push_back(std::move(piece));
  types_.push_back(type);
  scores_.push_back(score);
  return id;
}

void Vocab::Resize(size_t n) {
  pieces_.resize(n);
  types_.resize(n, TokenType::kUndefined);
  scores_.resize(n, 0.0f);
}

void Vocab::Set(int32_t id, std::string piece, TokenType type, float score) {
  auto it = piece_to_id_.find(pieces_[id]);
  if (it != piece_to_id_.end() && it->second == id) piece_to_id_.erase(it);
  piece_to_id_.emplace(piece, id);
  pieces_[id] = std::move(piece);
  types_[id] = type;
  scores_[id] = score;
}

void Vocab::IndexByteTokens() {
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    byte_tokens_[b] = Find(buf);
  }
}

}  // namespace pagoda
