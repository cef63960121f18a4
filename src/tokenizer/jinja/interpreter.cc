#include "tokenizer/jinja/interpreter.h"

#include <cmath>

#include "tokenizer/jinja/builtins.h"

namespace pagoda::jinja {
namespace {

bool IsIntLike(const Value& v) { return v.is_int() || v.is_bool(); }

}  // namespace

Interpreter::Interpreter(const RenderLimits& limits, std::time_t now) : limits_(limits), now_(now) {
  InstallGlobals(this, &globals_);
}

void Interpreter::Step() {
  if (++steps_ > limits_.max_steps) throw TemplateError("RuntimeError: template took too many steps");
  if (out_ != nullptr && out_->size() > limits_.max_output_bytes) {
    throw TemplateError("RuntimeError: template output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes");
  }
}

std::string Interpreter::Render(const Body& body) {
  std::string out;
  out_ = &out;
  scopes_ = {&root_};
  Exec(body);
  Step();
  return out;
}

Value Interpreter::Lookup(const std::string& name) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto f = (*it)->find(name);
    if (f != (*it)->end()) return f->second;
  }
  auto g = globals_.find(name);
  if (g != globals_.end()) return g->second;
  return Value::MakeUndefined("UndefinedError: '" + name + "' is undefined");
}

Interpreter::Flow Interpreter::Exec(const Body& body) {
  for (const StmtPtr& s : body) {
    const Flow f = ExecStmt(*s);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

std::string Interpreter::Capture(const Body& body) {
  std::string buf;
  std::string* saved = out_;
  out_ = &buf;
  try {
    Exec(body);
  } catch (...) {
    out_ = saved;
    throw;
  }
  out_ = saved;
  return buf;
}

Interpreter::Flow Interpreter::ExecStmt(const Stmt& s) {
  Step();
  try {
    switch (s.kind) {
      case StmtKind::kText: *out_ += s.text; return Flow::kNormal;
      case StmtKind::kOutput: *out_ += ToStr(Eval(*s.expr)); return Flow::kNormal;
      case StmtKind::kIf:
        for (const auto& [cond, body] : s.branches) {
          if (cond == nullptr || Truthy(Eval(*cond))) return Exec(body);
        }
        return Flow::kNormal;
      case StmtKind::kFor: {
        Flow f = Flow::kNormal;
        ExecFor(s, &f);
        return f;
      }
      case StmtKind::kSet: Assign(*s.target, Eval(*s.expr)); return Flow::kNormal;
      case StmtKind::kSetBlock: {
        Value v(Capture(s.body));
        if (s.filter) v = EvalFilter(*s.filter, &v);
        Assign(*s.target, v);
        return Flow::kNormal;
      }
      case StmtKind::kMacro: (*scopes_.back())[s.name] = MakeMacro(s, s.body, {}); return Flow::kNormal;
      case StmtKind::kCallBlock: {
        Value caller = MakeMacro(s, s.body, scopes_);
        const Expr& call = *s.expr;
        Value fn = Eval(*call.children[0]);
        CallArgs args = EvalArgs(call.args, call.line);
        args.kwargs.emplace_back("caller", caller);
        *out_ += ToStr(Call(fn, args));
        return Flow::kNormal;
      }
      case StmtKind::kFilterBlock: {
        Scope inner;
        scopes_.push_back(&inner);
        Value v;
        try {
          v = Value(Capture(s.body));
        } catch (...) {
          scopes_.pop_back();
          throw;
        }
        scopes_.pop_back();
        *out_ += ToStr(EvalFilter(*s.filter, &v));
        return Flow::kNormal;
      }
      case StmtKind::kWith: {
        Scope inner;
        for (const auto& [name, expr] : s.params) inner[name] = Eval(*expr);
        scopes_.push_back(&inner);
        Flow f;
        try {
          f = Exec(s.body);
        } catch (...) {
          scopes_.pop_back();
          throw;
        }
        scopes_.pop_back();
        return f;
      }
      case StmtKind::kBlock: return Exec(s.body);
      case StmtKind::kBreak: return Flow::kBreak;
      case StmtKind::kContinue: return Flow::kContinue;
    }
  } catch (TemplateError& e) {
    if (e.line() == 0) e.set_line(s.line);
    throw;
  }
  return Flow::kNormal;
}

void Interpreter::Assign(const Expr& target, const Value& v) {
  if (target.kind == ExprKind::kName) {
    (*scopes_.back())[target.name] = v;
    return;
  }
  if (target.kind == ExprKind::kGetAttr) {  // ns.attr
    Value ns = Lookup(target.children[0]->name);
    if (!ns.is_dict() || ns.dict().kind != DictKind::kNamespace) {
      throw TemplateError("TemplateRuntimeError: cannot assign attribute on non-namespace object", target.line);
    }
    ns.dict().Set(Value(target.name), v);
    return;
  }
  // A tuple of names: unpack.
  std::vector<Value> items = Iterate(v);
  if (items.size() != target.children.size()) {
    throw TemplateError("ValueError: " + std::string(items.size() > target.children.size() ? "too many" : "not enough") +
                            " values to unpack (expected " + std::to_string(target.children.size()) + ", got " +
                            std::to_string(items.size()) + ")",
                        target.line);
  }
  for (size_t i = 0; i < items.size(); ++i) Assign(*target.children[i], items[i]);
}

void Interpreter::ExecFor(const Stmt& s, Flow* flow) {
  std::vector<Value> items = Iterate(Eval(*s.expr));
  if (s.filter) {
    std::vector<Value> kept;
    for (const Value& item : items) {
      Scope scope;
      scopes_.push_back(&scope);
      try {
        Assign(*s.target, item);
        if (Truthy(Eval(*s.filter))) kept.push_back(item);
      } catch (...) {
        scopes_.pop_back();
        throw;
      }
      scopes_.pop_back();
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    *flow = Exec(s.else_body);
    return;
  }
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    Scope scope;
    Value loop = Value::MakeDict(DictKind::kLoop);
    DictData& d = loop.dict();
    d.items.reserve(12);
    d.items.emplace_back(Value("index"), Value(i + 1));
    d.items.emplace_back(Value("index0"), Value(i));
    d.items.emplace_back(Value("revindex"), Value(n - i));
    d.items.emplace_back(Value("revindex0"), Value(n - i - 1));
    d.items.emplace_back(Value("first"), Value(i == 0));
    d.items.emplace_back(Value("last"), Value(i == n - 1));
    d.items.emplace_back(Value("length"), Value(n));
    d.items.emplace_back(Value("depth"), Value(1));
    d.items.emplace_back(Value("depth0"), Value(0));
    d.items.emplace_back(Value("previtem"),
                         i > 0 ? items[i - 1] : Value::MakeUndefined("UndefinedError: there is no previous item"));
    d.items.emplace_back(Value("nextitem"),
                         i + 1 < n ? items[i + 1] : Value::MakeUndefined("UndefinedError: there is no next item"));
    d.items.emplace_back(Value("cycle"), Value::MakeFunction("cycle", [i](CallArgs& a) -> Value {
                           if (a.args.empty()) throw TemplateError("TypeError: no items for cycling given");
                           return a.args[i % a.args.size()];
                         }));
    scope["loop"] = loop;
    scopes_.push_back(&scope);
    Flow f;
    try {
      Assign(*s.target, items[i]);
      f = Exec(s.body);
    } catch (...) {
      scopes_.pop_back();
      throw;
    }
    scopes_.pop_back();
    if (f == Flow::kBreak) break;
  }
}

Value Interpreter::MakeMacro(const Stmt& s, const Body& body, std::vector<Scope*> caller_scopes) {
  const bool is_caller = !caller_scopes.empty();
  return Value::MakeFunction(
      is_caller ? "caller" : s.name,
      [this, &s, &body, is_caller, caller_scopes = std::move(caller_scopes)](CallArgs& a) -> Value {
        if (++call_depth_ > limits_.max_call_depth) {
          --call_depth_;
          throw TemplateError("RecursionError: maximum macro recursion depth exceeded", a.line);
        }
        Scope local;
        // Call blocks' parameters (`{% call(x) %}`) are s.params too.
        const auto& params = s.params;
        size_t pos = 0;
        std::vector<Value> extra_args;
        Value extra_kwargs = Value::MakeDict();
        for (const Value& v : a.args) {
          if (pos < params.size()) {
            local[params[pos++].first] = v;
          } else {
            extra_args.push_back(v);
          }
        }
        for (const auto& [k, v] : a.kwargs) {
          bool bound = false;
          for (const auto& p : params) {
            if (p.first == k) {
              local[k] = v;
              bound = true;
            }
          }
          if (!bound && k != "caller") extra_kwargs.dict().Set(Value(k), v);
          if (k == "caller") local["caller"] = v;
        }
        std::vector<Scope*> saved = std::move(scopes_);
        scopes_ = is_caller ? caller_scopes : std::vector<Scope*>{&root_};
        scopes_.push_back(&local);
        std::string text;
        try {
          for (const auto& [name, def] : params) {
            if (local.count(name) != 0) continue;
            local[name] = def ? Eval(*def)
                              : Value::MakeUndefined("UndefinedError: parameter '" + name + "' was not provided");
          }
          local["varargs"] = Value::MakeList(std::move(extra_args), true);
          local["kwargs"] = extra_kwargs;
          text = Capture(body);
        } catch (...) {
          scopes_ = std::move(saved);
          --call_depth_;
          throw;
        }
        scopes_ = std::move(saved);
        --call_depth_;
        return Value(std::move(text));
      });
}

CallArgs Interpreter::EvalArgs(const std::vector<Arg>& args, int line) {
  CallArgs out;
  out.line = line;
  for (const Arg& a : args) {
    if (a.star && a.name == "*") {
      for (Value& v : Iterate(Eval(*a.value))) out.args.push_back(std::move(v));
    } else if (a.star) {
      Value d = Eval(*a.value);
      if (!d.is_dict()) throw TemplateError("TypeError: argument after ** must be a mapping", line);
      for (const auto& [k, v] : d.dict().items) out.kwargs.emplace_back(ToStr(k), v);
    } else if (a.name.empty()) {
      out.args.push_back(Eval(*a.value));
    } else {
      out.kwargs.emplace_back(a.name, Eval(*a.value));
    }
  }
  return out;
}

Value Interpreter::Call(const Value& fn, CallArgs& args) {
  if (fn.is_function()) return fn.function().fn(args);
  if (fn.is_undefined()) fn.FailUndefined();
  throw TemplateError("TypeError: '" + TypeName(fn) + "' object is not callable");
}

Value Interpreter::ApplyFilter(const std::string& name, const Value& input, CallArgs& args) {
  FilterFn f = FindFilter(name);
  if (f == nullptr) throw TemplateError("TemplateRuntimeError: No filter named '" + name + "' found.");
  return f(*this, input, args);
}

bool Interpreter::ApplyTest(const std::string& name, const Value& input, CallArgs& args) {
  TestFn t = FindTest(name);
  if (t == nullptr) throw TemplateError("TemplateRuntimeError: No test named '" + name + "' found.");
  return t(*this, input, args);
}

std::vector<Value> Interpreter::Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return {};
    case Value::Kind::kList: return v.list().items;
    case Value::Kind::kDict: {
      std::vector<Value> keys;
      if (v.dict().kind != DictKind::kDict) break;
      for (const auto& kv : v.dict().items) keys.push_back(kv.first);
      return keys;
    }
    case Value::Kind::kString: {
      std::vector<Value> chars;
      for (std::string_view c : CodePoints(v.as_string())) chars.emplace_back(c);
      return chars;
    }
    default: break;
  }
  throw TemplateError("TypeError: '" + TypeName(v) + "' object is not iterable");
}

