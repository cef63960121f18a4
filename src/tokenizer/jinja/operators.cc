// Python's arithmetic and slicing on template values: BinaryOp and
// SliceValue (declared in interpreter.h).

#include <algorithm>
#include <cmath>
#include <optional>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"

namespace pagoda::jinja {

namespace {

[[noreturn]] void TypeError(const std::string& msg) { throw TemplateError("TypeError: " + msg); }

bool IsIntLike(const Value& v) { return v.is_int() || v.is_bool(); }

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::string Repeat(const std::string& s, int64_t n) {
  std::string out;
  if (n <= 0) return out;
  if (static_cast<double>(s.size()) * static_cast<double>(n) > 256e6) {
    throw TemplateError("MemoryError: repeated string too long");
  }
  out.reserve(s.size() * n);
  for (int64_t i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

Value BinaryOp(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) a.FailUndefined();
  if (b.is_undefined()) b.FailUndefined();
  const bool nums = a.is_number() && b.is_number();
  const bool ints = IsIntLike(a) && IsIntLike(b);
  auto unsupported = [&]() -> Value {
    TypeError("unsupported operand type(s) for " + op + ": '" + TypeName(a) + "' and '" + TypeName(b) + "'");
  };
  if (op == "+") {
    if (ints) return Value(a.ToInt() + b.ToInt());
    if (nums) return Value(a.ToDouble() + b.ToDouble());
    if (a.is_string() && b.is_string()) {
      // markupsafe: Markup + str escapes the str, and the result is Markup.
      if (a.is_safe() != b.is_safe()) {
        return Value(a.is_safe() ? a.as_string() + HtmlEscape(b.as_string())
                                 : HtmlEscape(a.as_string()) + b.as_string(),
                     true);
      }
      return Value(a.as_string() + b.as_string(), a.is_safe());
    }
    if (a.is_list() && b.is_list() && a.list().tuple == b.list().tuple) {
      std::vector<Value> items = a.list().items;
      items.insert(items.end(), b.list().items.begin(), b.list().items.end());
      return Value::MakeList(std::move(items), a.list().tuple);
    }
    if (a.is_string() && !a.is_safe()) TypeError("can only concatenate str (not \"" + TypeName(b) + "\") to str");
    if (a.is_list()) {
      TypeError("can only concatenate " + TypeName(a) + " (not \"" + TypeName(b) + "\") to " + TypeName(a));
    }
    return unsupported();
  }
  if (op == "-") {
    if (ints) return Value(a.ToInt() - b.ToInt());
    if (nums) return Value(a.ToDouble() - b.ToDouble());
    return unsupported();
  }
  if (op == "*") {
    if (ints) return Value(a.ToInt() * b.ToInt());
    if (nums) return Value(a.ToDouble() * b.ToDouble());
    if (a.is_string() && IsIntLike(b)) return Value(Repeat(a.as_string(), b.ToInt()), a.is_safe());
    if (IsIntLike(a) && b.is_string()) return Value(Repeat(b.as_string(), a.ToInt()), b.is_safe());
    const Value* l = a.is_list() ? &a : (b.is_list() ? &b : nullptr);
    const Value* n = a.is_list() ? &b : &a;
    if (l != nullptr && IsIntLike(*n)) {
      std::vector<Value> items;
      const int64_t times = n->ToInt();
      if (times > 0 && static_cast<double>(l->list().items.size()) * times > 1e7) {
        throw TemplateError("MemoryError: repeated list too long");
      }
      for (int64_t i = 0; i < times; ++i) {
        items.insert(items.end(), l->list().items.begin(), l->list().items.end());
      }
      return Value::MakeList(std::move(items), l->list().tuple);
    }
    return unsupported();
  }
  if (op == "/") {
    if (!nums) return unsupported();
    if (b.ToDouble() == 0) throw TemplateError("ZeroDivisionError: division by zero");
    return Value(a.ToDouble() / b.ToDouble());
  }
  if (op == "//") {
    if (!nums) return unsupported();
    if (b.ToDouble() == 0) throw TemplateError("ZeroDivisionError: integer division or modulo by zero");
    if (ints) return Value(FloorDiv(a.ToInt(), b.ToInt()));
    return Value(std::floor(a.ToDouble() / b.ToDouble()));
  }
  if (op == "%") {
    if (a.is_string()) return Value(PercentFormat(a.as_string(), b), a.is_safe());
    if (!nums) return unsupported();
    if (b.ToDouble() == 0) throw TemplateError("ZeroDivisionError: integer division or modulo by zero");
    if (ints) {
      const int64_t x = a.ToInt(), y = b.ToInt();
      return Value(x - FloorDiv(x, y) * y);
    }
    const double x = a.ToDouble(), y = b.ToDouble();
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return Value(m);
  }
  if (op == "**") {
    if (ints && b.ToInt() >= 0) {
      int64_t r = 1, base = a.ToInt();
      for (int64_t e = b.ToInt(); e > 0; --e) r *= base;
      return Value(r);
    }
    if (nums) return Value(std::pow(a.ToDouble(), b.ToDouble()));
    return unsupported();
  }
  TypeError("unknown operator " + op);
}

Value SliceValue(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) obj.FailUndefined();
  auto idx = [](const Value& v) -> std::optional<int64_t> {
    if (v.is_none() || v.is_undefined()) return std::nullopt;
    if (!IsIntLike(v)) TypeError("slice indices must be integers or None");
    return v.ToInt();
  };
  const int64_t st = idx(step).value_or(1);
  if (st == 0) throw TemplateError("ValueError: slice step cannot be zero");
  std::vector<std::string_view> chars;
  int64_t n;
  if (obj.is_string()) {
    chars = CodePoints(obj.as_string());
    n = static_cast<int64_t>(chars.size());
  } else if (obj.is_list()) {
    n = static_cast<int64_t>(obj.list().items.size());
  } else {
    TypeError("'" + TypeName(obj) + "' object is not subscriptable");
  }
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) x += n;
    if (st > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  const int64_t b = clamp(idx(start), st > 0 ? 0 : n - 1);
  const int64_t e = clamp(idx(stop), st > 0 ? n : -1);
  std::vector<int64_t> picks;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) picks.push_back(i);
  if (obj.is_string()) {
    std::string s;
    for (int64_t i : picks) s.append(chars[i]);
    return Value(std::move(s), obj.is_safe());
  }
  std::vector<Value> items;
  for (int64_t i : picks) items.push_back(obj.list().items[i]);
  return Value::MakeList(std::move(items), obj.list().tuple);
}

}  // namespace pagoda::jinja
