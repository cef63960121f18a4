// Jinja2's built-in filters with their Python behaviour, and Hugging Face's
// tojson (json.dumps with ensure_ascii=False by default).

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <map>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/text_util.h"
#include "tokenizer/utf8.h"

namespace pagoda::jinja {
namespace {

const Value kNone(nullptr);
const Value kFalse(false);

std::string Str(const Value& v) { return ToStr(v); }

// A string argument; `fallback` when absent or None.
std::string StrArg(const CallArgs& a, size_t pos, std::string_view name, std::string fallback) {
  const Value& v = a.Get(pos, name, kNone);
  return v.is_none() ? fallback : Str(v);
}

int64_t IntArg(const CallArgs& a, size_t pos, std::string_view name, int64_t fallback) {
  const Value& v = a.Get(pos, name, kNone);
  return v.is_number() ? v.ToInt() : fallback;
}

bool BoolArg(const CallArgs& a, size_t pos, std::string_view name, bool fallback) {
  if (!a.Has(pos, name)) return fallback;
  return Truthy(a.Get(pos, name, kNone));
}

// attribute="a.b" or an integer index path, as Jinja2's make_attrgetter.
Value AttrPath(Interpreter& in, const Value& item, const Value& attr) {
  if (attr.is_int()) return in.GetItem(item, attr);
  Value v = item;
  const std::string path = Str(attr);
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    v = digits ? in.GetItem(v, Value(static_cast<int64_t>(std::stoll(part)))) : in.GetItem(v, Value(part));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

Value Sorted(Interpreter& in, std::vector<Value> items, bool reverse, bool case_sensitive,
             const Value& attribute) {
  auto key = [&](const Value& v) {
    Value k = attribute.is_none() ? v : AttrPath(in, v, attribute);
    if (!case_sensitive && k.is_string()) return Value(PyLower(k.as_string()));
    return k;
  };
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& v : items) keyed.emplace_back(key(v), std::move(v));
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    return reverse ? Compare(b.first, a.first) < 0 : Compare(a.first, b.first) < 0;
  });
  std::vector<Value> out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return Value::MakeList(std::move(out));
}

int64_t Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return 0;
    case Value::Kind::kString: return static_cast<int64_t>(CodePointCount(v.as_string()));
    case Value::Kind::kList:
      if (v.list().generator) break;
      return static_cast<int64_t>(v.list().items.size());
    case Value::Kind::kDict: return static_cast<int64_t>(v.dict().items.size());
    default: break;
  }
  throw TemplateError("TypeError: object of type '" + TypeName(v) + "' has no len()");
}

Value FLength(Interpreter&, const Value& v, CallArgs&) { return Value(Length(v)); }

Value FDefault(Interpreter&, const Value& v, CallArgs& a) {
  const bool boolean = BoolArg(a, 1, "boolean", false);
  if (v.is_undefined() || (boolean && !Truthy(v))) return a.Get(0, "default_value", Value(""));
  return v;
}

Value FTrim(Interpreter&, const Value& v, CallArgs& a) {
  const Value& chars = a.Get(0, "chars", kNone);
  std::string c = chars.is_none() ? "" : Str(chars);
  return Value(PyStrip(Str(v), chars.is_none() ? nullptr : &c, true, true), v.is_safe());
}

Value FToJson(Interpreter&, const Value& v, CallArgs& a) {
  JsonOptions o;
  o.ensure_ascii = BoolArg(a, 0, "ensure_ascii", false);
  const Value& indent = a.Get(1, "indent", kNone);
  if (indent.is_number()) {
    o.indent = static_cast<int>(std::max<int64_t>(0, indent.ToInt()));
    o.item_sep = ",";
  } else if (indent.is_string()) {
    throw TemplateError("TypeError: string indents are not supported by tojson");
  }
  const Value& seps = a.Get(2, "separators", kNone);
  if (seps.is_list() && seps.list().items.size() == 2) {
    o.item_sep = Str(seps.list().items[0]);
    o.key_sep = Str(seps.list().items[1]);
  }
  o.sort_keys = BoolArg(a, 3, "sort_keys", false);
  return Value(ToJson(v, o));
}

Value FString(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() ? v : Value(Str(v));
}

