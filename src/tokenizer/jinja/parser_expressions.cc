// Parser methods for expressions, following Jinja2's parser: conditional
// expressions, or/and/not, comparisons, + - ~ * / // % **, unary signs,
// primaries with postfix attribute/item/call access, then filters and tests.

#include "tokenizer/jinja/parser_impl.h"

namespace pagoda::jinja {

// ---- expressions ----
bool Parser::IsTupleEnd(std::initializer_list<std::string_view> extra_end) const {
  const Token& t = Cur();
  if (t.kind == TokKind::kVarEnd || t.kind == TokKind::kBlockEnd || t.kind == TokKind::kEof) return true;
  if (t.kind == TokKind::kOp && t.text == ")") return true;
  if (t.kind == TokKind::kName) {
    for (std::string_view e : extra_end) {
      if (t.text == e) return true;
    }
  }
  return false;
}

ExprPtr Parser::ParseTuple(bool with_condexpr, std::initializer_list<std::string_view> extra_end) {
  return ParseTupleOf([&] { return ParseExpression(with_condexpr); }, extra_end, false);
}

ExprPtr Parser::ParseExpression(bool with_condexpr) {
  DepthGuard guard(this);
  return with_condexpr ? ParseCondExpr() : ParseOr();
}

ExprPtr Parser::ParseCondExpr() {
  const int line = Cur().line;
  ExprPtr expr1 = ParseOr();
  while (SkipName("if")) {
    ExprPtr cond = ParseOr();
    ExprPtr other = SkipName("else") ? ParseCondExpr() : nullptr;
    auto e = Make(ExprKind::kCondExpr, line);
    e->children.push_back(std::move(expr1));
    e->children.push_back(std::move(cond));
    e->children.push_back(std::move(other));
    expr1 = std::move(e);
  }
  return expr1;
}

ExprPtr Parser::Binary(std::string op, ExprPtr l, ExprPtr r, int line) {
  auto e = Make(ExprKind::kBinary, line);
  e->name = std::move(op);
  e->children.push_back(std::move(l));
  e->children.push_back(std::move(r));
  return e;
}

ExprPtr Parser::ParseOr() {
  const int line = Cur().line;
  ExprPtr left = ParseAnd();
  while (SkipName("or")) left = Binary("or", std::move(left), ParseAnd(), line);
  return left;
}

ExprPtr Parser::ParseAnd() {
  const int line = Cur().line;
  ExprPtr left = ParseNot();
  while (SkipName("and")) left = Binary("and", std::move(left), ParseNot(), line);
  return left;
}

ExprPtr Parser::ParseNot() {
  if (IsName("not")) {
    DepthGuard guard(this);
    const int line = Next().line;
    auto e = Make(ExprKind::kUnary, line);
    e->name = "not";
    e->children.push_back(ParseNot());
    return e;
  }
  return ParseCompare();
}

ExprPtr Parser::ParseCompare() {
  const int line = Cur().line;
  ExprPtr expr = ParseMath1();
  auto cmp = Make(ExprKind::kCompare, line);
  while (true) {
    if (Cur().kind == TokKind::kOp &&
        (Cur().text == "==" || Cur().text == "!=" || Cur().text == "<" || Cur().text == "<=" ||
         Cur().text == ">" || Cur().text == ">=")) {
      cmp->ops.push_back(Next().text);
    } else if (IsName("in")) {
      Next();
      cmp->ops.push_back("in");
    } else if (IsName("not") && Look().kind == TokKind::kName && Look().text == "in") {
      Next();
      Next();
      cmp->ops.push_back("notin");
    } else {
      break;
    }
    if (cmp->children.empty()) cmp->children.push_back(std::move(expr));
    cmp->children.push_back(ParseMath1());
  }
  return cmp->ops.empty() ? std::move(expr) : std::move(cmp);
}

ExprPtr Parser::ParseMath1() {
  const int line = Cur().line;
  ExprPtr left = ParseConcat();
  while (IsOp("+") || IsOp("-")) {
    std::string op = Next().text;
    left = Binary(op, std::move(left), ParseConcat(), line);
  }
  return left;
}

ExprPtr Parser::ParseConcat() {
  const int line = Cur().line;
  ExprPtr left = ParseMath2();
  while (SkipOp("~")) left = Binary("~", std::move(left), ParseMath2(), line);
  return left;
}

ExprPtr Parser::ParseMath2() {
  const int line = Cur().line;
  ExprPtr left = ParsePow();
  while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
    std::string op = Next().text;
    left = Binary(op, std::move(left), ParsePow(), line);
  }
  return left;
}

