// jinja::Value: the dynamically typed value of the chat-template interpreter,
// with the Python semantics that a template can observe through Jinja2:
// str() and repr() text, truthiness, == and ordering, int/float arithmetic,
// dict insertion order, code-point string indexing, and json.dumps output
// for tojson. Lists and dicts are shared by reference, as Python objects are.
//
// Thread-safety: a Value is not synchronised. Values are created per render
// (a parsed Template holds only immutable literals), so concurrent renders
// never share a mutable Value.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace pagoda::jinja {

// A template failure (syntax, a Python-level TypeError, raise_exception...).
// The interpreter works with exceptions internally because every expression
// can fail and the evaluator is deeply recursive; Template::Render turns them
// into a Status at the module edge, so callers never see one.
class TemplateError : public std::runtime_error {
 public:
  TemplateError(std::string message, int line = 0)
      : std::runtime_error(message), message_(std::move(message)), line_(line) {}
  const std::string& message() const { return message_; }
  int line() const { return line_; }
  void set_line(int line) { line_ = line; }
  // raise_exception() messages are shown as written, without a line prefix.
  bool raised = false;

 private:
  std::string message_;
  int line_;
};

class Value;
struct CallArgs;

struct ListData {
  std::vector<Value> items;
  bool tuple = false;  // printed as (a, b)
  // A Python generator (what Jinja2's map/select/reject/unique/items/
  // reverse filters return): iterable, but always truthy, without len(),
  // and not JSON serialisable.
  bool generator = false;
};

enum class DictKind : uint8_t { kDict, kNamespace, kLoop };

struct DictData {
  std::vector<std::pair<Value, Value>> items;  // insertion order, as Python
  DictKind kind = DictKind::kDict;
  const Value* Find(const Value& key) const;
  const Value* Find(std::string_view key) const;
  void Set(Value key, Value value);
};

using NativeFunction = std::function<Value(CallArgs&)>;

struct FunctionData {
  std::string name;
  NativeFunction fn;
};

struct Undefined {
  std::string hint;  // the error an operation on it reports
};

class Value {
 public:
  enum class Kind : uint8_t { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kFunction };

  Value() = default;  // Undefined
  Value(std::nullptr_t) : v_(nullptr) {}           // NOLINT
  Value(bool b) : v_(b) {}                          // NOLINT
  Value(int i) : v_(static_cast<int64_t>(i)) {}     // NOLINT
  Value(int64_t i) : v_(i) {}                       // NOLINT
  Value(size_t i) : v_(static_cast<int64_t>(i)) {}  // NOLINT
  Value(double d) : v_(d) {}                        // NOLINT
  Value(std::string s, bool safe = false) : v_(std::move(s)), safe_(safe) {}  // NOLINT
  Value(const char* s) : v_(std::string(s)) {}      // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {} // NOLINT

  static Value MakeUndefined(std::string hint) {
    Value v;
    v.v_ = Undefined{std::move(hint)};
    return v;
  }
  static Value MakeList(std::vector<Value> items = {}, bool tuple = false);
  static Value MakeGenerator(std::vector<Value> items);
  static Value MakeDict(DictKind kind = DictKind::kDict);
  static Value MakeFunction(std::string name, NativeFunction fn);
  static Value FromJson(const nlohmann::ordered_json& j);

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_dict() const { return kind() == Kind::kDict; }
  bool is_function() const { return kind() == Kind::kFunction; }
  bool is_safe() const { return safe_; }  // markupsafe.Markup

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  ListData& list() const { return *std::get<std::shared_ptr<ListData>>(v_); }
  DictData& dict() const { return *std::get<std::shared_ptr<DictData>>(v_); }
  const FunctionData& function() const { return *std::get<std::shared_ptr<FunctionData>>(v_); }
  const std::string& undefined_hint() const { return std::get<Undefined>(v_).hint; }
  // Numbers (bool counts as int, as in Python) as double / int64.
  double ToDouble() const;
  int64_t ToInt() const;
  // Same object (Python `is`) for lists, dicts and functions.
  bool SameObject(const Value& o) const;

  // Throws the UndefinedError an operation on an undefined value raises.
  [[noreturn]] void FailUndefined() const;

 private:
  std::variant<Undefined, std::nullptr_t, bool, int64_t, double, std::string,
               std::shared_ptr<ListData>, std::shared_ptr<DictData>, std::shared_ptr<FunctionData>>
      v_;
  bool safe_ = false;
};

struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
  int line = 0;
  // Looks up argument `pos` / keyword `name`; `fallback` when absent.
  Value Get(size_t pos, std::string_view name, const Value& fallback) const;
  bool Has(size_t pos, std::string_view name) const;
};

// Python's type name, for error messages ("str", "list", "dict", ...).
std::string TypeName(const Value& v);
bool Truthy(const Value& v);
// str(v) as Jinja prints it: Undefined is "", None is "None", floats as repr.
std::string ToStr(const Value& v);
std::string Repr(const Value& v);
std::string FloatRepr(double d);
std::string PyStringRepr(std::string_view s);
bool Equals(const Value& a, const Value& b);
// <0, 0, >0 like Python's ordering; throws TypeError for unorderable types.
int Compare(const Value& a, const Value& b);
// `needle in haystack`.
bool Contains(const Value& haystack, const Value& needle);

struct JsonOptions {
  bool ensure_ascii = false;
  int indent = -1;  // < 0: one line
  std::string item_sep = ", ";
  std::string key_sep = ": ";
  bool sort_keys = false;
};
// Python's json.dumps(v).
std::string ToJson(const Value& v, const JsonOptions& options);

// markupsafe.escape's text.
std::string HtmlEscape(std::string_view s);

// Code-point view of UTF-8 text (Python strings index by code point).
std::vector<std::string_view> CodePoints(std::string_view s);
size_t CodePointCount(std::string_view s);

}  // namespace pagoda::jinja
