#include "tokenizer/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "tokenizer/utf8.h"

namespace pagoda::jinja {

const Value* DictData::Find(const Value& key) const {
  for (const auto& [k, v] : items) {
    if (Equals(k, key)) return &v;
  }
  return nullptr;
}

const Value* DictData::Find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k.is_string() && k.as_string() == key) return &v;
  }
  return nullptr;
}

void DictData::Set(Value key, Value value) {
  for (auto& [k, v] : items) {
    if (Equals(k, key)) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

Value Value::MakeList(std::vector<Value> items, bool tuple) {
  Value v;
  auto data = std::make_shared<ListData>();
  data->items = std::move(items);
  data->tuple = tuple;
  v.v_ = std::move(data);
  return v;
}

Value Value::MakeGenerator(std::vector<Value> items) {
  Value v = MakeList(std::move(items));
  v.list().generator = true;
  return v;
}

Value Value::MakeDict(DictKind kind) {
  Value v;
  auto data = std::make_shared<DictData>();
  data->kind = kind;
  v.v_ = std::move(data);
  return v;
}

Value Value::MakeFunction(std::string name, NativeFunction fn) {
  Value v;
  v.v_ = std::make_shared<FunctionData>(FunctionData{std::move(name), std::move(fn)});
  return v;
}

Value Value::FromJson(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value(nullptr);
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned:
      return Value(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(FromJson(e));
      return MakeList(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value d = MakeDict();
      for (auto it = j.begin(); it != j.end(); ++it) {
        d.dict().items.emplace_back(Value(it.key()), FromJson(it.value()));
      }
      return d;
    }
    default: return Value(nullptr);
  }
}

double Value::ToDouble() const {
  if (is_float()) return as_float();
  if (is_int()) return static_cast<double>(as_int());
  if (is_bool()) return as_bool() ? 1.0 : 0.0;
  return 0.0;
}

int64_t Value::ToInt() const {
  if (is_int()) return as_int();
  if (is_bool()) return as_bool() ? 1 : 0;
  if (is_float()) return static_cast<int64_t>(as_float());
  return 0;
}

bool Value::SameObject(const Value& o) const {
  if (kind() != o.kind()) return false;
  switch (kind()) {
    case Kind::kList: return &list() == &o.list();
    case Kind::kDict: return &dict() == &o.dict();
    case Kind::kFunction: return &function() == &o.function();
    default: return Equals(*this, o) && !is_float();
  }
}

void Value::FailUndefined() const {
  throw TemplateError(undefined_hint().empty() ? "UndefinedError: value is undefined" : undefined_hint());
}

Value CallArgs::Get(size_t pos, std::string_view name, const Value& fallback) const {
  for (const auto& [k, v] : kwargs) {
    if (k == name) return v;
  }
  return pos < args.size() ? args[pos] : fallback;
}

bool CallArgs::Has(size_t pos, std::string_view name) const {
  for (const auto& kv : kwargs) {
    if (kv.first == name) return true;
  }
  return pos < args.size();
}

std::string TypeName(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "Undefined";
    case Value::Kind::kNone: return "NoneType";
    case Value::Kind::kBool: return "bool";
    case Value::Kind::kInt: return "int";
    case Value::Kind::kFloat: return "float";
    case Value::Kind::kString: return v.is_safe() ? "Markup" : "str";
    case Value::Kind::kList: return v.list().generator ? "generator" : v.list().tuple ? "tuple" : "list";
    case Value::Kind::kDict:
      return v.dict().kind == DictKind::kNamespace ? "Namespace"
             : v.dict().kind == DictKind::kLoop    ? "LoopContext"
                                                   : "dict";
    case Value::Kind::kFunction: return "function";
  }
  return "object";
}

bool Truthy(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return false;
    case Value::Kind::kBool: return v.as_bool();
    case Value::Kind::kInt: return v.as_int() != 0;
    case Value::Kind::kFloat: return v.as_float() != 0.0;
    case Value::Kind::kString: return !v.as_string().empty();
    case Value::Kind::kList: return v.list().generator || !v.list().items.empty();
    case Value::Kind::kDict: return v.dict().kind != DictKind::kDict || !v.dict().items.empty();
    case Value::Kind::kFunction: return true;
  }
  return false;
}

