#include "guided/json_parts.h"

#include <cstdio>
#include <map>
#include <memory>

namespace pagoda {
namespace {

ExprPtr Lit(std::string s) { return ExprLiteral(std::move(s)); }
ExprPtr Range(char lo, char hi) { return ExprChars({{static_cast<uint32_t>(lo), static_cast<uint32_t>(hi)}}); }
ExprPtr Digit() { return Range('0', '9'); }
ExprPtr Hex() { return ExprChars({{'0', '9'}, {'A', 'F'}, {'a', 'f'}}); }

// Characters JSON allows unescaped inside a string.
const CharSet& RawStringChars() {
  static const CharSet raw = ComplementCharSet({{0, 0x1F}, {'"', '"'}, {'\\', '\\'}});
  return raw;
}

// Digit strings of one length between x and y (x <= y), leading zeros allowed.
ExprPtr SameLength(const std::string& x, const std::string& y) {
  const size_t n = x.size();
  if (n == 0) return ExprEmpty();
  if (x == y) return Lit(x);
  const std::string xr = x.substr(1), yr = y.substr(1);
  if (x[0] == y[0]) return ExprSeq({Lit(x.substr(0, 1)), SameLength(xr, yr)});
  const bool x_low = xr.find_first_not_of('0') == std::string::npos;
  const bool y_high = yr.find_first_not_of('9') == std::string::npos;
  std::vector<ExprPtr> alts;
  char mid_lo = static_cast<char>(x[0] + 1), mid_hi = static_cast<char>(y[0] - 1);
  if (x_low) {
    mid_lo = x[0];
  } else {
    alts.push_back(ExprSeq({Lit(x.substr(0, 1)), SameLength(xr, std::string(n - 1, '9'))}));
  }
  if (y_high) mid_hi = y[0];
  if (mid_lo <= mid_hi) {
    alts.push_back(ExprSeq({Range(mid_lo, mid_hi), ExprRepeat(Digit(), static_cast<int32_t>(n - 1), static_cast<int32_t>(n - 1))}));
  }
  if (!y_high) alts.push_back(ExprSeq({Lit(y.substr(0, 1)), SameLength(std::string(n - 1, '0'), yr)}));
  return ExprAlt(std::move(alts));
}

// Canonical decimals of the integers in [a, b] (a >= 0); b absent: no bound.
ExprPtr NonNegativeRange(uint64_t a, std::optional<uint64_t> b) {
  if (b && *b < a) return ExprNothing();
  const std::string as = std::to_string(a);
  std::vector<ExprPtr> alts;
  const std::string bs = b ? std::to_string(*b) : std::string(as.size(), '9');
  for (size_t len = as.size(); len <= bs.size(); ++len) {
    const std::string lo = len == as.size() ? as : "1" + std::string(len - 1, '0');
    const std::string hi = len == bs.size() ? bs : std::string(len, '9');
    alts.push_back(SameLength(lo, hi));
  }
  if (!b) {  // every number with more digits than `a`
    alts.push_back(ExprSeq({Range('1', '9'), ExprRepeat(Digit(), static_cast<int32_t>(as.size()), -1)}));
  }
  return ExprAlt(std::move(alts));
}

uint64_t Magnitude(int64_t v) { return v < 0 ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v); }

}  // namespace

ExprPtr JsonWs(bool any_whitespace) {
  if (any_whitespace) return ExprStar(ExprChars({{'\t', '\n'}, {'\r', '\r'}, {' ', ' '}}));
  return ExprOptional(ExprAlt({Lit(" "), ExprSeq({Lit("\n"), ExprRepeat(ExprChars({{'\t', '\t'}, {' ', ' '}}), 0, 20)})}));
}

