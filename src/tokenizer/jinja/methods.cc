// Python methods on strings, lists and dicts as templates call them
// (`message.content.strip()`, `tool.get('name')`), Jinja2's global
// functions, and Python's % and str.format string formatting.
// Methods that would modify a list or dict are refused with the
// SecurityError Jinja2's ImmutableSandboxedEnvironment raises.

#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <set>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/text_util.h"
#include "tokenizer/utf8.h"

namespace pagoda::jinja {
namespace {

const Value kNone(nullptr);

std::string StrOf(const Value& v, const char* method) {
  if (!v.is_string()) {
    throw TemplateError(std::string("TypeError: ") + method + "() argument must be str, not " + TypeName(v));
  }
  return v.as_string();
}

// Byte offset of code point `cp` in s (clamped), and the reverse.
size_t ByteOffset(std::string_view s, int64_t cp) {
  const int64_t n = static_cast<int64_t>(CodePointCount(s));
  if (cp < 0) cp = std::max<int64_t>(0, cp + n);
  size_t pos = 0;
  for (int64_t i = 0; i < cp && pos < s.size(); ++i) pos += Utf8CharLenAt(s, pos);
  return pos;
}

int64_t CpIndex(std::string_view s, size_t byte) { return static_cast<int64_t>(CodePointCount(s.substr(0, byte))); }

Value SplitResult(std::vector<std::string> parts) {
  std::vector<Value> out;
  out.reserve(parts.size());
  for (std::string& p : parts) out.emplace_back(std::move(p));
  return Value::MakeList(std::move(out));
}

bool MatchAffix(const std::string& s, const Value& affix, bool prefix, const CallArgs& a) {
  const size_t b = a.args.size() > 1 && a.args[1].is_number() ? ByteOffset(s, a.args[1].ToInt()) : 0;
  const size_t e = a.args.size() > 2 && a.args[2].is_number() ? ByteOffset(s, a.args[2].ToInt()) : s.size();
  const std::string_view view = b <= e ? std::string_view(s).substr(b, e - b) : std::string_view();
  auto one = [&](const Value& v) {
    const std::string x = StrOf(v, prefix ? "startswith" : "endswith");
    return prefix ? view.starts_with(x) : view.ends_with(x);
  };
  if (affix.is_list() && affix.list().tuple) {
    for (const Value& v : affix.list().items) {
      if (one(v)) return true;
    }
    return false;
  }
  return one(affix);
}

template <typename Pred>
bool AllChars(const std::string& s, Pred p) {
  if (s.empty()) return false;
  for (size_t pos = 0; pos < s.size();) {
    size_t len;
    const int32_t cp = DecodeUtf8(s, pos, &len);
    if (cp < 0 || !p(static_cast<uint32_t>(cp))) return false;
    pos += len;
  }
  return true;
}

std::string Pad(const std::string& s, int64_t width, char fill, int align) {  // align: -1 left, 0 center, 1 right
  const int64_t n = static_cast<int64_t>(CodePointCount(s));
  if (width <= n) return s;
  const int64_t total = width - n;
  int64_t left = align > 0 ? total : (align < 0 ? 0 : total / 2 + (total & width & 1));
  return std::string(left, fill) + s + std::string(total - left, fill);
}

Value StringMethod(const Value& self, std::string_view name, bool* found) {
  const std::string s = self.as_string();
  const bool safe = self.is_safe();
  auto fn = [&](auto body) {
    *found = true;
    return Value::MakeFunction(std::string(name), [s, safe, body](CallArgs& a) -> Value { return body(s, safe, a); });
  };
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool l = name != "rstrip", r = name != "lstrip";
    return fn([l, r](const std::string& s, bool safe, CallArgs& a) {
      const Value& c = a.Get(0, "chars", kNone);
      std::string chars = c.is_none() ? "" : StrOf(c, "strip");
      return Value(PyStrip(s, c.is_none() ? nullptr : &chars, l, r), safe);
    });
  }
  if (name == "split" || name == "rsplit") {
    const bool right = name == "rsplit";
    return fn([right](const std::string& s, bool, CallArgs& a) {
      const Value& sep = a.Get(0, "sep", kNone);
      const Value& max = a.Get(1, "maxsplit", Value(-1));
      std::string sp = sep.is_none() ? "" : StrOf(sep, "split");
      if (!sep.is_none() && sp.empty()) throw TemplateError("ValueError: empty separator");
      const std::string* p = sep.is_none() ? nullptr : &sp;
      return SplitResult(right ? PyRSplit(s, p, max.ToInt()) : PySplit(s, p, max.ToInt()));
    });
  }
  if (name == "splitlines") {
    return fn([](const std::string& s, bool, CallArgs& a) {
      return SplitResult(PySplitLines(s, Truthy(a.Get(0, "keepends", Value(false)))));
    });
  }
  if (name == "startswith" || name == "endswith") {
    const bool prefix = name == "startswith";
    return fn([prefix](const std::string& s, bool, CallArgs& a) {
      if (a.args.empty()) throw TemplateError("TypeError: startswith/endswith takes at least 1 argument");
      return Value(MatchAffix(s, a.args[0], prefix, a));
    });
  }
  if (name == "upper") return fn([](const std::string& s, bool safe, CallArgs&) { return Value(PyUpper(s), safe); });
  if (name == "lower") return fn([](const std::string& s, bool safe, CallArgs&) { return Value(PyLower(s), safe); });
  if (name == "title") return fn([](const std::string& s, bool safe, CallArgs&) { return Value(PyTitle(s), safe); });
  if (name == "capitalize") {
    return fn([](const std::string& s, bool safe, CallArgs&) { return Value(PyCapitalize(s), safe); });
  }
  if (name == "replace") {
    return fn([](const std::string& s, bool safe, CallArgs& a) {
      std::string from = StrOf(a.Get(0, "old", Value("")), "replace");
      std::string to = StrOf(a.Get(1, "new", Value("")), "replace");
      if (safe) {
        if (!a.Get(0, "old", Value("")).is_safe()) from = HtmlEscape(from);
        if (!a.Get(1, "new", Value("")).is_safe()) to = HtmlEscape(to);
      }
      return Value(PyReplace(s, from, to, a.Get(2, "count", Value(-1)).ToInt()), safe);
    });
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    const std::string op(name);
    return fn([op](const std::string& s, bool, CallArgs& a) -> Value {
      if (a.args.empty()) throw TemplateError("TypeError: " + op + "() takes at least 1 argument");
      const std::string sub = StrOf(a.args[0], op.c_str());
      const size_t b = a.args.size() > 1 && a.args[1].is_number() ? ByteOffset(s, a.args[1].ToInt()) : 0;
      const size_t e = a.args.size() > 2 && a.args[2].is_number() ? ByteOffset(s, a.args[2].ToInt()) : s.size();
      const std::string_view view = b <= e ? std::string_view(s).substr(b, e - b) : std::string_view();
      if (op == "count") {
        if (sub.empty()) return Value(static_cast<int64_t>(CodePointCount(view)) + 1);
        int64_t n = 0;
        for (size_t p = view.find(sub); p != std::string_view::npos; p = view.find(sub, p + sub.size())) ++n;
        return Value(n);
      }
      const size_t f = (op[0] == 'r') ? view.rfind(sub) : view.find(sub);
      if (f == std::string_view::npos) {
        if (op.find("index") != std::string::npos) throw TemplateError("ValueError: substring not found");
        return Value(-1);
      }
      return Value(CpIndex(s, b + f));
    });
  }
  if (name == "join") {
    return fn([](const std::string& s, bool, CallArgs& a) {
      if (a.args.empty() || !(a.args[0].is_list() || a.args[0].is_string())) {
        throw TemplateError("TypeError: can only join an iterable");
      }
      std::string out;
      const Value& it = a.args[0];
      std::vector<Value> items;
      if (it.is_string()) {
        for (std::string_view c : CodePoints(it.as_string())) items.emplace_back(c);
      } else {
        items = it.list().items;
      }
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += s;
        out += StrOf(items[i], "join");
      }
      return Value(std::move(out));
    });
  }
  if (name == "format") {
    return fn([](const std::string& s, bool safe, CallArgs& a) { return Value(BraceFormat(s, a), safe); });
  }
  if (name == "isdigit" || name == "isdecimal" || name == "isnumeric") {
    return fn([](const std::string& s, bool, CallArgs&) {
      return Value(AllChars(s, [](uint32_t c) { return c >= '0' && c <= '9'; }));
    });
  }
  if (name == "isalpha") return fn([](const std::string& s, bool, CallArgs&) { return Value(AllChars(s, PyIsAlpha)); });
  if (name == "isalnum") {
    return fn([](const std::string& s, bool, CallArgs&) {
      return Value(AllChars(s, [](uint32_t c) { return PyIsAlpha(c) || (c >= '0' && c <= '9'); }));
    });
  }
  if (name == "isspace") return fn([](const std::string& s, bool, CallArgs&) { return Value(AllChars(s, PyIsSpace)); });
  if (name == "islower" || name == "isupper") {
    const bool lower = name == "islower";
    return fn([lower](const std::string& s, bool, CallArgs&) {
      const std::string a = PyLower(s), b = PyUpper(s);
      return Value(lower ? (a == s && b != s) : (b == s && a != s));
    });
  }
  if (name == "zfill") {
    return fn([](const std::string& s, bool, CallArgs& a) {
      const int64_t w = a.Get(0, "width", Value(0)).ToInt();
      const int64_t n = static_cast<int64_t>(CodePointCount(s));
      if (w <= n) return Value(s);
      const bool sign = !s.empty() && (s[0] == '-' || s[0] == '+');
      return Value((sign ? s.substr(0, 1) : "") + std::string(w - n, '0') + s.substr(sign ? 1 : 0));
    });
  }
  if (name == "ljust" || name == "rjust" || name == "center") {
    const int align = name == "ljust" ? -1 : (name == "rjust" ? 1 : 0);
    return fn([align](const std::string& s, bool, CallArgs& a) {
      const std::string fill = a.args.size() > 1 ? StrOf(a.args[1], "just") : " ";
      return Value(Pad(s, a.Get(0, "width", Value(0)).ToInt(), fill.empty() ? ' ' : fill[0], align));
    });
  }
  if (name == "removeprefix" || name == "removesuffix") {
    const bool prefix = name == "removeprefix";
    return fn([prefix](const std::string& s, bool safe, CallArgs& a) {
      const std::string x = StrOf(a.Get(0, "x", Value("")), "remove");
      if (prefix && s.starts_with(x)) return Value(s.substr(x.size()), safe);
      if (!prefix && s.ends_with(x) && !x.empty()) return Value(s.substr(0, s.size() - x.size()), safe);
      return Value(s, safe);
    });
  }
  if (name == "partition" || name == "rpartition") {
    const bool right = name == "rpartition";
    return fn([right](const std::string& s, bool, CallArgs& a) {
      const std::string sep = StrOf(a.Get(0, "sep", Value("")), "partition");
      const size_t f = right ? s.rfind(sep) : s.find(sep);
      if (f == std::string::npos) {
        return right ? Value::MakeList({Value(""), Value(""), Value(s)}, true)
                     : Value::MakeList({Value(s), Value(""), Value("")}, true);
      }
      return Value::MakeList({Value(s.substr(0, f)), Value(sep), Value(s.substr(f + sep.size()))}, true);
    });
  }
  return Value();
}