Value FSafe(Interpreter&, const Value& v, CallArgs&) { return Value(Str(v), true); }

Value FEscape(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_string() && v.is_safe()) return v;
  return Value(HtmlEscape(Str(v)), true);
}

Value FUpper(Interpreter&, const Value& v, CallArgs&) { return Value(PyUpper(Str(v)), v.is_safe()); }
Value FLower(Interpreter&, const Value& v, CallArgs&) { return Value(PyLower(Str(v)), v.is_safe()); }
Value FCapitalize(Interpreter&, const Value& v, CallArgs&) { return Value(PyCapitalize(Str(v)), v.is_safe()); }

// Jinja2's title: capitalise each piece after a run of -, whitespace or
// an opening bracket.
Value FTitle(Interpreter&, const Value& v, CallArgs&) {
  const std::string s = Str(v);
  std::string out;
  size_t pos = 0;
  auto is_sep = [](char c) {
    return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || c == ' ' || c == '\t' || c == '\n' ||
           c == '\r' || c == '\f' || c == '\v';
  };
  while (pos < s.size()) {
    size_t e = pos;
    if (is_sep(s[pos])) {
      while (e < s.size() && is_sep(s[e])) ++e;
      out += s.substr(pos, e - pos);
    } else {
      while (e < s.size() && !is_sep(s[e])) ++e;
      out += PyCapitalize(s.substr(pos, e - pos));
    }
    pos = e;
  }
  return Value(out, v.is_safe());
}

Value FReplace(Interpreter&, const Value& v, CallArgs& a) {
  const std::string s = Str(v);
  std::string from = Str(a.Get(0, "old", Value("")));
  std::string to = Str(a.Get(1, "new", Value("")));
  if (v.is_safe()) {
    const Value& f = a.Get(0, "old", Value(""));
    const Value& t = a.Get(1, "new", Value(""));
    if (!f.is_safe()) from = HtmlEscape(from);
    if (!t.is_safe()) to = HtmlEscape(to);
  }
  const Value& count = a.Get(2, "count", kNone);
  return Value(PyReplace(s, from, to, count.is_number() ? count.ToInt() : -1), v.is_safe());
}

Value FJoin(Interpreter& in, const Value& v, CallArgs& a) {
  const std::string sep = StrArg(a, 0, "d", "");
  const Value& attr = a.Get(1, "attribute", kNone);
  std::string out;
  bool first = true;
  for (const Value& item : in.Iterate(v)) {
    if (!first) out += sep;
    first = false;
    out += Str(attr.is_none() ? item : AttrPath(in, item, attr));
  }
  return Value(std::move(out));
}

Value FList(Interpreter& in, const Value& v, CallArgs&) { return Value::MakeList(in.Iterate(v)); }

Value FFirst(Interpreter& in, const Value& v, CallArgs&) {
  std::vector<Value> items = in.Iterate(v);
  if (items.empty()) return Value::MakeUndefined("UndefinedError: No first item, sequence was empty.");
  return items.front();
}

Value FLast(Interpreter& in, const Value& v, CallArgs&) {
  if (v.is_list() && v.list().generator) {
    throw TemplateError("TypeError: 'generator' object is not reversible");
  }
  std::vector<Value> items = in.Iterate(v);
  if (items.empty()) return Value::MakeUndefined("UndefinedError: No last item, sequence was empty.");
  return items.back();
}

Value FInt(Interpreter&, const Value& v, CallArgs& a) {
  const Value& dflt = a.Get(0, "default", Value(0));
  if (v.is_int() || v.is_bool()) return Value(v.ToInt());
  if (v.is_float()) {
    if (!std::isfinite(v.as_float())) return dflt;
    return Value(static_cast<int64_t>(v.as_float()));
  }
  if (v.is_string()) {
    std::string s = PyStrip(v.as_string(), nullptr, true, true);
    std::erase(s, '_');
    const int64_t base = IntArg(a, 1, "base", 10);
    char* end = nullptr;
    errno = 0;
    const long long i = std::strtoll(s.c_str(), &end, static_cast<int>(base));
    if (!s.empty() && end == s.c_str() + s.size() && errno == 0) return Value(static_cast<int64_t>(i));
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(d)) return Value(static_cast<int64_t>(d));
  }
  return dflt;
}