ExprPtr JsonStringChar() {
  // \u escapes exclude surrogates so each escape stands for one character.
  const ExprPtr hex4 = ExprAlt({ExprSeq({ExprChars({{'0', '9'}, {'A', 'C'}, {'E', 'F'}, {'a', 'c'}, {'e', 'f'}}),
                                        Hex(), Hex(), Hex()}),
                                ExprSeq({ExprChars({{'D', 'D'}, {'d', 'd'}}), Range('0', '7'), Hex(), Hex()})});
  const ExprPtr escape = ExprSeq(
      {Lit("\\"), ExprAlt({ExprChars({{'"', '"'}, {'/', '/'}, {'\\', '\\'}, {'b', 'b'}, {'f', 'f'}, {'n', 'n'},
                                      {'r', 'r'}, {'t', 't'}}),
                           ExprSeq({Lit("u"), hex4})})});
  return ExprAlt({ExprChars(RawStringChars()), escape});
}

ExprPtr JsonEscapedChars(const CharSet& chars) {
  std::vector<ExprPtr> alts;
  CharSet raw;
  for (const auto& r : chars) {
    for (const auto& q : RawStringChars()) {
      const uint32_t lo = std::max(r.lo, q.lo), hi = std::min(r.hi, q.hi);
      if (lo <= hi) raw.push_back({lo, hi});
    }
  }
  alts.push_back(ExprChars(raw));
  auto add = [&](uint32_t cp, std::string text) {
    if (CharSetContains(chars, cp)) alts.push_back(Lit(std::move(text)));
  };
  add('"', "\\\"");
  add('\\', "\\\\");
  for (uint32_t c = 0; c < 0x20; ++c) {
    switch (c) {
      case '\b': add(c, "\\b"); break;
      case '\f': add(c, "\\f"); break;
      case '\n': add(c, "\\n"); break;
      case '\r': add(c, "\\r"); break;
      case '\t': add(c, "\\t"); break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        add(c, buf);
      }
    }
  }
  return ExprAlt(std::move(alts));
}

ExprPtr IntegerRange(std::optional<int64_t> lo, std::optional<int64_t> hi) {
  if (lo && hi && *lo > *hi) return ExprNothing();
  std::vector<ExprPtr> alts;
  if (!lo || *lo < 0) {  // negative part: "-" then magnitudes
    const int64_t neg_hi = hi ? std::min<int64_t>(*hi, -1) : -1;
    if (!lo || *lo <= neg_hi) {
      std::optional<uint64_t> mag_hi;
      if (lo) mag_hi = Magnitude(*lo);
      alts.push_back(ExprSeq({Lit("-"), NonNegativeRange(Magnitude(neg_hi), mag_hi)}));
    }
  }
  if (!hi || *hi >= 0) {
    const uint64_t a = lo ? static_cast<uint64_t>(std::max<int64_t>(*lo, 0)) : 0;
    std::optional<uint64_t> b;
    if (hi) b = static_cast<uint64_t>(*hi);
    alts.push_back(NonNegativeRange(a, b));
  }
  return ExprAlt(std::move(alts));
}

ExprPtr NumberRange(std::optional<int64_t> lo, std::optional<int64_t> hi) {
  const ExprPtr frac = ExprSeq({Lit("."), ExprPlus(Digit())});
  if (!lo && !hi) {
    const ExprPtr exp = ExprSeq({ExprChars({{'E', 'E'}, {'e', 'e'}}), ExprOptional(ExprChars({{'+', '+'}, {'-', '-'}})),
                                 ExprPlus(Digit())});
    return ExprSeq({ExprOptional(Lit("-")), IntegerRange(0, std::nullopt), ExprOptional(frac), ExprOptional(exp)});
  }
  if (lo && hi && *lo > *hi) return ExprNothing();
  std::vector<ExprPtr> alts = {IntegerRange(lo, hi)};
  // n.f lies in [n, n + 1): inside the range when lo <= n and n + 1 <= hi.
  const int64_t pos_lo = lo ? std::max<int64_t>(*lo, 0) : 0;
  std::optional<int64_t> pos_hi;
  if (hi) pos_hi = *hi - 1;
  if (!pos_hi || *pos_hi >= pos_lo) alts.push_back(ExprSeq({IntegerRange(pos_lo, pos_hi), frac}));
  // -n.f lies in (-n - 1, -n]: inside when -n - 1 >= lo and -n <= hi.
  const int64_t neg_lo = hi ? std::max<int64_t>(-*hi, 0) : 0;
  std::optional<int64_t> neg_hi;
  if (lo) neg_hi = -*lo - 1;
  if (!neg_hi || *neg_hi >= neg_lo) alts.push_back(ExprSeq({Lit("-"), IntegerRange(neg_lo, neg_hi), frac}));
  return ExprAlt(std::move(alts));
}

