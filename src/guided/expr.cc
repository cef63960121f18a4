#include "guided/expr.h"

#include <algorithm>
#include <cstdio>

namespace pagoda {

CharSet NormalizeCharSet(CharSet set) {
  for (auto& r : set) {
    if (r.hi > kMaxCodePoint) r.hi = kMaxCodePoint;
  }
  std::erase_if(set, [](const CodeRange& r) { return r.lo > r.hi; });
  std::sort(set.begin(), set.end(), [](const CodeRange& a, const CodeRange& b) { return a.lo < b.lo; });
  CharSet out;
  for (const auto& r : set) {
    if (!out.empty() && r.lo <= out.back().hi + 1) {
      out.back().hi = std::max(out.back().hi, r.hi);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

CharSet ComplementCharSet(const CharSet& set) {
  CharSet norm = NormalizeCharSet(set);
  CharSet out;
  uint32_t next = 0;
  for (const auto& r : norm) {
    if (r.lo > next) out.push_back({next, r.lo - 1});
    next = r.hi + 1;
  }
  if (next <= kMaxCodePoint) out.push_back({next, kMaxCodePoint});
  return out;
}

CharSet UnionCharSets(const CharSet& a, const CharSet& b) {
  CharSet all = a;
  all.insert(all.end(), b.begin(), b.end());
  return NormalizeCharSet(std::move(all));
}

CharSet SubtractCharSet(const CharSet& a, const CharSet& b) {
  // a minus b = complement(complement(a) union b)
  return ComplementCharSet(UnionCharSets(ComplementCharSet(a), b));
}

bool CharSetContains(const CharSet& set, uint32_t cp) {
  for (const auto& r : set) {
    if (cp >= r.lo && cp <= r.hi) return true;
  }
  return false;
}

int32_t NextCodePoint(std::string_view text, size_t* pos) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = *pos;
  if (i >= n) return -1;
  const unsigned char c = s[i];
  int len;
  uint32_t cp;
  if (c < 0x80) {
    *pos = i + 1;
    return c;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return -1;
  }
  if (i + len > n) return -1;
  for (int k = 1; k < len; ++k) {
    if ((s[i + k] & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (s[i + k] & 0x3F);
  }
  static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *pos = i + len;
  return static_cast<int32_t>(cp);
}

namespace {

ExprPtr Make(ExprKind kind, std::string literal = {}, CharSet chars = {}, std::vector<ExprPtr> items = {},
             int32_t min = 0, int32_t max = 0, int32_t rule = -1) {
  auto e = std::make_shared<GrammarExpr>();
  e->kind = kind;
  e->literal = std::move(literal);
  e->chars = std::move(chars);
  e->items = std::move(items);
  e->min = min;
  e->max = max;
  e->rule = rule;
  return e;
}

}  // namespace

ExprPtr ExprEmpty() {
  static const ExprPtr e = Make(ExprKind::kEmpty);
  return e;
}

ExprPtr ExprNothing() {
  static const ExprPtr e = Make(ExprKind::kNothing);
  return e;
}

ExprPtr ExprLiteral(std::string bytes) {
  if (bytes.empty()) return ExprEmpty();
  return Make(ExprKind::kLiteral, std::move(bytes));
}

ExprPtr ExprChars(CharSet set) {
  set = NormalizeCharSet(std::move(set));
  if (set.empty()) return ExprNothing();
  return Make(ExprKind::kChars, {}, std::move(set));
}

ExprPtr ExprChar(uint32_t cp) { return ExprChars(SingleChar(cp)); }

ExprPtr ExprSeq(std::vector<ExprPtr> items) {
  std::vector<ExprPtr> flat;
  for (auto& it : items) {
    if (it->kind == ExprKind::kNothing) return ExprNothing();
    if (it->kind == ExprKind::kEmpty) continue;
    if (it->kind == ExprKind::kSeq) {
      flat.insert(flat.end(), it->items.begin(), it->items.end());
    } else if (it->kind == ExprKind::kLiteral && !flat.empty() &&
               flat.back()->kind == ExprKind::kLiteral) {
      // Adjacent literals merge so the printed form and the automaton stay small.
      flat.back() = ExprLiteral(flat.back()->literal + it->literal);
    } else {
      flat.push_back(std::move(it));
    }
  }
  if (flat.empty()) return ExprEmpty();
  if (flat.size() == 1) return flat[0];
  return Make(ExprKind::kSeq, {}, {}, std::move(flat));
}

ExprPtr ExprAlt(std::vector<ExprPtr> items) {
  std::vector<ExprPtr> flat;
  for (auto& it : items) {
    if (it->kind == ExprKind::kNothing) continue;
    if (it->kind == ExprKind::kAlt) {
      flat.insert(flat.end(), it->items.begin(), it->items.end());
    } else {
      flat.push_back(std::move(it));
    }
  }
  if (flat.empty()) return ExprNothing();
  if (flat.size() == 1) return flat[0];
  return Make(ExprKind::kAlt, {}, {}, std::move(flat));
}

ExprPtr ExprRepeat(ExprPtr item, int32_t min, int32_t max) {
  if (max >= 0 && max < min) return ExprNothing();
  if (max == 0) return ExprEmpty();
  if (min == 1 && max == 1) return item;
  if (item->kind == ExprKind::kEmpty) return item;
  if (item->kind == ExprKind::kNothing) return min == 0 ? ExprEmpty() : item;
  return Make(ExprKind::kRepeat, {}, {}, {std::move(item)}, min, max);
}

ExprPtr ExprRef(int32_t rule) { return Make(ExprKind::kRuleRef, {}, {}, {}, 0, 0, rule); }

namespace {

void AppendCodePoint(uint32_t cp, std::string* out) {
  if (cp >= 0x20 && cp < 0x7F && cp != '\\' && cp != ']' && cp != '-' && cp != '"') {
    out->push_back(static_cast<char>(cp));
  } else {
    char buf[16];
    std::snprintf(buf, sizeof(buf), cp <= 0xFF ? "\\x%02X" : "\\u{%X}", cp);
    *out += buf;
  }
}

void Print(const GrammarExpr& e, std::string* out) {
  switch (e.kind) {
    case ExprKind::kEmpty:
      *out += "\"\"";
      return;
    case ExprKind::kNothing:
      *out += "[]";
      return;
    case ExprKind::kLiteral:
      out->push_back('"');
      for (unsigned char c : e.literal) AppendCodePoint(c, out);
      out->push_back('"');
      return;
    case ExprKind::kChars:
      out->push_back('[');
      for (const auto& r : e.chars) {
        AppendCodePoint(r.lo, out);
        if (r.hi != r.lo) {
          out->push_back('-');
          AppendCodePoint(r.hi, out);
        }
      }
      out->push_back(']');
      return;
    case ExprKind::kSeq:
    case ExprKind::kAlt:
      out->push_back('(');
      for (size_t i = 0; i < e.items.size(); ++i) {
        if (i > 0) *out += e.kind == ExprKind::kSeq ? " " : " | ";
        Print(*e.items[i], out);
      }
      out->push_back(')');
      return;
    case ExprKind::kRepeat:
      Print(*e.items[0], out);
      *out += "{" + std::to_string(e.min) + "," + (e.max < 0 ? std::string() : std::to_string(e.max)) + "}";
      return;
    case ExprKind::kRuleRef:
      *out += "<" + std::to_string(e.rule) + ">";
      return;
  }
}

}  // namespace

std::string ExprToString(const GrammarExpr& e) {
  std::string out;
  Print(e, &out);
  return out;
}

}  // namespace pagoda
