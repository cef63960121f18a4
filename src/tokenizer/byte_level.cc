#include "tokenizer/byte_level.h"

#include <array>
#include <cstdint>

#include "tokenizer/utf8.h"

namespace pagoda {
namespace {

struct ByteTables {
  std::array<std::string, 256> to_text;  // byte -> UTF-8 of its character
  std::array<int16_t, 324> to_byte;      // code point (all < 324) -> byte, or -1

  ByteTables() {
    to_byte.fill(-1);
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const int cp = printable(b) ? b : next++;
      AppendUtf8(static_cast<uint32_t>(cp), &to_text[b]);
      to_byte[cp] = static_cast<int16_t>(b);
    }
  }
};

const ByteTables& Tables() {
  static const ByteTables tables;
  return tables;
}

}  // namespace

void ByteLevelEncode(std::string_view bytes, std::string* out) {
  const ByteTables& t = Tables();
  for (char c : bytes) *out += t.to_text[static_cast<uint8_t>(c)];
}

void ByteLevelDecode(std::string_view text, std::string* out) {
  const ByteTables& t = Tables();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t len = 1;
    const int32_t cp = DecodeUtf8(text, pos, &len);
    if (cp >= 0 && cp < static_cast<int32_t>(t.to_byte.size()) && t.to_byte[cp] >= 0) {
      out->push_back(static_cast<char>(t.to_byte[cp]));
    } else {
      out->append(text.substr(pos, len));
    }
    pos += len;
  }
}

}  // namespace pagoda