StatusOr<ExprPtr> JsonFormat(std::string_view format) {
  auto alt = [](std::initializer_list<const char*> xs) {
    std::vector<ExprPtr> v;
    for (const char* x : xs) v.push_back(Lit(x));
    return ExprAlt(std::move(v));
  };
  auto rep = [](ExprPtr e, int n) { return ExprRepeat(std::move(e), n, n); };
  const ExprPtr d01_28 = ExprAlt({ExprSeq({Lit("0"), Range('1', '9')}), ExprSeq({Lit("1"), Digit()}),
                                  ExprSeq({Lit("2"), Range('0', '8')})});
  const ExprPtr d29 = ExprAlt({d01_28, Lit("29")});
  const ExprPtr d30 = ExprAlt({d29, Lit("30")});
  const ExprPtr d31 = ExprAlt({d30, Lit("31")});
  // No February 29th: whether it exists depends on the year.
  const ExprPtr date = ExprSeq({Range('1', '9'), rep(Digit(), 3), Lit("-"),
                                ExprAlt({ExprSeq({alt({"01", "03", "05", "07", "08", "10", "12"}), Lit("-"), d31}),
                                         ExprSeq({alt({"04", "06", "09", "11"}), Lit("-"), d30}),
                                         ExprSeq({Lit("02-"), d01_28})})});
  const ExprPtr hh = ExprAlt({ExprSeq({Range('0', '1'), Digit()}), ExprSeq({Lit("2"), Range('0', '3')})});
  const ExprPtr mm = ExprSeq({Range('0', '5'), Digit()});
  const ExprPtr time = ExprSeq({hh, Lit(":"), mm, Lit(":"), mm, ExprOptional(ExprSeq({Lit("."), ExprPlus(Digit())})),
                                ExprAlt({Lit("Z"), ExprSeq({ExprChars({{'+', '+'}, {'-', '-'}}), hh, Lit(":"), mm})})});
  const ExprPtr alnum = ExprChars({{'0', '9'}, {'A', 'Z'}, {'a', 'z'}});
  const ExprPtr label = ExprSeq({alnum, ExprOptional(ExprSeq({ExprRepeat(ExprChars({{'-', '-'}, {'0', '9'}, {'A', 'Z'}, {'a', 'z'}}), 0, 61), alnum}))});
  if (format == "date") return date;
  if (format == "time") return time;
  if (format == "date-time") return ExprSeq({date, Lit("T"), time});
  if (format == "uuid") {
    return ExprSeq({rep(Hex(), 8), Lit("-"), rep(Hex(), 4), Lit("-"), rep(Hex(), 4), Lit("-"), rep(Hex(), 4), Lit("-"),
                    rep(Hex(), 12)});
  }
  if (format == "email") {
    const ExprPtr atom = ExprPlus(ExprChars({{'!', '!'}, {'#', '\''}, {'*', '+'}, {'-', '-'}, {'/', '9'}, {'=', '='},
                                             {'?', '?'}, {'A', 'Z'}, {'^', '~'}}));
    // Domain labels without the 63-character cap of hostnames: the cap
    // costs dozens of automaton states per use and no validator checks it.
    const ExprPtr alnums = ExprPlus(alnum);
    const ExprPtr domain_label = ExprSeq({alnums, ExprStar(ExprSeq({Lit("-"), alnums}))});
    return ExprSeq({atom, ExprStar(ExprSeq({Lit("."), atom})), Lit("@"), domain_label,
                    ExprPlus(ExprSeq({Lit("."), domain_label}))});
  }
  if (format == "ipv4") {
    const ExprPtr octet = ExprAlt({ExprSeq({Lit("25"), Range('0', '5')}), ExprSeq({Lit("2"), Range('0', '4'), Digit()}),
                                   ExprSeq({Lit("1"), Digit(), Digit()}), ExprSeq({Range('1', '9'), Digit()}), Digit()});
    return ExprSeq({octet, Lit("."), octet, Lit("."), octet, Lit("."), octet});
  }
  if (format == "hostname") return ExprSeq({label, ExprStar(ExprSeq({Lit("."), label}))});
  return InvalidArgument("unsupported string format '" + std::string(format) +
                         "' (supported: date, time, date-time, uuid, email, ipv4, hostname)");
}

