#include "guided/regex_parser.h"

#include <string>

namespace pagoda {
namespace {

const CharSet kDigit = {{'0', '9'}};
const CharSet kWord = NormalizeCharSet({{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}});
const CharSet kSpace = NormalizeCharSet({{'\t', '\r'}, {' ', ' '}});
const CharSet kAscii = {{0, 0x7F}};
// ASCII characters that no Unicode rule counts as whitespace (Python also
// treats \x1c-\x1f as whitespace).
const CharSet kNonSpace = NormalizeCharSet({{0, 0x08}, {0x0E, 0x1B}, {0x21, 0x7F}});

class RegexParser {
 public:
  explicit RegexParser(std::string_view p) : p_(p) {}

  StatusOr<std::vector<RegexBranch>> ParseTop() {
    std::vector<RegexBranch> branches;
    for (;;) {
      RegexBranch b;
      if (Peek('^')) {
        ++pos_;
        b.anchored_start = true;
      }
      ASSIGN_OR_RETURN(b.expr, ParseSeq(/*top=*/true, &b.anchored_end));
      branches.push_back(std::move(b));
      if (pos_ >= p_.size()) break;
      if (p_[pos_] == '|') {
        ++pos_;
        continue;
      }
      return Error("unbalanced ')'");
    }
    return branches;
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgument("invalid regex at offset " + std::to_string(pos_) + ": " + what);
  }
  Status Unsupported(const std::string& what) const {
    return InvalidArgument("regex: " + what + " (at offset " + std::to_string(pos_) +
                           ") is not supported");
  }
  bool Peek(char c) const { return pos_ < p_.size() && p_[pos_] == c; }

  StatusOr<ExprPtr> ParseAlt() {
    std::vector<ExprPtr> alts;
    for (;;) {
      ASSIGN_OR_RETURN(ExprPtr seq, ParseSeq(/*top=*/false, nullptr));
      alts.push_back(std::move(seq));
      if (!Peek('|')) break;
      ++pos_;
    }
    return ExprAlt(std::move(alts));
  }

  StatusOr<ExprPtr> ParseSeq(bool top, bool* anchored_end) {
    std::vector<ExprPtr> items;
    while (pos_ < p_.size() && p_[pos_] != '|' && p_[pos_] != ')') {
      if (p_[pos_] == '$') {
        const bool at_end = pos_ + 1 == p_.size() || p_[pos_ + 1] == '|';
        if (!top || !at_end) return Unsupported("'$' before the end of the pattern");
        ++pos_;
        *anchored_end = true;
        break;
      }
      if (p_[pos_] == '^') return Unsupported("'^' after the start of the pattern");
      ASSIGN_OR_RETURN(ExprPtr atom, ParseAtom());
      ASSIGN_OR_RETURN(atom, ParseQuantifiers(std::move(atom)));
      items.push_back(std::move(atom));
    }
    if (top && Peek(')')) return Error("unbalanced ')'");
    return ExprSeq(std::move(items));
  }

  // Reads {m}, {m,}, {m,n} or {,n} at pos_; false (pos_ unchanged) if the
  // text is not a quantifier, in which case '{' is a literal (as in Python).
  bool ReadBraces(int32_t* min, int32_t* max) {
    size_t i = pos_ + 1;
    auto number = [&](int64_t* v) {
      const size_t start = i;
      *v = 0;
      while (i < p_.size() && p_[i] >= '0' && p_[i] <= '9' && *v < 1'000'000) *v = *v * 10 + (p_[i++] - '0');
      return i > start;
    };
    int64_t lo = 0, hi = -1;
    const bool has_lo = number(&lo);
    if (i < p_.size() && p_[i] == '}') {
      if (!has_lo) return false;
      hi = lo;
    } else if (i < p_.size() && p_[i] == ',') {
      ++i;
      if (!number(&hi)) hi = -1;
      if (i >= p_.size() || p_[i] != '}') return false;
    } else {
      return false;
    }
    pos_ = i + 1;
    *min = static_cast<int32_t>(lo);
    *max = static_cast<int32_t>(hi);
    return true;
  }

