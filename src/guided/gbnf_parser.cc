#include "guided/gbnf_parser.h"

#include <string>
#include <vector>

namespace pagoda {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

class GbnfParser {
 public:
  GbnfParser(std::string_view text, GrammarBuilder* b) : s_(text), b_(b) {}

  Status Parse(int32_t* root) {
    for (;;) {
      SkipSpace(true);
      if (pos_ >= s_.size()) break;
      RETURN_IF_ERROR(ParseRule());
    }
    for (size_t i = 0; i < referenced_.size(); ++i) {
      if (!b_->HasBody(referenced_[i])) {
        return InvalidArgument("grammar: undefined rule '" + b_->rule_name(referenced_[i]) + "'");
      }
    }
    *root = b_->FindRule("root");
    if (*root < 0 || !b_->HasBody(*root)) return InvalidArgument("grammar: no 'root' rule");
    return Status::Ok();
  }

 private:
  Status Error(const std::string& what) const {
    int line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return InvalidArgument("grammar: " + what + " at line " + std::to_string(line) + ", column " +
                           std::to_string(col));
  }

  // Skips blanks and comments; newlines too when `newlines`.
  void SkipSpace(bool newlines) {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
        ++pos_;
      } else {
        break;
      }
    }
  }

  // True when, past blank lines and comments, the next line starts with '|'.
  bool NextLineContinues() const {
    size_t p = pos_;
    while (p < s_.size()) {
      const char c = s_[p];
      if (c == '#') {
        while (p < s_.size() && s_[p] != '\n') ++p;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++p;
      } else {
        return c == '|';
      }
    }
    return false;
  }

  std::string ReadName() {
    const size_t start = pos_;
    while (pos_ < s_.size() && IsNameChar(s_[pos_])) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  int32_t RuleId(const std::string& name) {
    int32_t id = b_->FindRule(name);
    if (id < 0) id = b_->AddRule(name);
    return id;
  }

  Status ParseRule() {
    const std::string name = ReadName();
    if (name.empty()) return Error("expected a rule name");
    SkipSpace(false);
    if (s_.substr(pos_, 3) != "::=") return Error("expected '::=' after rule name '" + name + "'");
    pos_ += 3;
    SkipSpace(true);
    const int32_t id = RuleId(name);
    if (b_->HasBody(id)) return Error("rule '" + name + "' defined twice");
    ASSIGN_OR_RETURN(ExprPtr body, ParseAlternatives(false));
    b_->SetRule(id, std::move(body));
    SkipSpace(false);
    if (pos_ < s_.size() && s_[pos_] != '\n') return Error("unexpected character '" + std::string(1, s_[pos_]) + "'");
    return Status::Ok();
  }

  StatusOr<ExprPtr> ParseAlternatives(bool nested) {
    std::vector<ExprPtr> alts;
    for (;;) {
      ASSIGN_OR_RETURN(ExprPtr seq, ParseSequence(nested));
      alts.push_back(std::move(seq));
      SkipSpace(nested);
      if (!nested && pos_ < s_.size() && s_[pos_] == '\n' && NextLineContinues()) SkipSpace(true);
      if (pos_ < s_.size() && s_[pos_] == '|') {
        ++pos_;
        SkipSpace(true);
        continue;
      }
      break;
    }
    return ExprAlt(std::move(alts));
  }

  StatusOr<ExprPtr> ParseSequence(bool nested) {
    std::vector<ExprPtr> items;
    for (;;) {
      SkipSpace(nested);
      if (pos_ >= s_.size()) break;
      const char c = s_[pos_];
      if (c == '|' || c == ')' || c == '\n') break;
      ExprPtr item;
      if (c == '"') {
        ASSIGN_OR_RETURN(item, ParseLiteral());
      } else if (c == '[') {
        ASSIGN_OR_RETURN(item, ParseClass());
      } else if (c == '.') {
        ++pos_;
        item = ExprChars({{0, kMaxCodePoint}});
      } else if (c == '(') {
        ++pos_;
        SkipSpace(true);
        ASSIGN_OR_RETURN(item, ParseAlternatives(true));
        SkipSpace(true);
        if (pos_ >= s_.size() || s_[pos_] != ')') return Error("expected ')'");
        ++pos_;
      } else if (IsNameChar(c)) {
        const std::string name = ReadName();
        const int32_t id = RuleId(name);
        referenced_.push_back(id);
        item = ExprRef(id);
      } else if (c == '<') {
        return Error("token references are not supported");
      } else {
        return Error("unexpected character '" + std::string(1, c) + "'");
      }
      ASSIGN_OR_RETURN(item, ParsePostfix(std::move(item)));
      items.push_back(std::move(item));
    }
    return ExprSeq(std::move(items));
  }

  StatusOr<ExprPtr> ParsePostfix(ExprPtr item) {
    for (;;) {
      if (pos_ >= s_.size()) return item;
      const char c = s_[pos_];
      if (c == '*' || c == '+' || c == '?') {
        ++pos_;
        item = ExprRepeat(std::move(item), c == '+' ? 1 : 0, c == '?' ? 1 : -1);
      } else if (c == '{') {
        ++pos_;
        SkipSpace(false);
        int64_t lo = 0, hi = -1;
        const bool has_lo = ReadInt(&lo);
        SkipSpace(false);
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          SkipSpace(false);
          if (!ReadInt(&hi)) hi = -1;
          SkipSpace(false);
        } else {
          if (!has_lo) return Error("expected a number in '{}'");
          hi = lo;
        }
        if (pos_ >= s_.size() || s_[pos_] != '}') return Error("expected '}'");
        ++pos_;
        if (hi >= 0 && hi < lo) return Error("repetition {m,n} with n < m");
        if (lo > 100000 || hi > 100000) return Error("repetition count too large");
        item = ExprRepeat(std::move(item), static_cast<int32_t>(lo), static_cast<int32_t>(hi));
      } else {
        return item;
      }
    }
  }

  bool ReadInt(int64_t* v) {
    const size_t start = pos_;
    *v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (*v < 10'000'000) *v = *v * 10 + (s_[pos_] - '0');
      ++pos_;
    }
    return pos_ > start;
  }

  // One (possibly escaped) code point inside a literal or class.
  StatusOr<uint32_t> ParseChar() {
    if (pos_ >= s_.size()) return Error("unexpected end of grammar");
    if (s_[pos_] != '\\') {
      const int32_t cp = NextCodePoint(s_, &pos_);
      if (cp < 0) return Error("invalid UTF-8");
      return static_cast<uint32_t>(cp);
    }
    ++pos_;
    if (pos_ >= s_.size()) return Error("unexpected end of grammar after '\\'");
    const char c = s_[pos_++];
    int hex_digits = 0;
    switch (c) {
      case 'n': return uint32_t{'\n'};
      case 'r': return uint32_t{'\r'};
      case 't': return uint32_t{'\t'};
      case 'x': hex_digits = 2; break;
      case 'u': hex_digits = 4; break;
      case 'U': hex_digits = 8; break;
      default:
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
          pos_ -= 2;
          return Error(std::string("unknown escape '\\") + c + "'");
        }
        return static_cast<uint32_t>(static_cast<unsigned char>(c));
    }
    uint32_t v = 0;
    for (int k = 0; k < hex_digits; ++k) {
      if (pos_ >= s_.size()) return Error("truncated escape");
      const char h = s_[pos_++];
      const int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (d < 0) return Error("bad hex digit in escape");
      v = v * 16 + d;
    }
    if (v > kMaxCodePoint || (v >= 0xD800 && v <= 0xDFFF)) return Error("escape is not a valid code point");
    return v;
  }

  StatusOr<ExprPtr> ParseLiteral() {
    ++pos_;  // '"'
    std::string bytes;
    for (;;) {
      if (pos_ >= s_.size() || s_[pos_] == '\n') return Error("unterminated string literal");
      if (s_[pos_] == '"') {
        ++pos_;
        break;
      }
      ASSIGN_OR_RETURN(uint32_t cp, ParseChar());
      AppendUtf8(cp, &bytes);
    }
    return ExprLiteral(std::move(bytes));
  }

  StatusOr<ExprPtr> ParseClass() {
    ++pos_;  // '['
    bool negate = false;
    if (pos_ < s_.size() && s_[pos_] == '^') {
      negate = true;
      ++pos_;
    }
    CharSet set;
    for (;;) {
      if (pos_ >= s_.size() || s_[pos_] == '\n') return Error("unterminated character class");
      if (s_[pos_] == ']') {
        ++pos_;
        break;
      }
      ASSIGN_OR_RETURN(uint32_t lo, ParseChar());
      uint32_t hi = lo;
      if (pos_ + 1 < s_.size() && s_[pos_] == '-' && s_[pos_ + 1] != ']') {
        ++pos_;
        ASSIGN_OR_RETURN(hi, ParseChar());
        if (hi < lo) return Error("character range end before start");
      }
      set.push_back({lo, hi});
    }
    if (negate) set = ComplementCharSet(set);
    return ExprChars(NormalizeCharSet(std::move(set)));
  }

  std::string_view s_;
  GrammarBuilder* b_;
  size_t pos_ = 0;
  std::vector<int32_t> referenced_;
};

}  // namespace

Status ParseGbnf(std::string_view text, GrammarBuilder* builder, int32_t* root) {
  return GbnfParser(text, builder).Parse(root);
}

}  // namespace pagoda