Value FFloat(Interpreter&, const Value& v, CallArgs& a) {
  const Value& dflt = a.Get(0, "default", Value(0.0));
  if (v.is_number()) return Value(v.ToDouble());
  if (v.is_string()) {
    const std::string s = PyStrip(v.as_string(), nullptr, true, true);
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size()) return Value(d);
  }
  return dflt;
}

Value FAbs(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_float()) return Value(std::fabs(v.as_float()));
  if (v.is_int() || v.is_bool()) return Value(std::abs(v.ToInt()));
  throw TemplateError("TypeError: bad operand type for abs(): '" + TypeName(v) + "'");
}

// Python's round(): halves to even.
Value FRound(Interpreter&, const Value& v, CallArgs& a) {
  if (!v.is_number()) throw TemplateError("TypeError: type " + TypeName(v) + " doesn't define __round__ method");
  const int64_t precision = IntArg(a, 0, "precision", 0);
  const std::string method = StrArg(a, 1, "method", "common");
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = v.ToDouble() * scale;
  double r;
  if (method == "ceil") {
    r = std::ceil(x);
  } else if (method == "floor") {
    r = std::floor(x);
  } else if (method == "common") {
    r = std::nearbyint(x);  // the default FE_TONEAREST rounds halves to even
  } else {
    throw TemplateError("FilterArgumentError: method must be common, ceil or floor");
  }
  return Value(r / scale);
}

Value FItems(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return Value::MakeGenerator({});
  if (!v.is_dict()) throw TemplateError("TypeError: Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, val] : v.dict().items) out.push_back(Value::MakeList({k, val}, true));
  return Value::MakeGenerator(std::move(out));
}

Value FDictSort(Interpreter& in, const Value& v, CallArgs& a) {
  if (!v.is_dict()) throw TemplateError("TypeError: dictsort needs a mapping");
  const bool case_sensitive = BoolArg(a, 0, "case_sensitive", false);
  const std::string by = StrArg(a, 1, "by", "key");
  const bool reverse = BoolArg(a, 2, "reverse", false);
  if (by != "key" && by != "value") throw TemplateError("FilterArgumentError: You can only sort by either \"key\" or \"value\"");
  std::vector<Value> pairs;
  for (const auto& [k, val] : v.dict().items) pairs.push_back(Value::MakeList({k, val}, true));
  return Sorted(in, std::move(pairs), reverse, case_sensitive, Value(static_cast<int64_t>(by == "key" ? 0 : 1)));
}

Value FSort(Interpreter& in, const Value& v, CallArgs& a) {
  return Sorted(in, in.Iterate(v), BoolArg(a, 0, "reverse", false), BoolArg(a, 1, "case_sensitive", false),
                a.Get(2, "attribute", kNone));
}

Value FUnique(Interpreter& in, const Value& v, CallArgs& a) {
  const bool case_sensitive = BoolArg(a, 0, "case_sensitive", false);
  const Value& attr = a.Get(1, "attribute", kNone);
  std::vector<Value> seen, out;
  for (const Value& item : in.Iterate(v)) {
    Value key = attr.is_none() ? item : AttrPath(in, item, attr);
    if (!case_sensitive && key.is_string()) key = Value(PyLower(key.as_string()));
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return Equals(s, key); })) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return Value::MakeGenerator(std::move(out));
}

Value FReverse(Interpreter& in, const Value& v, CallArgs&) {
  if (v.is_string()) return SliceValue(v, Value(nullptr), Value(nullptr), Value(-1));
  std::vector<Value> items = in.Iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::MakeGenerator(std::move(items));
}

