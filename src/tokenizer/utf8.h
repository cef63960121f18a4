// Small UTF-8 helpers for the tokenizer: character lengths, decoding one code
// point (invalid input reported, never read past the end) and encoding.
// Stateless free functions: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pagoda {

// Length in bytes of the UTF-8 sequence that starts with `lead` (1 for a
// stray continuation byte or an invalid lead, so a scan always advances).
inline size_t Utf8SeqLen(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

// Length of the character at s[pos], clamped to the bytes that remain: the
// tokenizers treat a truncated sequence at the end as one (odd) character,
// as llama.cpp does, so that no input byte is ever dropped.
inline size_t Utf8CharLenAt(std::string_view s, size_t pos) {
  size_t n = Utf8SeqLen(static_cast<uint8_t>(s[pos]));
  return n < s.size() - pos ? n : s.size() - pos;
}

// Decodes the code point at s[pos]; stores its length in *len. Returns -1 for
// an invalid or truncated sequence (then *len is 1).
int32_t DecodeUtf8(std::string_view s, size_t pos, size_t* len);

void AppendUtf8(uint32_t cp, std::string* out);

// Appends `bytes` to *out as valid UTF-8: each maximal invalid subpart (a
// bad byte, or the start of a sequence cut short) becomes one U+FFFD, as
// Rust's String::from_utf8_lossy does inside Hugging Face's decoders (and
// Python's errors="replace"). With final == false a trailing sequence that
// later bytes could still complete is left unconsumed, so streaming the
// bytes in pieces gives the same text as converting them at once.
// Returns the number of bytes consumed.
size_t AppendUtf8Lossy(std::string_view bytes, bool final, std::string* out);

// True when `s` is entirely well-formed UTF-8.
bool IsValidUtf8(std::string_view s);

}  // namespace pagoda