Value Unsafe(std::string_view name, const Value& obj, bool* found) {
  *found = true;
  return Value::MakeUndefined("SecurityError: access to attribute '" + std::string(name) + "' of '" + TypeName(obj) +
                              "' object is unsafe.");
}

Value DictMethod(const Value& self, std::string_view name, bool* found) {
  static const std::set<std::string, std::less<>> kUnsafe = {"clear", "pop", "popitem", "setdefault", "update"};
  if (kUnsafe.count(name) != 0) return Unsafe(name, self, found);
  const Value obj = self;
  auto fn = [&](auto body) {
    *found = true;
    return Value::MakeFunction(std::string(name), [obj, body](CallArgs& a) -> Value { return body(obj, a); });
  };
  if (name == "items") {
    return fn([](const Value& d, CallArgs&) {
      std::vector<Value> out;
      for (const auto& [k, v] : d.dict().items) out.push_back(Value::MakeList({k, v}, true));
      return Value::MakeList(std::move(out));
    });
  }
  if (name == "keys" || name == "values") {
    const bool keys = name == "keys";
    return fn([keys](const Value& d, CallArgs&) {
      std::vector<Value> out;
      for (const auto& [k, v] : d.dict().items) out.push_back(keys ? k : v);
      return Value::MakeList(std::move(out));
    });
  }
  if (name == "get") {
    return fn([](const Value& d, CallArgs& a) -> Value {
      if (a.args.empty()) throw TemplateError("TypeError: get expected at least 1 argument, got 0");
      const Value* v = d.dict().Find(a.args[0]);
      return v ? *v : (a.args.size() > 1 ? a.args[1] : Value(nullptr));
    });
  }
  if (name == "copy") {
    return fn([](const Value& d, CallArgs&) {
      Value c = Value::MakeDict();
      c.dict().items = d.dict().items;
      return c;
    });
  }
  return Value();
}