// map(filter_name, *args) or map(attribute=..., default=...).
Value FMap(Interpreter& in, const Value& v, CallArgs& a) {
  std::vector<Value> out;
  if (!Truthy(v)) return Value::MakeGenerator({});  // Jinja2: `if value:` before iterating
  std::vector<Value> items = in.Iterate(v);
  for (const auto& [k, val] : a.kwargs) {
    if (k == "attribute") {
      const Value* dflt = nullptr;
      for (const auto& kv : a.kwargs) {
        if (kv.first == "default") dflt = &kv.second;
      }
      for (const Value& item : items) {
        Value r = AttrPath(in, item, val);
        out.push_back(r.is_undefined() && dflt ? *dflt : r);
      }
      return Value::MakeGenerator(std::move(out));
    }
  }
  if (a.args.empty()) throw TemplateError("FilterArgumentError: map requires a filter argument");
  const std::string name = Str(a.args[0]);
  CallArgs rest;
  rest.args.assign(a.args.begin() + 1, a.args.end());
  rest.kwargs = a.kwargs;
  for (const Value& item : items) {
    CallArgs copy = rest;
    out.push_back(in.ApplyFilter(name, item, copy));
  }
  return Value::MakeGenerator(std::move(out));
}

Value SelectOrReject(Interpreter& in, const Value& v, CallArgs& a, bool by_attr, bool select) {
  if (!Truthy(v)) return Value::MakeGenerator({});  // Jinja2: `if value:` before iterating
  size_t next = 0;
  Value attr;
  if (by_attr) {
    if (a.args.empty()) throw TemplateError("TypeError: missing attribute argument");
    attr = a.args[next++];
  }
  std::string test;
  if (next < a.args.size()) test = Str(a.args[next++]);
  CallArgs rest;
  rest.args.assign(a.args.begin() + std::min(next, a.args.size()), a.args.end());
  rest.kwargs = a.kwargs;
  std::vector<Value> out;
  for (const Value& item : in.Iterate(v)) {
    const Value subject = by_attr ? AttrPath(in, item, attr) : item;
    bool ok;
    if (test.empty()) {
      ok = Truthy(subject);
    } else {
      CallArgs copy = rest;
      ok = in.ApplyTest(test, subject, copy);
    }
    if (ok == select) out.push_back(item);
  }
  return Value::MakeGenerator(std::move(out));
}

Value FSelect(Interpreter& in, const Value& v, CallArgs& a) { return SelectOrReject(in, v, a, false, true); }
Value FReject(Interpreter& in, const Value& v, CallArgs& a) { return SelectOrReject(in, v, a, false, false); }
Value FSelectAttr(Interpreter& in, const Value& v, CallArgs& a) { return SelectOrReject(in, v, a, true, true); }
Value FRejectAttr(Interpreter& in, const Value& v, CallArgs& a) { return SelectOrReject(in, v, a, true, false); }

Value FAttr(Interpreter& in, const Value& v, CallArgs& a) { return in.GetAttr(v, Str(a.Get(0, "name", Value("")))); }

// Jinja2's indent: the first line is left alone unless first=True; blank
// lines stay empty unless blank=True.
Value FIndent(Interpreter&, const Value& v, CallArgs& a) {
  const Value& width = a.Get(0, "width", Value(4));
  const std::string pad = width.is_string() ? width.as_string() : std::string(std::max<int64_t>(0, width.ToInt()), ' ');
  const bool first = BoolArg(a, 1, "first", false);
  const bool blank = BoolArg(a, 2, "blank", false);
  const std::string s = Str(v) + "\n";
  std::vector<std::string> lines = PySplitLines(s);
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i > 0 ? "\n" + pad : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : pad + lines[i]);
  }
  if (first) rv = pad + rv;
  return Value(rv, v.is_safe());
}

Value FCenter(Interpreter&, const Value& v, CallArgs& a) {
  const std::string s = Str(v);
  const int64_t width = IntArg(a, 0, "width", 80);
  const int64_t n = static_cast<int64_t>(CodePointCount(s));
  if (width <= n) return Value(s);
  const int64_t total = width - n;
  const int64_t left = total / 2 + (total & width & 1);
  return Value(std::string(left, ' ') + s + std::string(total - left, ' '));
}

Value FWordCount(Interpreter&, const Value& v, CallArgs&) {
  const std::string s = Str(v);
  int64_t n = 0;
  bool in_word = false;
  for (size_t pos = 0; pos < s.size();) {
    size_t len;
    const int32_t cp = DecodeUtf8(s, pos, &len);
    const bool w = cp == '_' || (cp >= '0' && cp <= '9') || (cp >= 0 && PyIsAlpha(static_cast<uint32_t>(cp)));
    if (w && !in_word) ++n;
    in_word = w;
    pos += len;
  }
  return Value(n);
}