ExprPtr Parser::ParsePow() {
  const int line = Cur().line;
  ExprPtr left = ParseUnary(true);
  while (SkipOp("**")) left = Binary("**", std::move(left), ParseUnary(true), line);
  return left;
}

ExprPtr Parser::ParseUnary(bool with_filter) {
  DepthGuard guard(this);
  const int line = Cur().line;
  ExprPtr node;
  if (IsOp("-") || IsOp("+")) {
    auto e = Make(ExprKind::kUnary, line);
    e->name = Next().text;
    e->children.push_back(ParseUnary(false));
    node = std::move(e);
  } else {
    node = ParsePrimary();
  }
  node = ParsePostfix(std::move(node));
  if (with_filter) node = ParseFilterExpr(std::move(node));
  return node;
}

ExprPtr Parser::ParsePrimary() {
  DepthGuard guard(this);
  const Token& tok = Cur();
  const int line = tok.line;
  if (tok.kind == TokKind::kName) {
    auto e = Make(ExprKind::kLiteral, line);
    if (tok.text == "true" || tok.text == "True") {
      e->literal = Value(true);
    } else if (tok.text == "false" || tok.text == "False") {
      e->literal = Value(false);
    } else if (tok.text == "none" || tok.text == "None") {
      e->literal = Value(nullptr);
    } else {
      e->kind = ExprKind::kName;
      e->name = tok.text;
    }
    Next();
    return e;
  }
  if (tok.kind == TokKind::kString) {
    std::string s;
    while (Cur().kind == TokKind::kString) s += Next().text;
    auto e = Make(ExprKind::kLiteral, line);
    e->literal = Value(std::move(s));
    return e;
  }
  if (tok.kind == TokKind::kInt || tok.kind == TokKind::kFloat) {
    auto e = Make(ExprKind::kLiteral, line);
    e->literal = tok.kind == TokKind::kInt ? Value(tok.int_value) : Value(tok.float_value);
    Next();
    return e;
  }
  if (SkipOp("(")) {
    ExprPtr e = ParseTupleOf([&] { return ParseExpression(true); }, {}, true);
    ExpectOp(")");
    return e;
  }
  if (SkipOp("[")) {
    auto e = Make(ExprKind::kList, line);
    while (!IsOp("]")) {
      if (!e->children.empty()) ExpectOp(",");
      if (IsOp("]")) break;
      e->children.push_back(ParseExpression(true));
    }
    ExpectOp("]");
    return e;
  }
  if (SkipOp("{")) {
    auto e = Make(ExprKind::kDict, line);
    while (!IsOp("}")) {
      if (!e->children.empty()) ExpectOp(",");
      if (IsOp("}")) break;
      e->children.push_back(ParseExpression(true));
      ExpectOp(":");
      e->children.push_back(ParseExpression(true));
    }
    ExpectOp("}");
    return e;
  }
  Fail("unexpected '" + Describe(tok) + "'");
}

