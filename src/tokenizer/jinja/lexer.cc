#include "tokenizer/jinja/lexer.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "tokenizer/jinja/value.h"
#include "tokenizer/utf8.h"

namespace pagoda::jinja {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

int CountNewlines(std::string_view s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

std::string NormalizeNewlines(std::string_view src, bool keep_trailing_newline) {
  std::string out;
  out.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      out.push_back(src[i]);
    }
  }
  if (!keep_trailing_newline && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// Python's "unicode-escape" decoding of a string literal's body.
std::string DecodeEscapes(std::string_view body, int line) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '\\' || i + 1 == body.size()) {
      out.push_back(c);
      continue;
    }
    const char e = body[++i];
    auto hex = [&](size_t digits) -> uint32_t {
      uint32_t v = 0;
      for (size_t k = 1; k <= digits; ++k) {
        const char h = i + k < body.size() ? body[i + k] : '\0';
        if (!std::isxdigit(static_cast<unsigned char>(h))) {
          throw TemplateError("TemplateSyntaxError: truncated \\x/\\u escape", line);
        }
        v = v * 16 + (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      i += digits;
      return v;
    };
    switch (e) {
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case '\\': out.push_back('\\'); break;
      case '\'': out.push_back('\''); break;
      case '"': out.push_back('"'); break;
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'v': out.push_back('\v'); break;
      case '\n': break;  // line continuation
      case 'x': AppendUtf8(hex(2), &out); break;
      case 'u': AppendUtf8(hex(4), &out); break;
      case 'U': AppendUtf8(hex(8), &out); break;
      default:
        if (e >= '0' && e <= '7') {
          uint32_t v = e - '0';
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k) {
            v = v * 8 + (body[++i] - '0');
          }
          AppendUtf8(v, &out);
        } else {
          out.push_back('\\');
          out.push_back(e);
        }
    }
  }
  return out;
}

class Lexer {
 public:
  Lexer(std::string src, const LexOptions& o) : src_(std::move(src)), o_(o) {}