Value ListMethod(const Value& self, std::string_view name, bool* found) {
  static const std::set<std::string, std::less<>> kUnsafe = {"append", "clear", "pop", "reverse",
                                                              "insert", "sort",  "extend", "remove"};
  if (self.list().generator) return Value();
  if (kUnsafe.count(name) != 0) {
    if (self.list().tuple) return Value();
    return Unsafe(name, self, found);
  }
  const Value obj = self;
  if (name == "index" || name == "count") {
    const bool count = name == "count";
    *found = true;
    return Value::MakeFunction(std::string(name), [obj, count](CallArgs& a) -> Value {
      if (a.args.empty()) throw TemplateError("TypeError: takes exactly one argument (0 given)");
      int64_t n = 0;
      const auto& items = obj.list().items;
      for (size_t i = 0; i < items.size(); ++i) {
        if (!Equals(items[i], a.args[0])) continue;
        if (!count) return Value(static_cast<int64_t>(i));
        ++n;
      }
      if (!count) throw TemplateError("ValueError: " + Repr(a.args[0]) + " is not in list");
      return Value(n);
    });
  }
  if (name == "copy" && !self.list().tuple) {
    *found = true;
    return Value::MakeFunction("copy", [obj](CallArgs&) { return Value::MakeList(obj.list().items); });
  }
  return Value();
}

}  // namespace

