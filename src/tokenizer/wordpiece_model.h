// WordPieceModel: BERT's greedy longest-match-first subword split of one
// pre-tokenized word: take the longest vocabulary piece that starts the
// word, then the longest continuation piece from there, and so on; if some
// position has no piece, the whole word becomes the unknown token.
// Hugging Face marks continuations ("##ing") and leaves word starts bare;
// llama.cpp's GGUF `bert` vocabularies mark word starts ("▁play") and
// leave continuations bare. Both are prefixes here.
// Immutable after construction: EncodeWord is safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace pagoda {

struct WordPieceOptions {
  std::string word_prefix;        // "▁" for GGUF vocabularies
  std::string continuing_prefix;  // "##" for Hugging Face ones
  int32_t unk_id = -1;
  // Longer words (in characters) are unknown outright; 0: no limit.
  size_t max_input_chars_per_word = 100;
};

class WordPieceModel {
 public:
  WordPieceModel(const Vocab& vocab, WordPieceOptions options);

  void EncodeWord(const Vocab& vocab, std::string_view word, std::vector<int32_t>* out) const;
  const WordPieceOptions& options() const { return options_; }

 private:
  WordPieceOptions options_;
  size_t max_piece_bytes_ = 0;  // bounds the longest-match search
};

}  // namespace pagoda