Value Interpreter::GetAttr(const Value& obj, std::string_view name) {
  if (obj.is_undefined()) obj.FailUndefined();
  if (obj.is_dict() && obj.dict().kind != DictKind::kDict) {
    if (const Value* v = obj.dict().Find(name)) return *v;
    return Value::MakeUndefined("UndefinedError: '" + TypeName(obj) + " object' has no attribute '" +
                                std::string(name) + "'");
  }
  bool found = false;
  Value m = GetMethod(obj, name, &found);
  if (found) return m;
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().Find(name)) return *v;
  }
  const std::string what = obj.is_none() ? "'None'" : "'" + TypeName(obj) + " object'";
  return Value::MakeUndefined("UndefinedError: " + what + " has no attribute '" + std::string(name) + "'");
}

Value Interpreter::GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) obj.FailUndefined();
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().Find(key)) return *v;
  } else if ((obj.is_list() || obj.is_string()) && IsIntLike(key)) {
    int64_t i = key.ToInt();
    if (obj.is_list()) {
      const auto n = static_cast<int64_t>(obj.list().items.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return obj.list().items[i];
    } else {
      std::vector<std::string_view> chars = CodePoints(obj.as_string());
      const auto n = static_cast<int64_t>(chars.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return Value(chars[i]);
    }
    return Value::MakeUndefined("UndefinedError: " + TypeName(obj) + " object has no element " + ToStr(key));
  }
  if (key.is_string()) return GetAttr(obj, key.as_string());
  return Value::MakeUndefined("UndefinedError: '" + TypeName(obj) + " object' has no attribute " + Repr(key));
}

Value Interpreter::EvalFilter(const Expr& e, const Value* input) {
  Value in = e.children[0] ? (e.children[0]->kind == ExprKind::kFilter ? EvalFilter(*e.children[0], input)
                                                                      : Eval(*e.children[0]))
                           : *input;
  CallArgs args = EvalArgs(e.args, e.line);
  return ApplyFilter(e.name, in, args);
}

Value Interpreter::EvalCompare(const Expr& e) {
  Value left = Eval(*e.children[0]);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = Eval(*e.children[i + 1]);
    const std::string& op = e.ops[i];
    bool r;
    if (op == "==") {
      r = Equals(left, right);
    } else if (op == "!=") {
      r = !Equals(left, right);
    } else if (op == "in") {
      r = Contains(right, left);
    } else if (op == "notin") {
      r = !Contains(right, left);
    } else {
      const int c = Compare(left, right);
      r = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
    }
    if (!r) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Value Interpreter::EvalBinary(const Expr& e) {
  const std::string& op = e.name;
  if (op == "and") {
    Value l = Eval(*e.children[0]);
    return Truthy(l) ? Eval(*e.children[1]) : l;
  }
  if (op == "or") {
    Value l = Eval(*e.children[0]);
    return Truthy(l) ? l : Eval(*e.children[1]);
  }
  Value l = Eval(*e.children[0]);
  Value r = Eval(*e.children[1]);
  if (op == "~") return Value(ToStr(l) + ToStr(r));
  return BinaryOp(op, l, r);
}

Value Interpreter::Eval(const Expr& e) {
  try {
    switch (e.kind) {
      case ExprKind::kLiteral: return e.literal;
      case ExprKind::kName: return Lookup(e.name);
      case ExprKind::kList:
      case ExprKind::kTuple: {
        std::vector<Value> items;
        items.reserve(e.children.size());
        for (const ExprPtr& c : e.children) items.push_back(Eval(*c));
        return Value::MakeList(std::move(items), e.kind == ExprKind::kTuple);
      }
      case ExprKind::kDict: {
        Value d = Value::MakeDict();
        for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
          d.dict().Set(Eval(*e.children[i]), Eval(*e.children[i + 1]));
        }
        return d;
      }
      case ExprKind::kGetAttr: return GetAttr(Eval(*e.children[0]), e.name);
      case ExprKind::kGetItem: return GetItem(Eval(*e.children[0]), Eval(*e.children[1]));
      case ExprKind::kSlice: {
        auto part = [&](size_t i) { return e.children[i] ? Eval(*e.children[i]) : Value(nullptr); };
        return SliceValue(Eval(*e.children[0]), part(1), part(2), part(3));
      }
      case ExprKind::kCall: {
        Value fn = Eval(*e.children[0]);
        CallArgs args = EvalArgs(e.args, e.line);
        return Call(fn, args);
      }
      case ExprKind::kFilter: return EvalFilter(e, nullptr);
      case ExprKind::kTest: {
        Value v = Eval(*e.children[0]);
        CallArgs args = EvalArgs(e.args, e.line);
        return Value(ApplyTest(e.name, v, args) != e.negated);
      }
      case ExprKind::kUnary: {
        Value v = Eval(*e.children[0]);
        if (e.name == "not") return Value(!Truthy(v));
        if (v.is_undefined()) v.FailUndefined();
        if (!v.is_number()) {
          throw TemplateError("TypeError: bad operand type for unary " + e.name + ": '" + TypeName(v) + "'");
        }
        if (e.name == "+") return v.is_float() ? v : Value(v.ToInt());
        return v.is_float() ? Value(-v.as_float()) : Value(-v.ToInt());
      }
      case ExprKind::kBinary: return EvalBinary(e);
      case ExprKind::kCompare: return EvalCompare(e);
      case ExprKind::kCondExpr:
        if (Truthy(Eval(*e.children[1]))) return Eval(*e.children[0]);
        if (e.children[2]) return Eval(*e.children[2]);
        return Value::MakeUndefined("UndefinedError: the inline if-expression on line " + std::to_string(e.line) +
                                    " evaluated to false and no else section was defined.");
    }
  } catch (TemplateError& err) {
    if (err.line() == 0) err.set_line(e.line);
    throw;
  }
  return Value();
}

}  // namespace pagoda::jinja
