// Tokenizer::Decode and DecodeAfter, shared by every tokenizer: each id's
// bytes come from AppendTokenBytes, and the result is made valid UTF-8 the
// way Hugging Face's decoders make it (from_utf8_lossy).

#include "tokenizer/incremental_detokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace pagoda {

std::string Tokenizer::Decode(std::span<const int32_t> ids, const DecodeOptions& options) const {
  DecodeState state;
  std::string bytes;
  for (int32_t id : ids) AppendTokenBytes(id, options, &state, &bytes);
  if (IsValidUtf8(bytes)) return bytes;
  std::string text;
  AppendUtf8Lossy(bytes, /*final=*/true, &text);
  return text;
}

std::string Tokenizer::DecodeAfter(std::span<const int32_t> context, std::span<const int32_t> ids,
                                   const DecodeOptions& options) const {
  IncrementalDetokenizer detok(*this, context, options);
  std::string text = detok.Add(ids);
  text += detok.Finish();
  return text;
}

}  // namespace pagoda
