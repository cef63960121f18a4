// SpmModel: SentencePiece-BPE encoding by piece scores, as llama.cpp's
// llm_tokenizer_spm does for GGUF "llama" vocabularies: split the (already
// space-escaped) text into UTF-8 characters, then repeatedly merge the
// adjacent pair whose concatenation is a vocabulary piece with the highest
// score (leftmost first on ties), using a heap over adjacent pairs. Characters
// that end up as no piece are emitted as their <0xNN> byte tokens (byte
// fallback), else as the unknown token.
// When no piece has "▁" after a non-"▁" character (true of SentencePiece
// vocabularies trained with split_by_whitespace, Llama's among them), no
// merge can cross the start of a "▁" run, so each such word is merged on
// its own: the same result, with small heaps instead of one over the text.
// Immutable after construction: Encode is safe from any thread.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace pagoda {

class SpmModel {
 public:
  SpmModel(const Vocab& vocab, int32_t unk_id);

  void Encode(const Vocab& vocab, std::string_view text, std::vector<int32_t>* out) const;

 private:
  void EncodeWord(const Vocab& vocab, std::string_view text, std::vector<int32_t>* out) const;
  int32_t unk_id_;
  bool split_at_spaces_ = false;
};

}  // namespace pagoda
