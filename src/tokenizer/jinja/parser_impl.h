// The Jinja2 parser's internals, shared by parser.cc (statements) and
// parser_expressions.cc (expressions, with Jinja2's precedence). Not part of
// the module's interface: include parser.h instead.
// One Parser per Parse call: not shared between threads.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace pagoda::jinja {

// Deeper nesting than this is refused rather than risking the C++ stack.
constexpr int kMaxParseDepth = 200;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Body Run() { return Subparse({}); }

  // The rest is used only by the parser's own files.
  // ---- token stream ----
  const Token& Cur() const { return t_[pos_]; }
  const Token& Look() const { return t_[pos_ + 1 < t_.size() ? pos_ + 1 : pos_]; }
  const Token& Next() { return t_[pos_ < t_.size() - 1 ? pos_++ : pos_]; }
  bool IsOp(std::string_view op) const { return Cur().kind == TokKind::kOp && Cur().text == op; }
  bool IsName(std::string_view n) const { return Cur().kind == TokKind::kName && Cur().text == n; }
  bool SkipOp(std::string_view op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool SkipName(std::string_view n) {
    if (!IsName(n)) return false;
    Next();
    return true;
  }
  [[noreturn]] void Fail(const std::string& msg, int line = -1) const {
    throw TemplateError("TemplateSyntaxError: " + msg, line < 0 ? Cur().line : line);
  }
  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case TokKind::kEof: return "end of template";
      case TokKind::kBlockEnd: return "end of statement block";
      case TokKind::kVarEnd: return "end of print statement";
      case TokKind::kBlockBegin: return "begin of statement block";
      case TokKind::kVarBegin: return "begin of print statement";
      case TokKind::kText: return "template data";
      default: return t.text;
    }
  }
  void ExpectOp(std::string_view op) {
    if (!SkipOp(op)) Fail("expected token '" + std::string(op) + "', got '" + Describe(Cur()) + "'");
  }
  std::string ExpectName() {
    if (Cur().kind != TokKind::kName) Fail("expected token 'name', got '" + Describe(Cur()) + "'");
    return Next().text;
  }
  void Expect(TokKind k) {
    if (Cur().kind != k) Fail("expected " + Describe(Token{k, "", 0}) + ", got '" + Describe(Cur()) + "'");
    Next();
  }

  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p(p) {
      if (++p->depth_ > kMaxParseDepth) p->Fail("template nesting is too deep");
    }
    ~DepthGuard() { --p->depth_; }
    Parser* p;
  };

  static ExprPtr Make(ExprKind k, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = line;
    return e;
  }

  // ---- statements ----
  Body Subparse(std::initializer_list<std::string_view> end_tags);
  // Consumes the opening tag's end, parses until one of end_tags (left as
  // the current token).
  Body Statements(std::initializer_list<std::string_view> end_tags);
  StmtPtr NewStmt(StmtKind k, int line);
  StmtPtr ParseStatement();
  StmtPtr ParseIf(int line);
  StmtPtr ParseFor(int line);
  StmtPtr ParseSet(int line);
  void ParseSignature(Stmt* s);
  StmtPtr ParseMacro(int line);
  StmtPtr ParseCallBlock(int line);
  // A name, ns.attr (with_namespace), or a tuple of names.
  ExprPtr ParseAssignTarget(bool with_namespace, std::initializer_list<std::string_view> extra_end);
  // ---- expressions ----
  bool IsTupleEnd(std::initializer_list<std::string_view> extra_end) const;
  ExprPtr ParseTuple(bool with_condexpr, std::initializer_list<std::string_view> extra_end = {});
  ExprPtr ParseExpression(bool with_condexpr);
  ExprPtr ParseCondExpr();
  ExprPtr Binary(std::string op, ExprPtr l, ExprPtr r, int line);
  ExprPtr ParseOr();
  ExprPtr ParseAnd();
  ExprPtr ParseNot();
  ExprPtr ParseCompare();
  ExprPtr ParseMath1();
  ExprPtr ParseConcat();
  ExprPtr ParseMath2();
  ExprPtr ParsePow();
  ExprPtr ParseUnary(bool with_filter);
  ExprPtr ParsePrimary();
  ExprPtr ParsePostfix(ExprPtr node);
  ExprPtr ParseFilterExpr(ExprPtr node);
  ExprPtr ParseSubscript(ExprPtr node);
  // A subscript key, or (stored in *slice, returning null) a slice.
  ExprPtr ParseSubscribed(ExprPtr* slice);
  void ParseCallArgs(Expr* e);
  ExprPtr ParseCall(ExprPtr node);
  ExprPtr ParseFilter(ExprPtr node, bool start_inline);
  ExprPtr ParseTest(ExprPtr node);

  template <typename F>
  ExprPtr ParseTupleOf(F parse, std::initializer_list<std::string_view> extra_end, bool explicit_parens) {
    const int line = Cur().line;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) ExpectOp(",");
      if (IsTupleEnd(extra_end)) break;
      items.push_back(parse());
      if (IsOp(",")) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) Fail("Expected an expression, got '" + Describe(Cur()) + "'");
    }
    auto t = Make(ExprKind::kTuple, line);
    t->children = std::move(items);
    return t;
  }

  std::vector<Token> t_;
  size_t pos_ = 0;
  int depth_ = 0;
};
}  // namespace pagoda::jinja
