// GrammarExpr: the pattern tree that every constraint front end (JSON Schema,
// regular expression, choice, GBNF) lowers to. A grammar is a list of rules,
// each with one GrammarExpr body; GrammarBuilder turns the bodies into
// byte-level automata. Character classes stay symbolic (Unicode code-point
// ranges) here and are encoded as UTF-8 byte sequences once, in the builder,
// so every front end gets valid UTF-8 output for free.
// Thread-safety: expressions are immutable values shared through shared_ptr;
// safe to read from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/utf8.h"

namespace pagoda {

inline constexpr uint32_t kMaxCodePoint = 0x10FFFF;

// An inclusive range of Unicode code points.
struct CodeRange {
  uint32_t lo;
  uint32_t hi;
};

// A set of code points: sorted, disjoint, non-adjacent ranges. Surrogates
// (U+D800..U+DFFF) are never encodable and are dropped when encoding.
using CharSet = std::vector<CodeRange>;

CharSet NormalizeCharSet(CharSet set);
// Every code point in [0, U+10FFFF] that `set` lacks.
CharSet ComplementCharSet(const CharSet& set);
CharSet UnionCharSets(const CharSet& a, const CharSet& b);
CharSet SubtractCharSet(const CharSet& a, const CharSet& b);
bool CharSetContains(const CharSet& set, uint32_t cp);
inline CharSet SingleChar(uint32_t cp) { return {{cp, cp}}; }

// Decodes one UTF-8 code point at text[*pos] (advancing *pos); returns -1 on
// an invalid, overlong or surrogate sequence. (Encoding: AppendUtf8 from
// tokenizer/utf8.h.)
int32_t NextCodePoint(std::string_view text, size_t* pos);

enum class ExprKind : uint8_t {
  kEmpty,    // matches the empty string
  kNothing,  // matches no string at all
  kLiteral,  // the bytes in `literal`
  kChars,    // one code point from `chars`, as UTF-8
  kSeq,      // items in order
  kAlt,      // any one of items
  kRepeat,   // items[0] repeated min..max times (max < 0: unbounded)
  kRuleRef,  // the rule numbered `rule`
};

struct GrammarExpr;
using ExprPtr = std::shared_ptr<const GrammarExpr>;

struct GrammarExpr {
  ExprKind kind = ExprKind::kEmpty;
  std::string literal;
  CharSet chars;
  std::vector<ExprPtr> items;
  int32_t min = 0;
  int32_t max = 0;
  int32_t rule = -1;
};

ExprPtr ExprEmpty();
ExprPtr ExprNothing();
ExprPtr ExprLiteral(std::string bytes);
ExprPtr ExprChars(CharSet set);  // an empty set gives ExprNothing()
ExprPtr ExprChar(uint32_t cp);
// Seq/Alt flatten nested nodes of their own kind and drop neutral items
// (Empty in a sequence, Nothing in an alternation).
ExprPtr ExprSeq(std::vector<ExprPtr> items);
ExprPtr ExprAlt(std::vector<ExprPtr> items);
ExprPtr ExprRepeat(ExprPtr item, int32_t min, int32_t max);
inline ExprPtr ExprOptional(ExprPtr e) { return ExprRepeat(std::move(e), 0, 1); }
inline ExprPtr ExprStar(ExprPtr e) { return ExprRepeat(std::move(e), 0, -1); }
inline ExprPtr ExprPlus(ExprPtr e) { return ExprRepeat(std::move(e), 1, -1); }
ExprPtr ExprRef(int32_t rule);

// Rewrites every character class and literal in `e` through `fn`, which maps
// a code-point class to the expression that stands for one such character
// (used to turn a pattern over string values into one over JSON-escaped
// text). Literals are split into their code points first.
template <typename Fn>
ExprPtr MapChars(const ExprPtr& e, const Fn& fn);

// A printable form for tests and error messages.
std::string ExprToString(const GrammarExpr& e);

// ---- implementation of the template ----

template <typename Fn>
ExprPtr MapChars(const ExprPtr& e, const Fn& fn) {
  switch (e->kind) {
    case ExprKind::kEmpty:
    case ExprKind::kNothing:
    case ExprKind::kRuleRef:
      return e;
    case ExprKind::kChars:
      return fn(e->chars);
    case ExprKind::kLiteral: {
      std::vector<ExprPtr> parts;
      for (size_t pos = 0; pos < e->literal.size();) {
        const int32_t cp = NextCodePoint(e->literal, &pos);
        if (cp < 0) return ExprNothing();
        parts.push_back(fn(SingleChar(static_cast<uint32_t>(cp))));
      }
      return ExprSeq(std::move(parts));
    }
    case ExprKind::kSeq:
    case ExprKind::kAlt: {
      std::vector<ExprPtr> items;
      items.reserve(e->items.size());
      for (const auto& it : e->items) items.push_back(MapChars(it, fn));
      return e->kind == ExprKind::kSeq ? ExprSeq(std::move(items)) : ExprAlt(std::move(items));
    }
    case ExprKind::kRepeat:
      return ExprRepeat(MapChars(e->items[0], fn), e->min, e->max);
  }
  return e;
}

}  // namespace pagoda
