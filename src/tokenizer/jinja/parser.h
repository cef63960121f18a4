// jinja::Parse: builds the syntax tree from Lex's tokens with Jinja2's
// grammar and operator precedence (filters and tests bind tighter than
// arithmetic; `-x|f` is f(-x); `not a is b` is not (a is b)), then checks,
// as Jinja2's compiler does, that every filter and test exists, except in
// code under an `if` (or an inline if), where an unknown name only fails
// when it runs. Syntax errors throw TemplateError with the line.
// Stateless: safe from any thread.
#pragma once

#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace pagoda::jinja {

Body Parse(std::vector<Token> tokens);

}  // namespace pagoda::jinja
