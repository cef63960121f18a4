// jinja::Lex: splits a template into Jinja2 tokens, applying the whitespace
// rules exactly as Jinja2's lexer does: newlines normalised to "\n", one
// trailing newline dropped, `{%-`/`-%}` stripping, `{%+`/`+%}` opt-outs,
// trim_blocks (a block or comment tag eats the newline after it) and
// lstrip_blocks (indentation before a block or comment tag on its own line
// is dropped). Comments vanish; {% raw %} bodies become text.
// Stateless: safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pagoda::jinja {

enum class TokKind : uint8_t {
  kText,
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,
  kInt,
  kFloat,
  kOp,  // operators and punctuation, in `text`
  kEof,
};

struct Token {
  TokKind kind;
  std::string text;  // text, name, decoded string literal, or operator
  int line = 1;
  int64_t int_value = 0;
  double float_value = 0;
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Throws TemplateError (with the line) on an unterminated tag or string.
std::vector<Token> Lex(std::string_view source, const LexOptions& options);

}  // namespace pagoda::jinja
