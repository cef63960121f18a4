#include "tokenizer/normalizer.h"

#include <utility>
#include <vector>

#include "tokenizer/unicode_class.h"
#include "tokenizer/utf8.h"

namespace pagoda {

void Normalizer::AddNfc() { steps_.push_back({Kind::kNfc, {}, {}}); }

void Normalizer::AddPrepend(std::string s) { steps_.push_back({Kind::kPrepend, std::move(s), {}}); }

void Normalizer::AddReplace(std::string from, std::string to) {
  steps_.push_back({Kind::kReplace, std::move(from), std::move(to)});
}

void Normalizer::AddStrip(bool left, bool right) {
  Step s{Kind::kStrip, {}, {}};
  s.left = left;
  s.right = right;
  steps_.push_back(std::move(s));
}

void Normalizer::AddBert(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase) {
  Step s{Kind::kBert, {}, {}};
  s.flags[0] = clean_text;
  s.flags[1] = handle_chinese_chars;
  s.flags[2] = strip_accents;
  s.flags[3] = lowercase;
  steps_.push_back(std::move(s));
}

namespace {

bool IsChineseChar(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::string BertNormalize(std::string_view text, const bool* flags) {
  std::string out;
  out.reserve(text.size() + 8);
  std::vector<uint32_t> parts;
  for (size_t pos = 0; pos < text.size();) {
    size_t len;
    const int32_t decoded = DecodeUtf8(text, pos, &len);
    if (decoded < 0) {  // an invalid byte is left as it is
      out.push_back(text[pos]);
      pos += 1;
      continue;
    }
    pos += len;
    uint32_t c = static_cast<uint32_t>(decoded);
    const uint8_t f = CodePointFlags(c);
    if (flags[0]) {
      const bool tab_or_newline = c == '\t' || c == '\n' || c == '\r';
      if (c == 0 || c == 0xFFFD || ((f & kCpOther) && !tab_or_newline)) continue;
      if (tab_or_newline || (f & kCpWhitespace)) c = ' ';
    }
    const bool cjk = flags[1] && IsChineseChar(c);
    if (cjk) out.push_back(' ');
    parts.clear();
    if (flags[2]) {
      CanonicalDecompose(c, &parts);
    } else {
      parts.push_back(c);
    }
    for (uint32_t p : parts) {
      if (flags[2] && (CodePointFlags(p) & kCpMarkNonspacing)) continue;
      AppendUtf8(flags[3] ? CodePointLower(p) : p, &out);
    }
    if (cjk) out.push_back(' ');
  }
  return out;
}

}  // namespace

std::string Normalizer::Apply(std::string_view text) const {
  std::string cur(text);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::kNfc:
        cur = NfcNormalize(cur);
        break;
      case Kind::kPrepend:
        if (!cur.empty()) cur.insert(0, step.a);
        break;
      case Kind::kReplace: {
        if (step.a.empty()) break;
        std::string out;
        out.reserve(cur.size());
        size_t pos = 0;
        for (size_t hit; (hit = cur.find(step.a, pos)) != std::string::npos;
             pos = hit + step.a.size()) {
          out.append(cur, pos, hit - pos).append(step.b);
        }
        out.append(cur, pos, std::string::npos);
        cur = std::move(out);
        break;
      }
      case Kind::kBert:
        cur = BertNormalize(cur, step.flags);
        break;
      case Kind::kStrip: {
        auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
        size_t b = 0, e = cur.size();
        if (step.left) while (b < e && ws(cur[b])) ++b;
        if (step.right) while (e > b && ws(cur[e - 1])) --e;
        cur = cur.substr(b, e - b);
        break;
      }
    }
  }
  return cur;
}

}  // namespace pagoda