  StatusOr<ExprPtr> ParseQuantifiers(ExprPtr atom) {
    for (;;) {
      if (pos_ >= p_.size()) return atom;
      int32_t min, max;
      const char c = p_[pos_];
      if (c == '*' || c == '+' || c == '?') {
        ++pos_;
        min = c == '+' ? 1 : 0;
        max = c == '?' ? 1 : -1;
      } else if (c == '{' && ReadBraces(&min, &max)) {
        if (max >= 0 && max < min) return Error("quantifier {m,n} with n < m");
      } else {
        return atom;
      }
      if (Peek('?')) {
        ++pos_;  // lazy: same language
      } else if (Peek('+')) {
        return Unsupported("possessive quantifier");
      }
      atom = ExprRepeat(std::move(atom), min, max);
      if (pos_ < p_.size() && (p_[pos_] == '*' || p_[pos_] == '+' || p_[pos_] == '?')) {
        return Error("multiple repeat");
      }
    }
  }

  StatusOr<ExprPtr> ParseAtom() {
    const char c = p_[pos_];
    switch (c) {
      case '(':
        return ParseGroup();
      case '[':
        return ParseClass();
      case '.':
        ++pos_;
        return ExprChars(ComplementCharSet(SingleChar('\n')));
      case '\\': {
        CharSet set;
        ASSIGN_OR_RETURN(set, ParseEscape(/*in_class=*/false, nullptr));
        return ExprChars(std::move(set));
      }
      case '*':
      case '+':
      case '?':
        return Error("nothing to repeat");
      default: {
        const int32_t cp = NextCodePoint(p_, &pos_);
        if (cp < 0) return Error("invalid UTF-8");
        return ExprChar(static_cast<uint32_t>(cp));
      }
    }
  }

  StatusOr<ExprPtr> ParseGroup() {
    ++pos_;  // '('
    if (Peek('?')) {
      ++pos_;
      if (Peek(':')) {
        ++pos_;
      } else if (p_.substr(pos_, 2) == "P<" || (Peek('<') && p_.substr(pos_, 2) != "<=" &&
                                                p_.substr(pos_, 2) != "<!")) {
        const size_t close = p_.find('>', pos_);
        if (close == std::string_view::npos) return Error("unterminated group name");
        pos_ = close + 1;
      } else if (Peek('=') || Peek('!') || p_.substr(pos_, 2) == "<=" || p_.substr(pos_, 2) == "<!") {
        return Unsupported("lookaround assertion");
      } else if (p_.substr(pos_, 2) == "P=") {
        return Unsupported("named backreference");
      } else {
        return Unsupported("inline flag or group extension '(?" + std::string(p_.substr(pos_, 1)) + "'");
      }
    }
    ASSIGN_OR_RETURN(ExprPtr inner, ParseAlt());
    if (!Peek(')')) return Error("missing ')'");
    ++pos_;
    return inner;
  }

  StatusOr<uint32_t> ReadHex(int digits) {
    if (pos_ + digits > p_.size()) return Error("truncated escape");
    uint32_t v = 0;
    for (int k = 0; k < digits; ++k) {
      const char h = p_[pos_ + k];
      int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (d < 0) return Error("bad hex digit in escape");
      v = v * 16 + d;
    }
    pos_ += digits;
    if (v > kMaxCodePoint) return Error("code point out of range");
    return v;
  }

