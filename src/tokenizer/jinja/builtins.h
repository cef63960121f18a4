// The built-in names of the interpreter: Jinja2's filters and tests (plus
// Hugging Face's tojson), the Python methods templates call on strings,
// lists and dicts (only the non-mutating ones, as in Jinja2's immutable
// sandbox), and the global functions (range, namespace, dict, cycler,
// joiner, raise_exception, strftime_now).
// Stateless tables: safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "tokenizer/jinja/value.h"

namespace pagoda::jinja {

class Interpreter;

using FilterFn = Value (*)(Interpreter& in, const Value& input, CallArgs& args);
using TestFn = bool (*)(Interpreter& in, const Value& input, CallArgs& args);

bool HasFilter(std::string_view name);
bool HasTest(std::string_view name);
FilterFn FindFilter(std::string_view name);  // null when unknown
TestFn FindTest(std::string_view name);

// obj.name for a str, list or dict method: a bound function, or an
// undefined value (whose use raises) for a missing or unsafe one.
Value GetMethod(const Value& obj, std::string_view name, bool* found);

void InstallGlobals(Interpreter* in, std::unordered_map<std::string, Value>* globals);

// Python's printf-style `fmt % args`.
std::string PercentFormat(const std::string& fmt, const Value& args);
// Python's str.format for the simple {} / {0} / {name} fields.
std::string BraceFormat(const std::string& fmt, const CallArgs& args);

}  // namespace pagoda::jinja
