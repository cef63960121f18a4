// Vocab: the token table shared by every tokenizer model: id -> piece, piece
// -> id (hash map), GGUF-style token types and optional SentencePiece scores.
// Built once by a loader, then read-only: safe to share between threads.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pagoda {

// The values of GGUF's tokenizer.ggml.token_type.
enum class TokenType : uint8_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,      // BOS, EOS, <|im_start|>...: special, skipped by Decode
  kUserDefined = 4,  // added tokens matched in raw text even without parse_special
  kUnused = 5,
  kByte = 6,         // SentencePiece byte fallback <0xNN>
};

// Transparent hashing lets us look up a string_view without building a string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

class Vocab {
 public:
  Vocab() { byte_tokens_.fill(-1); }

  // Appends a token; returns its id. A repeated piece keeps the first id in
  // the lookup map (as llama.cpp and Hugging Face do) but still gets an id.
  int32_t Add(std::string piece, TokenType type, float score = 0.0f);

  // Grows the table to `n` entries (holes filled with empty, undefined tokens),
  // for loaders that receive tokens by id in any order.
  void Resize(size_t n);
  // Sets token `id` (< size()).
  void Set(int32_t id, std::string piece, TokenType type, float score = 0.0f);

  int32_t Find(std::string_view piece) const {
    auto it = piece_to_id_.find(piece);
    return it == piece_to_id_.end() ? -1 : it->second;
  }
  bool Valid(int32_t id) const { return id >= 0 && id < size(); }
  int32_t size() const { return static_cast<int32_t>(pieces_.size()); }
  const std::string& Piece(int32_t id) const { return pieces_[id]; }
  TokenType Type(int32_t id) const { return types_[id]; }
  float Score(int32_t id) const { return scores_[id]; }
  void SetType(int32_t id, TokenType t) { types_[id] = t; }

  // SentencePiece byte-fallback token for byte `b` ("<0xNN>"), or -1.
  int32_t ByteToken(uint8_t b) const { return byte_tokens_[b]; }
  // Fills the byte-fallback table from the pieces; call after loading.
  void IndexByteTokens();

 private:
  std::vector<std::string> pieces_;
  std::vector<TokenType> types_;
  std::vector<float> scores_;
  StringMap<int32_t> piece_to_id_;
  std::array<int32_t, 256> byte_tokens_;
};

}  // namespace pagoda
