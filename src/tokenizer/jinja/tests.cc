// Jinja2's built-in tests (`x is defined`, `x is string`, ...), with the
// answers Python gives for each type: bool is a number, a string is a
// sequence and iterable, a dict is a sequence too, an undefined value is
// iterable, a generator is iterable but not a sequence.

#include <map>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/text_util.h"

namespace pagoda::jinja {
namespace {

const Value& Arg0(const CallArgs& a) {
  static const Value kUndef;
  if (a.args.empty()) throw TemplateError("TypeError: test needs an argument");
  return a.args[0];
}

bool TDefined(Interpreter&, const Value& v, CallArgs&) { return !v.is_undefined(); }
bool TUndefined(Interpreter&, const Value& v, CallArgs&) { return v.is_undefined(); }
bool TNone(Interpreter&, const Value& v, CallArgs&) { return v.is_none(); }
bool TBoolean(Interpreter&, const Value& v, CallArgs&) { return v.is_bool(); }
bool TTrue(Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); }
bool TFalse(Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); }
bool TString(Interpreter&, const Value& v, CallArgs&) { return v.is_string(); }
bool TNumber(Interpreter&, const Value& v, CallArgs&) { return v.is_number(); }
bool TInteger(Interpreter&, const Value& v, CallArgs&) { return v.is_int(); }
bool TFloat(Interpreter&, const Value& v, CallArgs&) { return v.is_float(); }
bool TMapping(Interpreter&, const Value& v, CallArgs&) { return v.is_dict() && v.dict().kind == DictKind::kDict; }
bool TCallable(Interpreter&, const Value& v, CallArgs&) { return v.is_function(); }
bool TEscaped(Interpreter&, const Value& v, CallArgs&) { return v.is_string() && v.is_safe(); }

bool TIterable(Interpreter&, const Value& v, CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list() || (v.is_dict() && v.dict().kind == DictKind::kDict);
}

bool TSequence(Interpreter&, const Value& v, CallArgs&) {
  return v.is_undefined() || v.is_string() || (v.is_list() && !v.list().generator) ||
         (v.is_dict() && v.dict().kind == DictKind::kDict);
}

int64_t IntOf(const Value& v) {
  if (!v.is_number()) throw TemplateError("TypeError: not all arguments converted during string formatting");
  return v.ToInt();
}

bool TOdd(Interpreter&, const Value& v, CallArgs&) { return IntOf(v) % 2 != 0; }
bool TEven(Interpreter&, const Value& v, CallArgs&) { return IntOf(v) % 2 == 0; }
bool TDivisibleBy(Interpreter&, const Value& v, CallArgs& a) {
  const int64_t d = IntOf(Arg0(a));
  if (d == 0) throw TemplateError("ZeroDivisionError: integer division or modulo by zero");
  return IntOf(v) % d == 0;
}

bool TEq(Interpreter&, const Value& v, CallArgs& a) { return Equals(v, Arg0(a)); }
bool TNe(Interpreter&, const Value& v, CallArgs& a) { return !Equals(v, Arg0(a)); }
bool TLt(Interpreter&, const Value& v, CallArgs& a) { return Compare(v, Arg0(a)) < 0; }
bool TLe(Interpreter&, const Value& v, CallArgs& a) { return Compare(v, Arg0(a)) <= 0; }
bool TGt(Interpreter&, const Value& v, CallArgs& a) { return Compare(v, Arg0(a)) > 0; }
bool TGe(Interpreter&, const Value& v, CallArgs& a) { return Compare(v, Arg0(a)) >= 0; }
bool TIn(Interpreter&, const Value& v, CallArgs& a) { return Contains(Arg0(a), v); }
bool TSameAs(Interpreter&, const Value& v, CallArgs& a) { return v.SameObject(Arg0(a)); }
bool TLower(Interpreter&, const Value& v, CallArgs&) {
  const std::string s = ToStr(v);
  return PyLower(s) == s && PyUpper(s) != s;
}
bool TUpper(Interpreter&, const Value& v, CallArgs&) {
  const std::string s = ToStr(v);
  return PyUpper(s) == s && PyLower(s) != s;
}
bool TFilter(Interpreter&, const Value& v, CallArgs&) { return v.is_string() && HasFilter(v.as_string()); }
bool TTest(Interpreter&, const Value& v, CallArgs&) { return v.is_string() && HasTest(v.as_string()); }

const std::map<std::string, TestFn, std::less<>>& Tests() {
  static const std::map<std::string, TestFn, std::less<>> m = {
      {"!=", TNe}, {"<", TLt}, {"<=", TLe}, {"==", TEq}, {">", TGt}, {">=", TGe},
      {"boolean", TBoolean}, {"callable", TCallable}, {"defined", TDefined},
      {"divisibleby", TDivisibleBy}, {"eq", TEq}, {"equalto", TEq}, {"escaped", TEscaped},
      {"even", TEven}, {"false", TFalse}, {"filter", TFilter}, {"float", TFloat}, {"ge", TGe},
      {"greaterthan", TGt}, {"gt", TGt}, {"in", TIn}, {"integer", TInteger}, {"iterable", TIterable},
      {"le", TLe}, {"lessthan", TLt}, {"lower", TLower}, {"lt", TLt}, {"mapping", TMapping},
      {"ne", TNe}, {"none", TNone}, {"number", TNumber}, {"odd", TOdd}, {"sameas", TSameAs},
      {"sequence", TSequence}, {"string", TString}, {"test", TTest}, {"true", TTrue},
      {"undefined", TUndefined}, {"upper", TUpper},
  };
  return m;
}

}  // namespace

bool HasTest(std::string_view name) { return Tests().count(name) != 0; }

TestFn FindTest(std::string_view name) {
  auto it = Tests().find(name);
  return it == Tests().end() ? nullptr : it->second;
}

}  // namespace pagoda::jinja