Value FBatch(Interpreter& in, const Value& v, CallArgs& a) {
  const int64_t count = IntArg(a, 0, "linecount", 1);
  if (count <= 0) throw TemplateError("ValueError: batch size must be positive");
  const Value& fill = a.Get(1, "fill_with", kNone);
  const bool do_fill = a.Has(1, "fill_with") && !fill.is_none();
  std::vector<Value> out, cur;
  for (const Value& item : in.Iterate(v)) {
    cur.push_back(item);
    if (static_cast<int64_t>(cur.size()) == count) {
      out.push_back(Value::MakeList(std::move(cur)));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    while (do_fill && static_cast<int64_t>(cur.size()) < count) cur.push_back(fill);
    out.push_back(Value::MakeList(std::move(cur)));
  }
  return Value::MakeGenerator(std::move(out));
}

Value MinMax(Interpreter& in, const Value& v, CallArgs& a, bool want_max) {
  const bool case_sensitive = BoolArg(a, 0, "case_sensitive", false);
  const Value& attr = a.Get(1, "attribute", kNone);
  std::vector<Value> items = in.Iterate(v);
  if (items.empty()) return Value::MakeUndefined("UndefinedError: No aggregated item, sequence was empty.");
  auto key = [&](const Value& x) {
    Value k = attr.is_none() ? x : AttrPath(in, x, attr);
    return (!case_sensitive && k.is_string()) ? Value(PyLower(k.as_string())) : k;
  };
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    const int c = Compare(key(items[i]), key(items[best]));
    if (want_max ? c > 0 : c < 0) best = i;
  }
  return items[best];
}

Value FMax(Interpreter& in, const Value& v, CallArgs& a) { return MinMax(in, v, a, true); }
Value FMin(Interpreter& in, const Value& v, CallArgs& a) { return MinMax(in, v, a, false); }

Value FSum(Interpreter& in, const Value& v, CallArgs& a) {
  const Value& attr = a.Get(0, "attribute", kNone);
  Value total = a.Get(1, "start", Value(0));
  for (const Value& item : in.Iterate(v)) total = BinaryOp("+", total, attr.is_none() ? item : AttrPath(in, item, attr));
  return total;
}

Value FFormat(Interpreter&, const Value& v, CallArgs& a) {
  if (!a.kwargs.empty()) {
    Value d = Value::MakeDict();
    for (const auto& [k, val] : a.kwargs) d.dict().Set(Value(k), val);
    return Value(PercentFormat(Str(v), d));
  }
  return Value(PercentFormat(Str(v), Value::MakeList(a.args, true)));
}

const std::map<std::string, FilterFn, std::less<>>& Filters() {
  static const std::map<std::string, FilterFn, std::less<>> m = {
      {"abs", FAbs}, {"attr", FAttr}, {"batch", FBatch}, {"capitalize", FCapitalize},
      {"center", FCenter}, {"count", FLength}, {"d", FDefault}, {"default", FDefault},
      {"dictsort", FDictSort}, {"e", FEscape}, {"escape", FEscape}, {"first", FFirst},
      {"float", FFloat}, {"forceescape", FEscape}, {"format", FFormat}, {"indent", FIndent},
      {"int", FInt}, {"items", FItems}, {"join", FJoin}, {"last", FLast}, {"length", FLength},
      {"list", FList}, {"lower", FLower}, {"map", FMap}, {"max", FMax}, {"min", FMin},
      {"reject", FReject}, {"rejectattr", FRejectAttr}, {"replace", FReplace}, {"reverse", FReverse},
      {"round", FRound}, {"safe", FSafe}, {"select", FSelect}, {"selectattr", FSelectAttr},
      {"sort", FSort}, {"string", FString}, {"sum", FSum}, {"title", FTitle}, {"tojson", FToJson},
      {"trim", FTrim}, {"unique", FUnique}, {"upper", FUpper}, {"wordcount", FWordCount},
  };
  return m;
}

}  // namespace

bool HasFilter(std::string_view name) { return Filters().count(name) != 0; }

FilterFn FindFilter(std::string_view name) {
  auto it = Filters().find(name);
  return it == Filters().end() ? nullptr : it->second;
}

}  // namespace pagoda::jinja
