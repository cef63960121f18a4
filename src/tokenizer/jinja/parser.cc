#include "tokenizer/jinja/parser.h"

#include <initializer_list>
#include <string_view>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/parser_impl.h"

namespace pagoda::jinja {

Body Parser::Subparse(std::initializer_list<std::string_view> end_tags) {
  DepthGuard guard(this);
  Body body;
  while (true) {
    const Token& tok = Cur();
    if (tok.kind == TokKind::kEof) {
      if (end_tags.size() > 0) {
        std::string want;
        for (std::string_view e : end_tags) want += (want.empty() ? "'" : " or '") + std::string(e) + "'";
        Fail("Unexpected end of template. Jinja was looking for the following tags: " + want);
      }
      return body;
    }
    if (tok.kind == TokKind::kText) {
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::kText;
      s->line = tok.line;
      s->text = tok.text;
      body.push_back(std::move(s));
      Next();
    } else if (tok.kind == TokKind::kVarBegin) {
      Next();
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::kOutput;
      s->line = tok.line;
      s->expr = ParseTuple(true);
      Expect(TokKind::kVarEnd);
      body.push_back(std::move(s));
    } else if (tok.kind == TokKind::kBlockBegin) {
      Next();
      if (Cur().kind == TokKind::kName) {
        for (std::string_view e : end_tags) {
          if (Cur().text == e) return body;
        }
      }
      body.push_back(ParseStatement());
      Expect(TokKind::kBlockEnd);
    } else {
      Fail("unexpected '" + Describe(tok) + "'");
    }
  }
}

// Consumes the opening tag's end, parses until one of end_tags (left as
// the current token).
Body Parser::Statements(std::initializer_list<std::string_view> end_tags) {
  SkipOp(":");
  Expect(TokKind::kBlockEnd);
  return Subparse(end_tags);
}

StmtPtr Parser::NewStmt(StmtKind k, int line) {
  auto s = std::make_unique<Stmt>();
  s->kind = k;
  s->line = line;
  return s;
}

StmtPtr Parser::ParseStatement() {
  if (Cur().kind != TokKind::kName) Fail("tag name expected");
  const int line = Cur().line;
  const std::string tag = Next().text;
  if (tag == "if") return ParseIf(line);
  if (tag == "for") return ParseFor(line);
  if (tag == "set") return ParseSet(line);
  if (tag == "macro") return ParseMacro(line);
  if (tag == "call") return ParseCallBlock(line);
  if (tag == "filter") {
    auto s = NewStmt(StmtKind::kFilterBlock, line);
    s->filter = ParseFilter(nullptr, true);
    s->body = Statements({"endfilter"});
    Next();
    return s;
  }
  if (tag == "with") {
    auto s = NewStmt(StmtKind::kWith, line);
    while (Cur().kind != TokKind::kBlockEnd) {
      if (!s->params.empty()) ExpectOp(",");
      std::string name = ExpectName();
      ExpectOp("=");
      s->params.emplace_back(std::move(name), ParseExpression(true));
    }
    s->body = Statements({"endwith"});
    Next();
    return s;
  }
  if (tag == "generation") {  // transformers' assistant-mask marker: renders its body
    auto s = NewStmt(StmtKind::kBlock, line);
    s->body = Statements({"endgeneration"});
    Next();
    return s;
  }
  if (tag == "break") return NewStmt(StmtKind::kBreak, line);
  if (tag == "continue") return NewStmt(StmtKind::kContinue, line);
  Fail("Encountered unknown tag '" + tag + "'.", line);
}

StmtPtr Parser::ParseIf(int line) {
  auto s = NewStmt(StmtKind::kIf, line);
  while (true) {
    ExprPtr cond = ParseTuple(false);
    Body body = Statements({"elif", "else", "endif"});
    s->branches.emplace_back(std::move(cond), std::move(body));
    const std::string which = Next().text;
    if (which == "elif") continue;
    if (which == "else") {
      Body else_body = Statements({"endif"});
      Next();
      s->branches.emplace_back(nullptr, std::move(else_body));
    }
    return s;
  }
}

StmtPtr Parser::ParseFor(int line) {
  auto s = NewStmt(StmtKind::kFor, line);
  s->target = ParseAssignTarget(false, {"in"});
  if (!SkipName("in")) Fail("expected 'in'");
  s->expr = ParseTuple(false, {"recursive"});
  if (SkipName("if")) s->filter = ParseExpression(true);
  if (SkipName("recursive")) Fail("recursive for loops are not supported", line);
  s->body = Statements({"endfor", "else"});
  if (Next().text == "else") {
    s->else_body = Statements({"endfor"});
    Next();
  }
  return s;
}

StmtPtr Parser::ParseSet(int line) {
  ExprPtr target = ParseAssignTarget(true, {});
  if (SkipOp("=")) {
    auto s = NewStmt(StmtKind::kSet, line);
    s->target = std::move(target);
    s->expr = ParseTuple(true);
    return s;
  }
  auto s = NewStmt(StmtKind::kSetBlock, line);
  s->target = std::move(target);
  if (IsOp("|")) s->filter = ParseFilter(nullptr, false);
  s->body = Statements({"endset"});
  Next();
  return s;
}

void Parser::ParseSignature(Stmt* s) {
  ExpectOp("(");
  bool defaults = false;
  while (!IsOp(")")) {
    if (!s->params.empty()) ExpectOp(",");
    std::string name = ExpectName();
    ExprPtr def;
    if (SkipOp("=")) {
      def = ParseExpression(true);
      defaults = true;
    } else if (defaults) {
      Fail("non-default argument follows default argument");
    }
    s->params.emplace_back(std::move(name), std::move(def));
  }
  ExpectOp(")");
}

StmtPtr Parser::ParseMacro(int line) {
  auto s = NewStmt(StmtKind::kMacro, line);
  s->name = ExpectName();
  ParseSignature(s.get());
  s->body = Statements({"endmacro"});
  Next();
  return s;
}

StmtPtr Parser::ParseCallBlock(int line) {
  auto s = NewStmt(StmtKind::kCallBlock, line);
  if (IsOp("(")) ParseSignature(s.get());
  s->expr = ParseExpression(true);
  if (s->expr->kind != ExprKind::kCall) Fail("expected call", line);
  s->body = Statements({"endcall"});
  Next();
  return s;
}

// A name, ns.attr (with_namespace), or a tuple of names.
ExprPtr Parser::ParseAssignTarget(bool with_namespace, std::initializer_list<std::string_view> extra_end) {
  if (with_namespace && Cur().kind == TokKind::kName && Look().kind == TokKind::kOp && Look().text == ".") {
    auto ns = Make(ExprKind::kGetAttr, Cur().line);
    auto base = Make(ExprKind::kName, Cur().line);
    base->name = Next().text;
    Next();  // .
    ns->name = ExpectName();
    ns->children.push_back(std::move(base));
    return ns;
  }
  ExprPtr target = ParseTupleOf([this] { return ParsePrimary(); }, extra_end, false);
  auto check = [&](const Expr& e) {
    if (e.kind != ExprKind::kName) Fail("can't assign to '" + std::string("expression") + "'", e.line);
  };
  if (target->kind == ExprKind::kTuple) {
    for (const auto& c : target->children) check(*c);
  } else {
    check(*target);
  }
  return target;
}

namespace {

// Jinja2's compiler rejects unknown filters and tests, except inside an if
// (test, branches) or an inline if, where they fail only when evaluated.
void CheckExpr(const Expr* e, bool soft) {
  if (e == nullptr) return;
  if (e->kind == ExprKind::kCondExpr) soft = true;
  if (!soft && e->kind == ExprKind::kFilter && !HasFilter(e->name)) {
    throw TemplateError("TemplateAssertionError: No filter named '" + e->name + "'.", e->line);
  }
  if (!soft && e->kind == ExprKind::kTest && !HasTest(e->name)) {
    throw TemplateError("TemplateAssertionError: No test named '" + e->name + "'.", e->line);
  }
  for (const ExprPtr& c : e->children) CheckExpr(c.get(), soft);
  for (const Arg& a : e->args) CheckExpr(a.value.get(), soft);
}

void CheckBody(const Body& body, bool soft) {
  for (const StmtPtr& s : body) {
    switch (s->kind) {
      case StmtKind::kIf:
        for (const auto& [cond, b] : s->branches) {
          CheckExpr(cond.get(), true);
          CheckBody(b, true);
        }
        break;
      case StmtKind::kFor:
        CheckExpr(s->expr.get(), soft);
        CheckExpr(s->filter.get(), false);
        CheckBody(s->body, false);
        CheckBody(s->else_body, soft);
        break;
      case StmtKind::kSetBlock:
      case StmtKind::kFilterBlock:
        CheckExpr(s->filter.get(), false);
        CheckBody(s->body, false);
        break;
      case StmtKind::kMacro:
      case StmtKind::kCallBlock:
      case StmtKind::kWith:
        for (const auto& p : s->params) CheckExpr(p.second.get(), soft);
        CheckExpr(s->expr.get(), soft);
        CheckBody(s->body, false);
        break;
      case StmtKind::kBlock: CheckBody(s->body, soft); break;
      default:
        CheckExpr(s->expr.get(), soft);
        CheckExpr(s->target.get(), soft);
        break;
    }
  }
}

}  // namespace

Body Parse(std::vector<Token> tokens) {
  Body body = Parser(std::move(tokens)).Run();
  CheckBody(body, false);
  return body;
}

}  // namespace pagoda::jinja