namespace {

struct TrieNode {
  bool terminal = false;
  std::map<uint32_t, std::unique_ptr<TrieNode>> children;
};

ExprPtr Excluding(const TrieNode& node) {
  const CharSet& raw = RawStringChars();
  std::vector<ExprPtr> alts;
  if (!node.terminal) alts.push_back(ExprEmpty());
  CharSet taken;
  for (const auto& [cp, child] : node.children) {
    taken.push_back({cp, cp});
    alts.push_back(ExprSeq({ExprChar(cp), Excluding(*child)}));
  }
  alts.push_back(ExprSeq({ExprChars(SubtractCharSet(raw, taken)), ExprStar(ExprChars(raw))}));
  return ExprAlt(std::move(alts));
}

}  // namespace

ExprPtr StringContentExcluding(const std::vector<std::string>& excluded) {
  TrieNode root;
  const CharSet& raw = RawStringChars();
  for (const auto& s : excluded) {
    TrieNode* node = &root;
    bool writable = true;  // a name needing escapes cannot be written raw anyway
    for (size_t pos = 0; pos < s.size() && writable;) {
      const int32_t cp = NextCodePoint(s, &pos);
      if (cp < 0 || !CharSetContains(raw, static_cast<uint32_t>(cp))) {
        writable = false;
        break;
      }
      auto& child = node->children[static_cast<uint32_t>(cp)];
      if (!child) child = std::make_unique<TrieNode>();
      node = child.get();
    }
    if (writable) node->terminal = true;
  }
  return Excluding(root);
}

FreeJsonRules AddFreeJsonRules(GrammarBuilder* b, bool any_ws) {
  FreeJsonRules r;
  r.value = b->AddRule(b->UniqueName("json-value"));
  r.object = b->AddRule(b->UniqueName("json-object"));
  r.array = b->AddRule(b->UniqueName("json-array"));
  const ExprPtr ws = JsonWs(any_ws);
  const ExprPtr string = ExprSeq({Lit("\""), ExprStar(JsonStringChar()), Lit("\"")});
  const ExprPtr colon = any_ws ? ExprSeq({ws, Lit(":"), ws}) : ExprSeq({Lit(":"), ws});
  const ExprPtr comma = any_ws ? ExprSeq({ws, Lit(","), ws}) : ExprSeq({Lit(","), ws});
  const ExprPtr member = ExprSeq({string, colon, ExprRef(r.value)});
  b->SetRule(r.value, ExprAlt({ExprRef(r.object), ExprRef(r.array), string, NumberRange(std::nullopt, std::nullopt),
                               Lit("true"), Lit("false"), Lit("null")}));
  b->SetRule(r.object, ExprSeq({Lit("{"), ws, ExprOptional(ExprSeq({member, ExprStar(ExprSeq({comma, member})), ws})),
                                Lit("}")}));
  b->SetRule(r.array, ExprSeq({Lit("["), ws,
                               ExprOptional(ExprSeq({ExprRef(r.value), ExprStar(ExprSeq({comma, ExprRef(r.value)})), ws})),
                               Lit("]")}));
  return r;
}

}  // namespace pagoda
