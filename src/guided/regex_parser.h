// ParseRegex: a regular expression -> GrammarExpr, for `regex` constraints
// and JSON Schema `pattern`s. The subset (Python `re` syntax, which is what
// the tests validate against):
//   literals (UTF-8), `.` (any character but newline), classes `[...]` and
//   `[^...]` with ranges and escapes, `\d \w \s \D \W \S`, escapes
//   `\n \r \t \f \v \a \0 \xHH \uHHHH \UHHHHHHHH` and escaped punctuation,
//   groups `(...)`, `(?:...)`, `(?P<name>...)`, `(?<name>...)`, alternation
//   `|`, quantifiers `? * + {m} {m,} {m,n} {,n}` (a lazy `?` suffix is
//   accepted: it changes which match a search picks, not which strings match).
//   `^` and `$` only at the start and end of a top-level alternative.
// Shorthand classes use ASCII meanings (\d = [0-9], \w = [A-Za-z0-9_],
// \s = [ \t\n\r\f\v]); \D, \W, \S and negated classes that contain a
// shorthand are limited to ASCII, so every string generated here also
// matches under Unicode rules. Not supported (an error naming the construct):
// backreferences, lookaround, word boundaries, inline flags, possessive
// quantifiers, \A \Z \b \B \N{...}.
// Thread-safety: pure functions.
#pragma once

#include <string_view>
#include <vector>

#include "base/status.h"
#include "guided/expr.h"

namespace pagoda {

struct RegexBranch {
  ExprPtr expr;
  bool anchored_start = false;  // began with ^
  bool anchored_end = false;    // ended with $
};

// The top-level alternatives of `pattern`.
StatusOr<std::vector<RegexBranch>> ParseRegexBranches(std::string_view pattern);

// The language of `pattern` matched as a whole string (anchors are no-ops).
StatusOr<ExprPtr> ParseRegex(std::string_view pattern);

// Strings in which `pattern` finds a match (re.search semantics, as JSON
// Schema's `pattern` asks): unanchored ends take any characters.
StatusOr<ExprPtr> ParseRegexSearch(std::string_view pattern);

}  // namespace pagoda