ExprPtr Parser::ParsePostfix(ExprPtr node) {
  while (true) {
    if (IsOp(".") || IsOp("[")) {
      node = ParseSubscript(std::move(node));
    } else if (IsOp("(")) {
      node = ParseCall(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr Parser::ParseFilterExpr(ExprPtr node) {
  while (true) {
    if (IsOp("|")) {
      node = ParseFilter(std::move(node), false);
    } else if (IsName("is")) {
      node = ParseTest(std::move(node));
    } else if (IsOp("(")) {
      node = ParseCall(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr Parser::ParseSubscript(ExprPtr node) {
  const Token tok = Next();
  if (tok.text == ".") {
    const Token attr = Next();
    if (attr.kind == TokKind::kName) {
      auto e = Make(ExprKind::kGetAttr, tok.line);
      e->name = attr.text;
      e->children.push_back(std::move(node));
      return e;
    }
    if (attr.kind != TokKind::kInt) Fail("expected name or number", attr.line);
    auto e = Make(ExprKind::kGetItem, tok.line);
    auto key = Make(ExprKind::kLiteral, attr.line);
    key->literal = Value(attr.int_value);
    e->children.push_back(std::move(node));
    e->children.push_back(std::move(key));
    return e;
  }
  // '[': one key, a slice, or several keys (a tuple).
  std::vector<ExprPtr> keys;
  ExprPtr slice;
  while (!IsOp("]")) {
    if (!keys.empty() || slice) ExpectOp(",");
    ExprPtr k = ParseSubscribed(&slice);
    if (k) keys.push_back(std::move(k));
  }
  ExpectOp("]");
  if (slice) {
    if (!keys.empty()) Fail("slices in a tuple key are not supported", tok.line);
    slice->children.insert(slice->children.begin(), std::move(node));
    return slice;
  }
  auto e = Make(ExprKind::kGetItem, tok.line);
  e->children.push_back(std::move(node));
  if (keys.size() == 1) {
    e->children.push_back(std::move(keys[0]));
  } else {
    auto t = Make(ExprKind::kTuple, tok.line);
    t->children = std::move(keys);
    e->children.push_back(std::move(t));
  }
  return e;
}

// A subscript key, or (stored in *slice, returning null) a slice.
ExprPtr Parser::ParseSubscribed(ExprPtr* slice) {
  const int line = Cur().line;
  ExprPtr start;
  if (!IsOp(":")) {
    start = ParseExpression(true);
    if (!IsOp(":")) return start;
  }
  Next();  // ':'
  auto s = Make(ExprKind::kSlice, line);
  s->children.push_back(std::move(start));
  if (IsOp(":") || IsOp("]") || IsOp(",")) {
    s->children.push_back(nullptr);
  } else {
    s->children.push_back(ParseExpression(true));
  }
  if (SkipOp(":") && !IsOp("]") && !IsOp(",")) {
    s->children.push_back(ParseExpression(true));
  } else {
    s->children.push_back(nullptr);
  }
  *slice = std::move(s);
  return nullptr;
}

void Parser::ParseCallArgs(Expr* e) {
  ExpectOp("(");
  bool require_comma = false;
  while (!IsOp(")")) {
    if (require_comma) {
      ExpectOp(",");
      if (IsOp(")")) break;
    }
    Arg a;
    if (IsOp("*") || IsOp("**")) {
      a.name = Next().text;
      a.star = true;
    } else if (Cur().kind == TokKind::kName && Look().kind == TokKind::kOp && Look().text == "=") {
      a.name = Next().text;
      Next();
    } else if (!e->args.empty() && !e->args.back().name.empty()) {
      Fail("invalid syntax for function call expression");
    }
    a.value = ParseExpression(true);
    e->args.push_back(std::move(a));
    require_comma = true;
  }
  ExpectOp(")");
}

ExprPtr Parser::ParseCall(ExprPtr node) {
  auto e = Make(ExprKind::kCall, Cur().line);
  e->children.push_back(std::move(node));
  ParseCallArgs(e.get());
  return e;
}

ExprPtr Parser::ParseFilter(ExprPtr node, bool start_inline) {
  while (IsOp("|") || start_inline) {
    if (!start_inline) Next();
    start_inline = false;
    const int line = Cur().line;
    std::string name = ExpectName();
    while (SkipOp(".")) name += "." + ExpectName();
    auto e = Make(ExprKind::kFilter, line);
    e->name = std::move(name);
    e->children.push_back(std::move(node));
    if (IsOp("(")) ParseCallArgs(e.get());
    node = std::move(e);
  }
  return node;
}

ExprPtr Parser::ParseTest(ExprPtr node) {
  const int line = Next().line;  // 'is'
  auto e = Make(ExprKind::kTest, line);
  e->negated = SkipName("not");
  e->name = ExpectName();
  while (SkipOp(".")) e->name += "." + ExpectName();
  e->children.push_back(std::move(node));
  const Token& c = Cur();
  if (IsOp("(")) {
    ParseCallArgs(e.get());
  } else if ((c.kind == TokKind::kName || c.kind == TokKind::kString || c.kind == TokKind::kInt ||
              c.kind == TokKind::kFloat || IsOp("[") || IsOp("{")) &&
             !IsName("else") && !IsName("or") && !IsName("and")) {
    if (IsName("is")) Fail("You cannot chain multiple tests with is");
    Arg a;
    a.value = ParsePostfix(ParsePrimary());
    e->args.push_back(std::move(a));
  }
  return e;
}

}  // namespace pagoda::jinja
