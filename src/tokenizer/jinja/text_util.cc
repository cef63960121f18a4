#include "tokenizer/jinja/text_util.h"

#include <cstdint>

#include "tokenizer/utf8.h"

namespace pagoda::jinja {
namespace {

uint32_t At(std::string_view s, size_t pos, size_t* len) {
  const int32_t cp = DecodeUtf8(s, pos, len);
  return cp < 0 ? 0xFFFD : static_cast<uint32_t>(cp);
}

uint32_t LowerCp(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
    // Latin Extended-A pairs: even upper/odd lower, except 0x139-0x148 and
    // 0x179-0x17E where odd is upper.
    const bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_upper ? (c % 2 == 1) : (c % 2 == 0)) return c + 1;
    return c;
  }
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

uint32_t UpperCp(uint32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return c;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
    const bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_upper ? (c % 2 == 0) : (c % 2 == 1)) return c - 1;
    return c;
  }
  if (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) return c - 32;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

template <typename F>
std::string MapCase(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    const auto b = static_cast<unsigned char>(s[pos]);
    if (b < 0x80) {
      out.push_back(static_cast<char>(f(b)));
      ++pos;
      continue;
    }
    size_t len;
    const int32_t cp = DecodeUtf8(s, pos, &len);
    if (cp < 0) {
      out.push_back(s[pos]);
    } else {
      AppendUtf8(f(static_cast<uint32_t>(cp)), &out);
    }
    pos += len;
  }
  return out;
}

bool IsCased(uint32_t c) { return LowerCp(c) != c || UpperCp(c) != c; }

}  // namespace

bool PyIsSpace(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

bool PyIsAlpha(uint32_t c) {
  if (c < 0x80) return (c | 32) >= 'a' && (c | 32) <= 'z';
  return IsCased(c) || (c >= 0xAA && !PyIsSpace(c) && !(c >= 0x2000 && c <= 0x2BFF) && !(c >= 0x3000 && c <= 0x303F) &&
                        !(c >= 0xFF00 && c <= 0xFF20) && !(c >= 0x1F000));
}

std::string PyStrip(std::string_view s, const std::string* chars, bool left, bool right) {
  auto strip_cp = [&](uint32_t cp, std::string_view ch) {
    if (chars == nullptr) return PyIsSpace(cp);
    return chars->find(ch) != std::string::npos;
  };
  size_t b = 0, e = s.size();
  if (left) {
    while (b < e) {
      size_t len;
      const uint32_t cp = At(s, b, &len);
      if (!strip_cp(cp, s.substr(b, len))) break;
      b += len;
    }
  }
  if (right) {
    while (e > b) {
      size_t start = e - 1;
      while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
      size_t len;
      const uint32_t cp = At(s, start, &len);
      if (!strip_cp(cp, s.substr(start, e - start))) break;
      e = start;
    }
  }
  return std::string(s.substr(b, e - b));
}

std::string PyLower(std::string_view s) { return MapCase(s, LowerCp); }
std::string PyUpper(std::string_view s) { return MapCase(s, UpperCp); }

std::string PyCapitalize(std::string_view s) {
  if (s.empty()) return "";
  const size_t first = Utf8CharLenAt(s, 0);
  return PyUpper(s.substr(0, first)) + PyLower(s.substr(first));
}

std::string PyTitle(std::string_view s) {
  std::string out;
  bool prev_cased = false;
  for (size_t pos = 0; pos < s.size();) {
    size_t len;
    const uint32_t cp = At(s, pos, &len);
    const uint32_t mapped = prev_cased ? LowerCp(cp) : UpperCp(cp);
    if (DecodeUtf8(s, pos, &len) < 0) {
      out.push_back(s[pos]);
    } else {
      AppendUtf8(mapped, &out);
    }
    prev_cased = IsCased(cp) || PyIsAlpha(cp);
    pos += len;
  }
  return out;
}

std::vector<std::string> PySplit(std::string_view s, const std::string* sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep != nullptr) {
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      const size_t f = s.find(*sep, pos);
      if (f == std::string_view::npos) break;
      out.emplace_back(s.substr(pos, f - pos));
      pos = f + sep->size();
    }
    out.emplace_back(s.substr(pos));
    return out;
  }
  size_t pos = 0;
  auto skip_space = [&] {
    while (pos < s.size()) {
      size_t len;
      if (!PyIsSpace(At(s, pos, &len))) break;
      pos += len;
    }
  };
  skip_space();
  while (pos < s.size()) {
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
      // The rest, with trailing whitespace removed, is the last piece.
      out.push_back(PyStrip(s.substr(pos), nullptr, false, true));
      return out;
    }
    const size_t start = pos;
    while (pos < s.size()) {
      size_t len;
      if (PyIsSpace(At(s, pos, &len))) break;
      pos += len;
    }
    out.emplace_back(s.substr(start, pos - start));
    skip_space();
  }
  return out;
}

std::vector<std::string> PyRSplit(std::string_view s, const std::string* sep, int64_t maxsplit) {
  if (maxsplit < 0 || sep == nullptr) return PySplit(s, sep, maxsplit);
  std::vector<std::string> rev;
  size_t end = s.size();
  while (static_cast<int64_t>(rev.size()) < maxsplit) {
    if (end < sep->size()) break;
    const size_t f = s.rfind(*sep, end - sep->size());
    if (f == std::string_view::npos) break;
    rev.emplace_back(s.substr(f + sep->size(), end - f - sep->size()));
    end = f;
  }
  rev.emplace_back(s.substr(0, end));
  return std::vector<std::string>(rev.rbegin(), rev.rend());
}

std::vector<std::string> PySplitLines(std::string_view s, bool keepends) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t pos = 0; pos < s.size();) {
    size_t len;
    const uint32_t cp = At(s, pos, &len);
    size_t brk = 0;
    if (cp == '\r' && pos + 1 < s.size() && s[pos + 1] == '\n') {
      brk = 2;
    } else if (cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || (cp >= 0x1C && cp <= 0x1E) ||
               cp == 0x85 || cp == 0x2028 || cp == 0x2029) {
      brk = len;
    }
    if (brk > 0) {
      out.emplace_back(s.substr(start, (keepends ? pos + brk : pos) - start));
      pos += brk;
      start = pos;
    } else {
      pos += len;
    }
  }
  if (start < s.size()) out.emplace_back(s.substr(start));
  return out;
}

std::string PyReplace(std::string_view s, std::string_view from, std::string_view to, int64_t count) {
  std::string out;
  if (from.empty()) {
    // Python inserts `to` between every character (and at both ends).
    int64_t n = 0;
    size_t pos = 0;
    while (pos <= s.size()) {
      if (count < 0 || n < count) {
        out += to;
        ++n;
      }
      if (pos == s.size()) break;
      const size_t len = Utf8CharLenAt(s, pos);
      out += s.substr(pos, len);
      pos += len;
    }
    return out;
  }
  size_t pos = 0;
  int64_t n = 0;
  while (count < 0 || n < count) {
    const size_t f = s.find(from, pos);
    if (f == std::string_view::npos) break;
    out += s.substr(pos, f - pos);
    out += to;
    pos = f + from.size();
    ++n;
  }
  out += s.substr(pos);
  return out;
}

}  // namespace pagoda::jinja
