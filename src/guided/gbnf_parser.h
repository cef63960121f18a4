// ParseGbnf: a context-free grammar in GBNF (llama.cpp's grammar format)
// -> rules in a GrammarBuilder. Supported syntax:
//   name ::= alternatives        rule names use letters, digits, '-' and '_'
//   a | b                        alternation
//   ( ... )                      grouping
//   "text"                       literal (UTF-8; escapes \n \r \t \\ \" \[ \]
//                                \- \xHH \uHHHH \UHHHHHHHH and escaped
//                                punctuation)
//   [a-z0-9] [^"\\]              character classes of code points
//   .                            any character
//   x* x+ x? x{m} x{m,} x{m,n} x{,n}   repetition
//   # comment                    to the end of the line
// A newline ends a rule, except inside parentheses, right after `::=` or
// `|`, or when the next line starts with `|`. The grammar must define
// `root`; every referenced rule must be defined, once. Left recursion is an
// error (as in llama.cpp). Not supported: llama.cpp's token references
// (`<[id]>`, `<name>`).
// Thread-safety: a pure function.
#pragma once

#include <string_view>

#include "base/status.h"
#include "guided/grammar.h"

namespace pagoda {

// Adds the grammar's rules to `builder`; sets *root to the `root` rule.
Status ParseGbnf(std::string_view text, GrammarBuilder* builder, int32_t* root);

}  // namespace pagoda
