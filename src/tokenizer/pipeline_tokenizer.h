// PipelineTokenizer: the one Tokenizer implementation, assembled by the GGUF
// and Hugging Face loaders from parts: added/special-token matching, a
// normaliser, a pre-tokenizer, the byte-level alphabet, and a model (score-
// based SentencePiece BPE or rank-based BPE); decoding reverses the byte
// mapping, SentencePiece's "▁" escaping or WordPiece's "##" joining. New
// formats (Unigram) add a model kind here rather than a new class hierarchy.
// Immutable after construction: Encode/Decode are safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/bpe_model.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/spm_model.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"
#include "tokenizer/wordpiece_model.h"

namespace pagoda {

enum class DecodeStyle {
  kByteLevel,      // pieces are GPT-2 byte-alphabet strings
  kSentencePiece,  // "▁" is a space, <0xNN> tokens are bytes
  kWordPiece,      // words joined by spaces, "##" continuations glued on
};

struct TokenizerParts {
  Vocab vocab;
  SpecialTokenMatcher specials;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  bool byte_level = false;  // map each word's bytes to the GPT-2 alphabet first
  // Exactly one model.
  std::unique_ptr<SpmModel> spm;
  std::unique_ptr<BpeModel> bpe;
  std::unique_ptr<WordPieceModel> wordpiece;
  // What Encode(add_special=true) puts around the ids.
  std::vector<int32_t> prefix_ids;
  std::vector<int32_t> suffix_ids;
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  DecodeStyle decode_style = DecodeStyle::kByteLevel;
  // SentencePiece's dummy prefix: drop one leading space of the decoded text.
  bool strip_leading_space = false;
  // kWordPiece: the continuation prefix, and Hugging Face's cleanup (no
  // space before . , ! ? and English contractions).
  std::string wordpiece_prefix = "##";
  bool wordpiece_cleanup = true;
};

class PipelineTokenizer final : public Tokenizer {
 public:
  explicit PipelineTokenizer(TokenizerParts parts);

  std::vector<int32_t> Encode(std::string_view text, bool add_special,
                              bool parse_special = false) const override;
  void AppendTokenBytes(int32_t id, const DecodeOptions& options, DecodeState* state,
                        std::string* out) const override;
  std::string IdToPiece(int32_t id) const override;

  int32_t vocab_size() const override { return p_.vocab.size(); }
  int32_t bos_id() const override { return p_.bos_id; }
  int32_t eos_id() const override { return p_.eos_id; }
  bool add_bos() const override;
  bool IsSpecial(int32_t id) const override;

  const Vocab& vocab() const { return p_.vocab; }

 private:
  void EncodeText(std::string_view text, bool first_fragment, std::vector<int32_t>* out) const;
  void AppendWordPiece(const std::string& piece, bool plain, bool started, std::string* out) const;
  TokenizerParts p_;
};

}  // namespace pagoda
