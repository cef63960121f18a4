// Unicode facts the BERT normaliser and pre-tokenizer need, per code point:
// White_Space, the general categories Other (C*), Nonspacing Mark (Mn) and
// Punctuation (P*), simple lowercase, and canonical decomposition.
// The category table is built once, on first use, by matching PCRE2's
// Unicode properties over every code point, so it follows the same Unicode
// version as the regex pre-tokenizers. Lowercase comes from the C library's
// C.UTF-8 locale (ASCII only if that locale is missing).
// Read-only after the first call (std::call_once): safe from any thread.
#pragma once

#include <cstdint>
#include <vector>

namespace pagoda {

enum CodePointFlag : uint8_t {
  kCpWhitespace = 1,
  kCpOther = 2,             // Cc, Cf, Cs, Co, Cn
  kCpMarkNonspacing = 4,    // Mn
  kCpPunctuation = 8,       // Pc, Pd, Ps, Pe, Pi, Pf, Po
};

uint8_t CodePointFlags(uint32_t cp);
uint32_t CodePointLower(uint32_t cp);
// The full canonical decomposition of `cp` (itself when it has none),
// appended to *out. Defined with the NFC tables in nfc.cc.
void CanonicalDecompose(uint32_t cp, std::vector<uint32_t>* out);

}  // namespace pagoda