// Python's repr(float): the shortest digits that round-trip, in positional
// notation when the decimal exponent is in [-4, 16), else as d.ddde+XX.
std::string FloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  const size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exp10 = std::stoi(sci.substr(e + 1));
  const int decpt = exp10 + 1;  // digits are 0.d1d2... x 10^decpt
  std::string out = neg ? "-" : "";
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0." + std::string(-decpt, '0') + digits;
    } else if (static_cast<size_t>(decpt) >= digits.size()) {
      out += digits + std::string(decpt - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, decpt) + "." + digits.substr(decpt);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char eb[16];
  std::snprintf(eb, sizeof(eb), "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
  return out + eb;
}

namespace {

// Code points Python's str.isprintable() rejects beyond ASCII controls: the
// C1 controls and the common separator/format characters. repr() escapes them.
bool NonPrintable(uint32_t cp) {
  return (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD || (cp >= 0x2000 && cp <= 0x200F) ||
         (cp >= 0x2028 && cp <= 0x202F) || (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 ||
         cp == 0xFEFF || (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0xE000 && cp <= 0xF8FF) ||
         cp == 0x1680 || cp == 0x180E;
}

void AppendHex(uint32_t cp, int width, char prefix, std::string* out) {
  char b[16];
  std::snprintf(b, sizeof(b), "\\%c%0*x", prefix, width, cp);
  *out += b;
}

}  // namespace

std::string PyStringRepr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (size_t pos = 0; pos < s.size();) {
    size_t len;
    const int32_t cp = DecodeUtf8(s, pos, &len);
    if (cp < 0) {  // not reachable for text from JSON; keep the byte visible
      AppendHex(static_cast<uint8_t>(s[pos]), 2, 'x', &out);
      pos += 1;
      continue;
    }
    if (cp == quote || cp == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(cp));
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || NonPrintable(static_cast<uint32_t>(cp))) {
      if (cp <= 0xFF) {
        AppendHex(cp, 2, 'x', &out);
      } else if (cp <= 0xFFFF) {
        AppendHex(cp, 4, 'u', &out);
      } else {
        AppendHex(cp, 8, 'U', &out);
      }
    } else {
      out.append(s.substr(pos, len));
    }
    pos += len;
  }
  out.push_back(quote);
  return out;
}

std::string Repr(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kString:
      return v.is_safe() ? "Markup(" + PyStringRepr(v.as_string()) + ")" : PyStringRepr(v.as_string());
    case Value::Kind::kList: {
      const ListData& l = v.list();
      if (l.generator) return "<generator object>";
      std::string out = l.tuple ? "(" : "[";
      for (size_t i = 0; i < l.items.size(); ++i) {
        if (i > 0) out += ", ";
        out += Repr(l.items[i]);
      }
      if (l.tuple && l.items.size() == 1) out += ",";
      return out + (l.tuple ? ")" : "]");
    }
    case Value::Kind::kDict: {
      const DictData& d = v.dict();
      std::string out = d.kind == DictKind::kNamespace ? "<Namespace {" : "{";
      for (size_t i = 0; i < d.items.size(); ++i) {
        if (i > 0) out += ", ";
        out += Repr(d.items[i].first) + ": " + Repr(d.items[i].second);
      }
      return out + (d.kind == DictKind::kNamespace ? "}>" : "}");
    }
    default: return ToStr(v);
  }
}

std::string ToStr(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "";
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return v.as_bool() ? "True" : "False";
    case Value::Kind::kInt: return std::to_string(v.as_int());
    case Value::Kind::kFloat: return FloatRepr(v.as_float());
    case Value::Kind::kString: return v.as_string();
    case Value::Kind::kList:
    case Value::Kind::kDict: return Repr(v);
    case Value::Kind::kFunction: return "<function " + v.function().name + ">";
  }
  return "";
}

bool Equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if ((a.is_int() || a.is_bool()) && (b.is_int() || b.is_bool())) return a.ToInt() == b.ToInt();
    return a.ToDouble() == b.ToDouble();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return true;
    case Value::Kind::kString: return a.as_string() == b.as_string();
    case Value::Kind::kList: {
      const auto& x = a.list();
      const auto& y = b.list();
      if (x.generator || y.generator) return &x == &y;
      if (x.tuple != y.tuple || x.items.size() != y.items.size()) return false;
      for (size_t i = 0; i < x.items.size(); ++i) {
        if (!Equals(x.items[i], y.items[i])) return false;
      }
      return true;
    }
    case Value::Kind::kDict: {
      const auto& x = a.dict();
      const auto& y = b.dict();
      if (x.kind != DictKind::kDict || y.kind != DictKind::kDict) return &x == &y;
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* o = y.Find(k);
        if (o == nullptr || !Equals(v, *o)) return false;
      }
      return true;
    }
    case Value::Kind::kFunction: return &a.function() == &b.function();
    default: return false;
  }
}

int Compare(const Value& a, const Value& b) {
  if (a.is_undefined()) a.FailUndefined();
  if (b.is_undefined()) b.FailUndefined();
  if (a.is_number() && b.is_number()) {
    if ((a.is_int() || a.is_bool()) && (b.is_int() || b.is_bool())) {
      return a.ToInt() < b.ToInt() ? -1 : (a.ToInt() > b.ToInt() ? 1 : 0);
    }
    const double x = a.ToDouble(), y = b.ToDouble();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());  // UTF-8 order is code-point order
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list() && a.list().tuple == b.list().tuple) {
    const auto& x = a.list().items;
    const auto& y = b.list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!Equals(x[i], y[i])) return Compare(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  throw TemplateError("TypeError: '<' not supported between instances of '" + TypeName(a) +
                      "' and '" + TypeName(b) + "'");
}