Value GetMethod(const Value& obj, std::string_view name, bool* found) {
  *found = false;
  if (obj.is_string()) return StringMethod(obj, name, found);
  if (obj.is_dict() && obj.dict().kind == DictKind::kDict) return DictMethod(obj, name, found);
  if (obj.is_list()) return ListMethod(obj, name, found);
  return Value();
}

void InstallGlobals(Interpreter* in, std::unordered_map<std::string, Value>* g) {
  (*g)["range"] = Value::MakeFunction("range", [](CallArgs& a) -> Value {
    for (const Value& v : a.args) {
      if (!v.is_int() && !v.is_bool()) {
        throw TemplateError("TypeError: '" + TypeName(v) + "' object cannot be interpreted as an integer");
      }
    }
    int64_t start = 0, stop = 0, step = 1;
    if (a.args.size() == 1) {
      stop = a.args[0].ToInt();
    } else if (a.args.size() >= 2) {
      start = a.args[0].ToInt();
      stop = a.args[1].ToInt();
      if (a.args.size() > 2) step = a.args[2].ToInt();
    } else {
      throw TemplateError("TypeError: range expected at least 1 argument, got 0");
    }
    if (step == 0) throw TemplateError("ValueError: range() arg 3 must not be zero");
    const int64_t n = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                               : (start > stop ? (start - stop - step - 1) / -step : 0);
    if (n > 100000) {
      throw TemplateError(
          "OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    }
    std::vector<Value> out;
    for (int64_t i = 0; i < n; ++i) out.emplace_back(start + i * step);
    return Value::MakeList(std::move(out));
  });
  auto make_mapping = [](CallArgs& a, DictKind kind) {
    Value d = Value::MakeDict(kind);
    if (!a.args.empty()) {
      const Value& src = a.args[0];
      if (src.is_dict()) {
        for (const auto& [k, v] : src.dict().items) d.dict().Set(k, v);
      } else if (src.is_list()) {
        for (const Value& pair : src.list().items) {
          if (!pair.is_list() || pair.list().items.size() != 2) {
            throw TemplateError("ValueError: dictionary update sequence element has wrong length");
          }
          d.dict().Set(pair.list().items[0], pair.list().items[1]);
        }
      } else {
        throw TemplateError("TypeError: '" + TypeName(src) + "' object is not iterable");
      }
    }
    for (const auto& [k, v] : a.kwargs) d.dict().Set(Value(k), v);
    return d;
  };
  (*g)["namespace"] = Value::MakeFunction("namespace", [make_mapping](CallArgs& a) {
    return make_mapping(a, DictKind::kNamespace);
  });
  (*g)["dict"] = Value::MakeFunction("dict", [make_mapping](CallArgs& a) { return make_mapping(a, DictKind::kDict); });
  (*g)["joiner"] = Value::MakeFunction("joiner", [](CallArgs& a) {
    const std::string sep = ToStr(a.Get(0, "sep", Value(", ")));
    auto used = std::make_shared<bool>(false);
    return Value::MakeFunction("joiner", [sep, used](CallArgs&) {
      if (!*used) {
        *used = true;
        return Value("");
      }
      return Value(sep);
    });
  });
  (*g)["raise_exception"] = Value::MakeFunction("raise_exception", [](CallArgs& a) -> Value {
    TemplateError e(ToStr(a.Get(0, "message", Value(""))), a.line);
    e.raised = true;
    throw e;
  });
  (*g)["strftime_now"] = Value::MakeFunction("strftime_now", [in](CallArgs& a) -> Value {
    const std::string fmt = ToStr(a.Get(0, "format", Value("")));
    const std::time_t now = in->now();
    std::tm tm{};
    localtime_r(&now, &tm);
    std::string buf(fmt.size() * 8 + 64, '\0');
    const size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
    buf.resize(n);
    return Value(std::move(buf));
  });
}

std::string PercentFormat(const std::string& fmt, const Value& args) {
  std::vector<Value> list;
  const bool mapping = args.is_dict();
  if (args.is_list() && args.list().tuple) {
    list = args.list().items;
  } else if (!mapping) {
    list.push_back(args);
  }
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    if (++i >= fmt.size()) throw TemplateError("ValueError: incomplete format");
    if (fmt[i] == '%') {
      out.push_back('%');
      continue;
    }
    const Value* arg = nullptr;
    if (fmt[i] == '(') {
      const size_t close = fmt.find(')', i);
      if (close == std::string::npos || !mapping) throw TemplateError("TypeError: format requires a mapping");
      arg = args.dict().Find(std::string_view(fmt).substr(i + 1, close - i - 1));
      if (arg == nullptr) throw TemplateError("KeyError: " + fmt.substr(i + 1, close - i - 1));
      i = close + 1;
    }
    std::string spec = "%";
    while (i < fmt.size() && std::strchr("-+ #0", fmt[i])) spec += fmt[i++];
    while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) spec += fmt[i++];
    if (i < fmt.size() && fmt[i] == '.') {
      spec += fmt[i++];
      while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) spec += fmt[i++];
    }
    if (i >= fmt.size()) throw TemplateError("ValueError: incomplete format");
    const char type = fmt[i];
    if (arg == nullptr) {
      if (mapping) {
        arg = &args;
      } else if (next < list.size()) {
        arg = &list[next++];
      } else {
        throw TemplateError("TypeError: not enough arguments for format string");
      }
    }
    char buf[512];
    switch (type) {
      case 's':
      case 'r':
      case 'a': {
        std::string s = type == 's' ? ToStr(*arg) : Repr(*arg);
        // Width and precision count characters; apply them by hand.
        int width = 0, prec = -1;
        bool left = spec.find('-') != std::string::npos;
        std::sscanf(spec.c_str() + 1 + (spec.size() > 1 && std::strchr("-+ #0", spec[1]) ? 1 : 0), "%d", &width);
        if (const size_t dot = spec.find('.'); dot != std::string::npos) prec = std::atoi(spec.c_str() + dot + 1);
        if (prec >= 0) s = std::string(SliceValue(Value(s), Value(0), Value(prec), Value(nullptr)).as_string());
        out += Pad(s, width, ' ', left ? -1 : 1);
        break;
      }
      case 'd':
      case 'i':
      case 'u':
        if (!arg->is_number()) {
          throw TemplateError("TypeError: %" + std::string(1, type) + " format: a real number is required, not " +
                              TypeName(*arg));
        }
        std::snprintf(buf, sizeof(buf), (spec + "lld").c_str(), static_cast<long long>(arg->ToInt()));
        out += buf;
        break;
      case 'x':
      case 'X':
      case 'o':
        if (!arg->is_int() && !arg->is_bool()) throw TemplateError("TypeError: %x format: an integer is required");
        std::snprintf(buf, sizeof(buf), (spec + "ll" + type).c_str(), static_cast<long long>(arg->ToInt()));
        out += buf;
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        if (!arg->is_number()) throw TemplateError("TypeError: must be real number, not " + TypeName(*arg));
        std::snprintf(buf, sizeof(buf), (spec + type).c_str(), arg->ToDouble());
        out += buf;
        break;
      case 'c':
        if (arg->is_string()) {
          out += arg->as_string();
        } else {
          AppendUtf8(static_cast<uint32_t>(arg->ToInt()), &out);
        }
        break;
      default:
        throw TemplateError(std::string("ValueError: unsupported format character '") + type + "'");
    }
  }
  if (!mapping && next < list.size()) {
    throw TemplateError("TypeError: not all arguments converted during string formatting");
  }
  return out;
}

std::string BraceFormat(const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '}' ) {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') ++i;
      out.push_back('}');
      continue;
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    const size_t close = fmt.find('}', i);
    if (close == std::string::npos) throw TemplateError("ValueError: Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    std::string conv;
    if (const size_t colon = field.find(':'); colon != std::string::npos) field.resize(colon);
    if (const size_t bang = field.find('!'); bang != std::string::npos) {
      conv = field.substr(bang + 1);
      field.resize(bang);
    }
    const Value* v = nullptr;
    if (field.empty()) {
      if (auto_index >= args.args.size()) throw TemplateError("IndexError: Replacement index out of range");
      v = &args.args[auto_index++];
    } else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
      const size_t k = std::stoul(field);
      if (k >= args.args.size()) throw TemplateError("IndexError: Replacement index out of range");
      v = &args.args[k];
    } else {
      for (const auto& [k, val] : args.kwargs) {
        if (k == field) v = &val;
      }
      if (v == nullptr) throw TemplateError("KeyError: '" + field + "'");
    }
    out += conv == "r" ? Repr(*v) : ToStr(*v);
  }
  return out;
}

}  // namespace pagoda::jinja
