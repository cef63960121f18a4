// The syntax tree of a parsed template: expressions and statements as the
// Jinja2 parser builds them, with the line each node came from for errors.
// Built once by the parser, then read-only: shared by concurrent renders.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace pagoda::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class ExprKind : uint8_t {
  kLiteral,   // literal
  kName,      // name
  kList,      // children
  kTuple,     // children
  kDict,      // children: key, value, key, value...
  kGetAttr,   // children[0] . name
  kGetItem,   // children[0] [ children[1] ]
  kSlice,     // children[0] [ children[1] : children[2] : children[3] ] (null parts)
  kCall,      // children[0] ( args )
  kFilter,    // children[0] | name ( args ); children[0] null inside {% filter %}
  kTest,      // children[0] is [not] name ( args )
  kUnary,     // name is "-", "+" or "not"; children[0]
  kBinary,    // children[0] name children[1]: + - * / // % ** and or ~
  kCompare,   // children[0] ops[0] children[1] ops[1] children[2] ...
  kCondExpr,  // children: then-value, condition, else-value (null: undefined)
};

struct Arg {
  std::string name;  // empty: positional
  ExprPtr value;
  bool star = false;  // *args / **kwargs splat (name "*" or "**")
};

struct Expr {
  ExprKind kind;
  int line = 0;
  Value literal;
  std::string name;
  bool negated = false;  // kTest with `is not`
  std::vector<ExprPtr> children;
  std::vector<Arg> args;
  std::vector<std::string> ops;
};

enum class StmtKind : uint8_t {
  kText,         // text
  kOutput,       // {{ expr }}
  kIf,           // branches (cond null for else)
  kFor,          // targets in expr [if filter] body [else else_body]
  kSet,          // target = expr
  kSetBlock,     // {% set target [| filters] %}body{% endset %}
  kMacro,        // name(params) body
  kCallBlock,    // {% call(params) expr %}body{% endcall %}
  kFilterBlock,  // {% filter filters %}body{% endfilter %}
  kBreak,
  kContinue,
  kWith,         // {% with a = x %}body{% endwith %}: params are the assignments
  kBlock,        // a body rendered in place (e.g. {% generation %})
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;
  std::string name;
  ExprPtr expr;
  ExprPtr target;  // kSet / kSetBlock: a name, ns.attr, or a tuple of names; kFor: a name or tuple
  ExprPtr filter;  // kFor's inline `if`; kSetBlock/kFilterBlock: filter chain (kFilter, innermost input null)
  std::vector<std::pair<ExprPtr, Body>> branches;
  std::vector<std::pair<std::string, ExprPtr>> params;  // macro/call params with defaults; with-assignments
  Body body;
  Body else_body;
};

}  // namespace pagoda::jinja