bool Contains(const Value& haystack, const Value& needle) {
  switch (haystack.kind()) {
    case Value::Kind::kUndefined: return false;
    case Value::Kind::kString:
      if (!needle.is_string()) {
        throw TemplateError("TypeError: 'in <string>' requires string as left operand, not " +
                            TypeName(needle));
      }
      return haystack.as_string().find(needle.as_string()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : haystack.list().items) {
        if (Equals(v, needle)) return true;
      }
      return false;
    case Value::Kind::kDict: return haystack.dict().Find(needle) != nullptr;
    default:
      throw TemplateError("TypeError: argument of type '" + TypeName(haystack) + "' is not iterable");
  }
}

namespace {

void JsonString(std::string_view s, bool ensure_ascii, std::string* out) {
  out->push_back('"');
  for (size_t pos = 0; pos < s.size();) {
    const auto c = static_cast<unsigned char>(s[pos]);
    if (c < 0x80) {
      switch (c) {
        case '"': *out += "\\\""; break;
        case '\\': *out += "\\\\"; break;
        case '\n': *out += "\\n"; break;
        case '\r': *out += "\\r"; break;
        case '\t': *out += "\\t"; break;
        case '\b': *out += "\\b"; break;
        case '\f': *out += "\\f"; break;
        default:
          if (c < 0x20) {
            AppendHex(c, 4, 'u', out);
          } else {
            out->push_back(static_cast<char>(c));
          }
      }
      ++pos;
      continue;
    }
    size_t len;
    const int32_t cp = DecodeUtf8(s, pos, &len);
    if (!ensure_ascii || cp < 0) {
      out->append(s.substr(pos, len));
    } else if (cp >= 0x10000) {
      const uint32_t v = static_cast<uint32_t>(cp) - 0x10000;
      AppendHex(0xD800 + (v >> 10), 4, 'u', out);
      AppendHex(0xDC00 + (v & 0x3FF), 4, 'u', out);
    } else {
      AppendHex(static_cast<uint32_t>(cp), 4, 'u', out);
    }
    pos += len;
  }
  out->push_back('"');
}

void JsonValue(const Value& v, const JsonOptions& o, int depth, std::string* out) {
  if (depth > 512) throw TemplateError("ValueError: Circular reference detected");
  auto newline = [&](int level) {
    if (o.indent < 0) return;
    out->push_back('\n');
    out->append(static_cast<size_t>(o.indent) * level, ' ');
  };
  switch (v.kind()) {
    case Value::Kind::kNone: *out += "null"; return;
    case Value::Kind::kBool: *out += v.as_bool() ? "true" : "false"; return;
    case Value::Kind::kInt: *out += std::to_string(v.as_int()); return;
    case Value::Kind::kFloat: {
      const double d = v.as_float();
      if (std::isnan(d)) {
        *out += "NaN";
      } else if (std::isinf(d)) {
        *out += d > 0 ? "Infinity" : "-Infinity";
      } else {
        *out += FloatRepr(d);
      }
      return;
    }
    case Value::Kind::kString: JsonString(v.as_string(), o.ensure_ascii, out); return;
    case Value::Kind::kList: {
      if (v.list().generator) break;
      const auto& items = v.list().items;
      if (items.empty()) {
        *out += "[]";
        return;
      }
      out->push_back('[');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) *out += o.item_sep;
        newline(depth + 1);
        JsonValue(items[i], o, depth + 1, out);
      }
      newline(depth);
      out->push_back(']');
      return;
    }
    case Value::Kind::kDict: {
      if (v.dict().kind != DictKind::kDict) break;
      std::vector<const std::pair<Value, Value>*> items;
      for (const auto& kv : v.dict().items) items.push_back(&kv);
      if (items.empty()) {
        *out += "{}";
        return;
      }
      if (o.sort_keys) {
        std::stable_sort(items.begin(), items.end(),
                         [](const auto* a, const auto* b) { return Compare(a->first, b->first) < 0; });
      }
      out->push_back('{');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) *out += o.item_sep;
        newline(depth + 1);
        const Value& k = items[i]->first;
        if (k.is_string()) {
          JsonString(k.as_string(), o.ensure_ascii, out);
        } else if (k.is_bool() || k.is_none() || k.is_int() || k.is_float()) {
          std::string ks;
          JsonValue(k, o, depth + 1, &ks);
          JsonString(ks, o.ensure_ascii, out);
        } else {
          throw TemplateError("TypeError: keys must be str, int, float, bool or None, not " +
                              TypeName(k));
        }
        *out += o.key_sep;
        JsonValue(items[i]->second, o, depth + 1, out);
      }
      newline(depth);
      out->push_back('}');
      return;
    }
    default: break;
  }
  throw TemplateError("TypeError: Object of type " + TypeName(v) + " is not JSON serializable");
}

}  // namespace

std::string ToJson(const Value& v, const JsonOptions& options) {
  std::string out;
  JsonValue(v, options, 0, &out);
  return out;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string_view> CodePoints(std::string_view s) {
  std::vector<std::string_view> out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    const size_t n = Utf8CharLenAt(s, pos);
    out.push_back(s.substr(pos, n));
    pos += n;
  }
  return out;
}

size_t CodePointCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace pagoda::jinja
