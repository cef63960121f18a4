// Tokenizer: text <-> token ids for the vocabularies pagoda loads.
//
// Built from a GGUF file's `tokenizer.ggml.*` metadata (model `llama`:
// SentencePiece-style with scores and byte fallback; model `gpt2`: byte-level
// BPE with the pre-tokenizer regex named by `tokenizer.ggml.pre`) or from a
// Hugging Face `tokenizer.json` (BPE) plus `tokenizer_config.json`.
// Immutable after construction: Encode/Decode are safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pagoda {

class GgufFile;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  static StatusOr<std::unique_ptr<Tokenizer>> FromGguf(const GgufFile& gguf);
  // `path` is a tokenizer.json file, or a folder holding tokenizer.json (and
  // optionally tokenizer_config.json, which supplies bos/eos and add_bos).
  static StatusOr<std::unique_ptr<Tokenizer>> FromHf(const std::string& path);

  // Encodes text. add_special: add BOS (and EOS) as the model's settings ask
  // (GGUF add_bos_token / tokenizer.json post-processor). parse_special:
  // recognise special/added token text such as "<|eot_id|>" inside `text`.
  virtual std::vector<int32_t> Encode(std::string_view text, bool add_special,
                                      bool parse_special = false) const = 0;
  // Decodes ids to UTF-8 (byte tokens merged; SentencePiece's leading
  // space of the first token removed as SentencePiece does).
  virtual std::string Decode(const std::vector<int32_t>& ids, bool skip_special = true) const = 0;
  // The raw piece of one token as stored in the vocabulary.
  virtual std::string IdToPiece(int32_t id) const = 0;

  virtual int32_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;   // -1 when the vocabulary has none
  virtual int32_t eos_id() const = 0;   // -1 when the vocabulary has none
  virtual bool add_bos() const = 0;     // whether Encode(add_special) prepends BOS
  virtual bool IsSpecial(int32_t id) const = 0;  // control / special tokens
};

}  // namespace pagoda
