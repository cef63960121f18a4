// jinja::Interpreter: renders a parsed template body against a context,
// with Jinja2's runtime semantics as Hugging Face configures them
// (ImmutableSandboxedEnvironment: lists and dicts from the context cannot
// be modified; namespace() objects can). Scoping follows Jinja2: a for-loop
// iteration, a macro call and a {% with %} get their own scope; `set` at
// the top level or inside an if writes to the enclosing one; macros see the
// template's top-level variables as they are when called.
// Guards: macro recursion depth, total statements executed and output size
// are bounded, so a hostile template fails with an error instead of
// exhausting the stack, the CPU or memory.
// One Interpreter per render, used by one thread; it throws TemplateError.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

namespace pagoda::jinja {

struct RenderLimits {
  size_t max_output_bytes = size_t{64} << 20;
  int max_call_depth = 200;
  int64_t max_steps = 50'000'000;
};

class Interpreter {
 public:
  // `globals` are the render context (messages, tools, ...); `now` is what
  // strftime_now() formats (local time).
  Interpreter(const RenderLimits& limits, std::time_t now);

  void SetGlobal(const std::string& name, Value v) { root_[name] = std::move(v); }
  std::string Render(const Body& body);

  // Jinja2's attribute and item lookup (sandboxed).
  Value GetAttr(const Value& obj, std::string_view name);
  Value GetItem(const Value& obj, const Value& key);
  Value Call(const Value& fn, CallArgs& args);
  Value ApplyFilter(const std::string& name, const Value& input, CallArgs& args);
  bool ApplyTest(const std::string& name, const Value& input, CallArgs& args);
  // Python iteration: list items, dict keys, string characters; an
  // undefined value is empty; anything else is a TypeError.
  std::vector<Value> Iterate(const Value& v);
  std::time_t now() const { return now_; }

 private:
  using Scope = std::unordered_map<std::string, Value>;
  enum class Flow { kNormal, kBreak, kContinue };

  Flow Exec(const Body& body);
  Flow ExecStmt(const Stmt& s);
  void ExecFor(const Stmt& s, Flow* flow);
  void Assign(const Expr& target, const Value& v);
  std::string Capture(const Body& body);
  Value Eval(const Expr& e);
  Value EvalFilter(const Expr& e, const Value* input);
  Value EvalBinary(const Expr& e);
  Value EvalCompare(const Expr& e);
  CallArgs EvalArgs(const std::vector<Arg>& args, int line);
  Value MakeMacro(const Stmt& s, const Body& body, std::vector<Scope*> caller_scopes);
  Value Lookup(const std::string& name) const;
  void Step();

  RenderLimits limits_;
  std::time_t now_;
  Scope globals_;  // builtins: range, namespace, raise_exception...
  Scope root_;     // the context and the template's top-level variables
  std::vector<Scope*> scopes_;
  std::string* out_ = nullptr;
  int call_depth_ = 0;
  int64_t steps_ = 0;
};

// Arithmetic with Python's rules (int/float, str and list concatenation and
// repetition, floor division and modulo, markup-escaping `+`).
Value BinaryOp(const std::string& op, const Value& a, const Value& b);
Value SliceValue(const Value& obj, const Value& start, const Value& stop, const Value& step);

}  // namespace pagoda::jinja
