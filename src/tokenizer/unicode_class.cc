#include "tokenizer/unicode_class.h"

#include <locale.h>
#include <wctype.h>

#include <memory>
#include <mutex>
#include <string>

#include "tokenizer/regex.h"
#include "tokenizer/utf8.h"

namespace pagoda {
namespace {

constexpr uint32_t kMaxCp = 0x110000;

bool IsWhiteSpace(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

const std::vector<uint8_t>& Table() {
  static std::vector<uint8_t> table;
  static std::once_flag once;
  std::call_once(once, [] {
    table.assign(kMaxCp, 0);
    // Every scalar value once, in order; surrogates cannot be encoded and
    // are "Other" (Cs) by definition.
    std::string all;
    std::vector<uint32_t> cp_at;  // code point starting at each byte offset
    all.reserve(kMaxCp * 4);
    cp_at.reserve(kMaxCp * 4);
    for (uint32_t c = 0; c < kMaxCp; ++c) {
      if (c >= 0xD800 && c <= 0xDFFF) {
        table[c] |= kCpOther;
        continue;
      }
      const size_t before = all.size();
      AppendUtf8(c, &all);
      cp_at.resize(all.size(), 0);
      cp_at[before] = c;
    }
    const std::pair<const char*, uint8_t> classes[] = {
        {R"(\p{C}+)", kCpOther}, {R"(\p{Mn}+)", kCpMarkNonspacing}, {R"(\p{P}+)", kCpPunctuation}};
    for (const auto& [pattern, flag] : classes) {
      StatusOr<std::unique_ptr<Regex>> re = Regex::Compile(pattern);
      if (!re.ok()) continue;
      std::vector<std::pair<size_t, size_t>> runs;
      (*re)->FindAll(all, &runs);
      for (const auto& [b, e] : runs) {
        for (size_t pos = b; pos < e; pos += Utf8SeqLen(static_cast<uint8_t>(all[pos]))) {
          table[cp_at[pos]] |= flag;
        }
      }
    }
    for (uint32_t c = 0; c < kMaxCp; ++c) {
      if (IsWhiteSpace(c)) table[c] |= kCpWhitespace;
    }
  });
  return table;
}

locale_t Utf8Locale() {
  static locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return loc;
}

}  // namespace

uint8_t CodePointFlags(uint32_t cp) { return cp < kMaxCp ? Table()[cp] : static_cast<uint8_t>(kCpOther); }

uint32_t CodePointLower(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  locale_t loc = Utf8Locale();
  if (loc == static_cast<locale_t>(nullptr)) return cp;
  return static_cast<uint32_t>(towlower_l(static_cast<wint_t>(cp), loc));
}

}  // namespace pagoda