  std::vector<Token> Run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      const size_t tag = FindTagStart(pos_);
      std::string text = src_.substr(pos_, (tag == std::string::npos ? src_.size() : tag) - pos_);
      if (tag == std::string::npos) {
        EmitText(std::move(text));
        break;
      }
      const char kind = src_[tag + 1];  // '{', '%' or '#'
      const char sign = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      const int text_lines = CountNewlines(text);
      if (sign == '-') {
        size_t end = text.size();
        while (end > 0 && IsSpace(text[end - 1])) --end;
        text.resize(end);
      } else if (sign != '+' && o_.lstrip_blocks && kind != '{') {
        const size_t nl = text.rfind('\n');
        const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if ((l_pos > 0 || line_starting) && l_pos < text.size() &&
            std::all_of(text.begin() + l_pos, text.end(), IsSpace)) {
          text.resize(l_pos);
        }
      }
      EmitText(std::move(text));
      line_ += text_lines;
      pos_ = tag + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (kind == '#') {
        LexComment();
      } else if (kind == '%' && TryRaw()) {
        // raw body emitted as text
      } else {
        LexTag(kind == '{');
      }
      line_starting = pos_ > 0 && src_[pos_ - 1] == '\n';
    }
    tokens_.push_back(Token{TokKind::kEof, "", line_});
    return std::move(tokens_);
  }

 private:
  size_t FindTagStart(size_t from) const {
    for (size_t p = src_.find('{', from); p != std::string::npos; p = src_.find('{', p + 1)) {
      if (p + 1 < src_.size() && (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#')) {
        return p;
      }
    }
    return std::string::npos;
  }

  void EmitText(std::string text) {
    if (text.empty()) return;
    tokens_.push_back(Token{TokKind::kText, std::move(text), line_});
  }

  // After an end delimiter: `-` eats all following whitespace; trim_blocks
  // (block and comment tags only, unless `+`) eats one newline.
  void AfterEnd(char sign, bool is_block) {
    if (sign == '-') {
      while (pos_ < src_.size() && IsSpace(src_[pos_])) {
        if (src_[pos_] == '\n') ++line_;
        ++pos_;
      }
    } else if (sign != '+' && is_block && o_.trim_blocks && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
      ++line_;
    }
  }

  void LexComment() {
    const size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) throw TemplateError("TemplateSyntaxError: missing end of comment tag", line_);
    const char sign = end > pos_ ? src_[end - 1] : '\0';
    line_ += CountNewlines(std::string_view(src_).substr(pos_, end - pos_));
    pos_ = end + 2;
    AfterEnd(sign == '-' || sign == '+' ? sign : '\0', true);
  }

  // {% raw %}...{% endraw %}: the body is text, untouched.
  bool TryRaw() {
    size_t p = pos_;
    while (p < src_.size() && IsSpace(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    while (p < src_.size() && IsSpace(src_[p])) ++p;
    char sign = '\0';
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
    if (src_.compare(p, 2, "%}") != 0) return false;
    pos_ = p + 2;
    AfterEnd(sign, true);
    for (size_t q = src_.find("{%", pos_); q != std::string::npos; q = src_.find("{%", q + 1)) {
      size_t r = q + 2;
      const char open_sign = r < src_.size() ? src_[r] : '\0';
      if (open_sign == '-' || open_sign == '+') ++r;
      while (r < src_.size() && IsSpace(src_[r])) ++r;
      if (src_.compare(r, 6, "endraw") != 0) continue;
      r += 6;
      while (r < src_.size() && IsSpace(src_[r])) ++r;
      char end_sign = '\0';
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) end_sign = src_[r++];
      if (src_.compare(r, 2, "%}") != 0) continue;
      std::string body = src_.substr(pos_, q - pos_);
      if (open_sign == '-') {
        while (!body.empty() && IsSpace(body.back())) body.pop_back();
      }
      line_ += CountNewlines(src_.substr(pos_, r + 2 - pos_));
      EmitText(std::move(body));
      pos_ = r + 2;
      AfterEnd(end_sign, true);
      return true;
    }
    throw TemplateError("TemplateSyntaxError: missing endraw", line_);
  }

  void LexTag(bool is_var) {
    tokens_.push_back(Token{is_var ? TokKind::kVarBegin : TokKind::kBlockBegin, "", line_});
    const char* close = is_var ? "}}" : "%}";
    const int start_line = line_;
    while (true) {
      while (pos_ < src_.size() && IsSpace(src_[pos_])) {
        if (src_[pos_] == '\n') ++line_;
        ++pos_;
      }
      if (pos_ >= src_.size()) {
        throw TemplateError(std::string("TemplateSyntaxError: unexpected end of template, expected '") +
                                close + "'",
                            start_line);
      }
      char sign = '\0';
      if ((src_[pos_] == '-' || src_[pos_] == '+') && src_.compare(pos_ + 1, 2, close) == 0) {
        sign = src_[pos_++];
      }
      if (src_.compare(pos_, 2, close) == 0) {
        if (sign == '+' && is_var) throw TemplateError("TemplateSyntaxError: unexpected '+'", line_);
        tokens_.push_back(Token{is_var ? TokKind::kVarEnd : TokKind::kBlockEnd, "", line_});
        pos_ += 2;
        AfterEnd(sign, !is_var);
        return;
      }
      LexOne();
    }
  }

  void LexOne() {
    const char c = src_[pos_];
    if (c == '\'' || c == '"') {
      size_t p = pos_ + 1;
      while (p < src_.size() && src_[p] != c) p += src_[p] == '\\' ? 2 : 1;
      if (p >= src_.size()) throw TemplateError("TemplateSyntaxError: unexpected end of string", line_);
      const std::string_view body = std::string_view(src_).substr(pos_ + 1, p - pos_ - 1);
      tokens_.push_back(Token{TokKind::kString, DecodeEscapes(body, line_), line_});
      line_ += CountNewlines(body);
      pos_ = p + 1;
      return;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      LexNumber();
      return;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t p = pos_;
      while (p < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[p])) || src_[p] == '_')) ++p;
      tokens_.push_back(Token{TokKind::kName, src_.substr(pos_, p - pos_), line_});
      pos_ = p;
      return;
    }
    static const char* kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : kTwo) {
      if (src_.compare(pos_, 2, op) == 0) {
        tokens_.push_back(Token{TokKind::kOp, op, line_});
        pos_ += 2;
        return;
      }
    }
    if (std::strchr("+-/*%~[](){}<>=.:|,;", c) != nullptr) {
      tokens_.push_back(Token{TokKind::kOp, std::string(1, c), line_});
      ++pos_;
      return;
    }
    throw TemplateError(std::string("TemplateSyntaxError: unexpected char '") + c + "'", line_);
  }

  void LexNumber() {
    size_t p = pos_;
    auto digits = [&] {
      while (p < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[p])) ||
                                 (src_[p] == '_' && p + 1 < src_.size() &&
                                  std::isdigit(static_cast<unsigned char>(src_[p + 1]))))) {
        ++p;
      }
    };
    digits();
    bool is_float = false;
    if (p + 1 < src_.size() && src_[p] == '.' && std::isdigit(static_cast<unsigned char>(src_[p + 1]))) {
      is_float = true;
      ++p;
      digits();
    }
    if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      size_t q = p + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) {
        is_float = true;
        p = q;
        digits();
      }
    }
    std::string text = src_.substr(pos_, p - pos_);
    std::erase(text, '_');
    Token t{is_float ? TokKind::kFloat : TokKind::kInt, text, line_};
    if (is_float) {
      t.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      t.int_value = std::strtoll(text.c_str(), nullptr, 10);
    }
    tokens_.push_back(std::move(t));
    pos_ = p;
  }

  std::string src_;
  LexOptions o_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> Lex(std::string_view source, const LexOptions& options) {
  return Lexer(NormalizeNewlines(source, options.keep_trailing_newline), options).Run();
}

}  // namespace pagoda::jinja
