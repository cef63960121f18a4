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
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pagoda {

class GgufFile;

struct DecodeOptions {
  // Leave out control/special tokens (BOS, EOS, <|im_end|>...).
  bool skip_special_tokens = true;
  // Put a space between an added token and the text next to it, as vLLM's
  // and transformers' slow decoders do. Hugging Face's fast tokenizers
  // (which pagoda follows) never insert one, hence off by default even
  // though vLLM's SamplingParams default is true: vLLM honours the flag
  // only for slow tokenizers.
  bool spaces_between_special_tokens = false;
};

// What a streaming decode carries from one token to the next.
struct DecodeState {
  // A token has been decoded: SentencePiece's dummy-prefix space is removed
  // only from the first token of a text, never from one that continues a
  // prompt or earlier output.
  bool started = false;
  // The previous decoded token was an added token (for the spaces option).
  bool prev_added = false;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  static StatusOr<std::unique_ptr<Tokenizer>> FromGguf(const GgufFile& gguf);
  // `path` is a tokenizer.json file, or a folder holding tokenizer.json (and
  // optionally tokenizer_config.json, which supplies bos/eos and add_bos).
  static StatusOr<std::unique_ptr<Tokenizer>> FromHf(const std::string& path);
  // Whatever a user points at: a GGUF file, a tokenizer.json, or a model or
  // tokenizer folder (its tokenizer.json, else its only .gguf file).
  static StatusOr<std::unique_ptr<Tokenizer>> FromPath(const std::string& path);

  // Encodes text. add_special: add BOS (and EOS) as the model's settings ask
  // (GGUF add_bos_token / tokenizer.json post-processor). parse_special:
  // recognise special/added token text such as "<|eot_id|>" inside `text`.
  virtual std::vector<int32_t> Encode(std::string_view text, bool add_special,
                                      bool parse_special = false) const = 0;
  // Decodes ids to valid UTF-8, as Hugging Face does: byte tokens merged,
  // SentencePiece's dummy-prefix space of the first token removed, and any
  // invalid or incomplete UTF-8 sequence replaced by U+FFFD.
  std::string Decode(std::span<const int32_t> ids, const DecodeOptions& options) const;
  std::string Decode(const std::vector<int32_t>& ids, bool skip_special = true) const {
    return Decode(std::span<const int32_t>(ids), DecodeOptions{.skip_special_tokens = skip_special});
  }
  // The text that `ids` add after `context` (the prompt of a completion):
  // Decode(context + ids) minus Decode(context) when the context ends on a
  // whole character. Unlike Decode(ids), the first id keeps its leading
  // space. Equals the concatenated deltas of an IncrementalDetokenizer
  // built with the same context.
  std::string DecodeAfter(std::span<const int32_t> context, std::span<const int32_t> ids,
                          const DecodeOptions& options) const;
  // The raw bytes one token adds to a decode in progress (possibly part of a
  // UTF-8 character); updates *state. The building block of Decode and of
  // streaming detokenization.
  virtual void AppendTokenBytes(int32_t id, const DecodeOptions& options, DecodeState* state,
                                std::string* out) const = 0;
  // The raw piece of one token as stored in the vocabulary.
  virtual std::string IdToPiece(int32_t id) const = 0;

  virtual int32_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;   // -1 when the vocabulary has none
  virtual int32_t eos_id() const = 0;   // -1 when the vocabulary has none
  virtual bool add_bos() const = 0;     // whether Encode(add_special) prepends BOS
  virtual bool IsSpecial(int32_t id) const = 0;  // control / special tokens
};

}  // namespace pagoda