  // Parses an escape at pos_ ('\\'). Sets *shorthand when it is \d \w \s or
  // a negation (the caller of a negated class restricts to ASCII then).
  StatusOr<CharSet> ParseEscape(bool in_class, bool* shorthand) {
    ++pos_;
    if (pos_ >= p_.size()) return Error("trailing backslash");
    const char c = p_[pos_++];
    auto mark = [&] {
      if (shorthand) *shorthand = true;
    };
    switch (c) {
      case 'd': mark(); return kDigit;
      case 'w': mark(); return kWord;
      case 's': mark(); return kSpace;
      case 'D': mark(); return SubtractCharSet(kAscii, kDigit);
      case 'W': mark(); return SubtractCharSet(kAscii, kWord);
      case 'S': mark(); return kNonSpace;
      case 'n': return SingleChar('\n');
      case 'r': return SingleChar('\r');
      case 't': return SingleChar('\t');
      case 'f': return SingleChar('\f');
      case 'v': return SingleChar('\v');
      case 'a': return SingleChar('\a');
      case '0': {
        uint32_t v = 0;
        for (int k = 0; k < 2 && pos_ < p_.size() && p_[pos_] >= '0' && p_[pos_] <= '7'; ++k) {
          v = v * 8 + (p_[pos_++] - '0');
        }
        return SingleChar(v);
      }
      case 'x': { ASSIGN_OR_RETURN(uint32_t v, ReadHex(2)); return SingleChar(v); }
      case 'u': { ASSIGN_OR_RETURN(uint32_t v, ReadHex(4)); return SingleChar(v); }
      case 'U': { ASSIGN_OR_RETURN(uint32_t v, ReadHex(8)); return SingleChar(v); }
      case 'b':
        if (in_class) return SingleChar('\b');
        --pos_;
        return Unsupported("word boundary \\b");
      default:
        break;
    }
    if (c >= '1' && c <= '9') {
      pos_ -= 1;
      return Unsupported("backreference");
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      pos_ -= 1;
      return Unsupported(std::string("escape \\") + c);
    }
    --pos_;
    const int32_t cp = NextCodePoint(p_, &pos_);
    if (cp < 0) return Error("invalid UTF-8");
    return SingleChar(static_cast<uint32_t>(cp));
  }

  StatusOr<ExprPtr> ParseClass() {
    ++pos_;  // '['
    bool negate = false;
    if (Peek('^')) {
      negate = true;
      ++pos_;
    }
    CharSet set;
    bool shorthand = false;
    bool first = true;
    for (;;) {
      if (pos_ >= p_.size()) return Error("unterminated character class");
      if (p_[pos_] == ']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      // One item: a character (maybe the start of a range) or a shorthand.
      CharSet item;
      bool item_short = false;
      if (p_[pos_] == '\\') {
        ASSIGN_OR_RETURN(item, ParseEscape(true, &item_short));
      } else {
        const int32_t cp = NextCodePoint(p_, &pos_);
        if (cp < 0) return Error("invalid UTF-8");
        item = SingleChar(static_cast<uint32_t>(cp));
      }
      shorthand = shorthand || item_short;
      const bool range = !item_short && pos_ + 1 < p_.size() && p_[pos_] == '-' && p_[pos_ + 1] != ']';
      if (range) {
        ++pos_;  // '-'
        CharSet hi_set;
        bool hi_short = false;
        if (p_[pos_] == '\\') {
          ASSIGN_OR_RETURN(hi_set, ParseEscape(true, &hi_short));
        } else {
          const int32_t cp = NextCodePoint(p_, &pos_);
          if (cp < 0) return Error("invalid UTF-8");
          hi_set = SingleChar(static_cast<uint32_t>(cp));
        }
        if (hi_short) return Error("bad character range");
        if (hi_set[0].lo < item[0].lo) return Error("bad character range (end before start)");
        item = {{item[0].lo, hi_set[0].lo}};
      }
      set = UnionCharSets(set, item);
    }
    if (negate) {
      set = ComplementCharSet(set);
      if (shorthand) set = SubtractCharSet(set, ComplementCharSet(kAscii));
    }
    return ExprChars(std::move(set));
  }

  std::string_view p_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<std::vector<RegexBranch>> ParseRegexBranches(std::string_view pattern) {
  return RegexParser(pattern).ParseTop();
}

StatusOr<ExprPtr> ParseRegex(std::string_view pattern) {
  ASSIGN_OR_RETURN(auto branches, ParseRegexBranches(pattern));
  std::vector<ExprPtr> alts;
  for (auto& b : branches) alts.push_back(b.expr);
  return ExprAlt(std::move(alts));
}

StatusOr<ExprPtr> ParseRegexSearch(std::string_view pattern) {
  ASSIGN_OR_RETURN(auto branches, ParseRegexBranches(pattern));
  const ExprPtr any = ExprStar(ExprChars({{0, kMaxCodePoint}}));
  std::vector<ExprPtr> alts;
  for (auto& b : branches) {
    alts.push_back(ExprSeq({b.anchored_start ? ExprEmpty() : any, b.expr,
                            b.anchored_end ? ExprEmpty() : any}));
  }
  return ExprAlt(std::move(alts));
}

}  // namespace pagoda
