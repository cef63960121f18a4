// GPT-2's byte-level alphabet: every byte 0..255 is given a printable Unicode
// character, so that byte-level BPE vocabularies are plain strings. Bytes that
// are printable Latin-1 ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves; the
// other 68 map, in byte order, to U+0100, U+0101, ... (so ' ' becomes 'Ġ').
// The tables are built once, immutable afterwards: safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace pagoda {

// Appends the byte-level form of `bytes` to *out.
void ByteLevelEncode(std::string_view bytes, std::string* out);

// Appends the bytes that the byte-level string `text` stands for. Characters
// outside the alphabet (an added token's own text, say) are copied as UTF-8.
void ByteLevelDecode(std::string_view text, std::string* out);

}  // namespace pagoda
