// Building blocks of JSON grammars (internal to the guided module):
// whitespace, string contents, integer and number ranges as decimal
// patterns, the string formats structured output supports, and the free
// JSON value rules. The JSON Schema converter assembles these.
// Thread-safety: pure functions (the rule makers only touch the builder
// passed in).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "guided/expr.h"
#include "guided/grammar.h"

namespace pagoda {

struct JsonSchemaOptions;

// Whitespace between JSON tokens: with any_whitespace, [ \t\n\r]*; else at
// most a single space, or a newline and up to 20 spaces/tabs of
// indentation (compact, spaced and pretty-printed JSON all fit, and a model
// cannot stall in endless whitespace).
ExprPtr JsonWs(bool any_whitespace);

// One character of a JSON string as written: any character but '"', '\\'
// and controls, or an escape (\" \\ \/ \b \f \n \r \t \uXXXX, where the
// \u form is limited to non-surrogates so each escape is one character).
ExprPtr JsonStringChar();

// The text of one character from `chars` inside a JSON string: the
// character itself where JSON allows it raw, else its escape. Used to map
// patterns over string values onto JSON text.
ExprPtr JsonEscapedChars(const CharSet& chars);

// Canonical decimal integers (no leading zeros, no "-0") in [lo, hi]; an
// absent bound is unbounded. Nothing when the range is empty.
ExprPtr IntegerRange(std::optional<int64_t> lo, std::optional<int64_t> hi);

// JSON numbers in [lo, hi] for integer bounds: integers in range, and
// decimals whose integer part keeps them inside the range whatever the
// fraction. Unbounded on both sides: any JSON number.
ExprPtr NumberRange(std::optional<int64_t> lo, std::optional<int64_t> hi);

// A string format's text (without quotes), or an error naming the format.
// Supported: date, time, date-time, uuid, email, ipv4, hostname.
StatusOr<ExprPtr> JsonFormat(std::string_view format);

// Raw string contents (no escapes) that differ from every string in
// `excluded`: used for additional property names, which must not repeat a
// declared property.
ExprPtr StringContentExcluding(const std::vector<std::string>& excluded);

// Rules for any JSON value/object/array, created on first use.
struct FreeJsonRules {
  int32_t value = -1;
  int32_t object = -1;
  int32_t array = -1;
};
FreeJsonRules AddFreeJsonRules(GrammarBuilder* b, bool any_whitespace);

}  // namespace pagoda
