// Bad constraints give InvalidArgument with a message that names the
// problem (the keyword, the construct, the rule, the line): the server turns
// these into 400 responses.

#include <gtest/gtest.h>

#include "guided/test_util.h"

namespace pagoda {
namespace {

// Returns the error message, or "OK" when the constraint compiled.
std::string ErrorOf(const Constraint& c) {
  auto g = BuildConstraintGrammar(c);
  if (g.ok()) return "OK";
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  return g.status().message();
}

void ExpectError(const Constraint& c, const std::string& needle) {
  const std::string msg = ErrorOf(c);
  EXPECT_NE(msg, "OK") << "expected an error for: " << c.spec;
  EXPECT_NE(msg.find(needle), std::string::npos) << "message '" << msg << "' lacks '" << needle << "'";
}

TEST(CompileErrors, JsonSchemaUnsupportedKeywordsAreNamed) {
  for (const char* kw : {"patternProperties", "multipleOf", "if", "not", "minProperties", "contains",
                         "propertyNames", "dependentRequired", "unevaluatedProperties"}) {
    const std::string schema = std::string(R"({"type":"object","properties":{"x":{")") + kw + R"(":1}}})";
    ExpectError(Constraint::JsonSchema(schema), std::string("'") + kw + "'");
    ExpectError(Constraint::JsonSchema(schema), "#/properties/x");
  }
  ExpectError(Constraint::JsonSchema(R"({"type":"array","uniqueItems":true})"), "'uniqueItems'");
  EXPECT_EQ(ErrorOf(Constraint::JsonSchema(R"({"type":"array","uniqueItems":false})")), "OK");
}

TEST(CompileErrors, JsonSchemaInvalid) {
  ExpectError(Constraint::JsonSchema(R"({"type":"object",)"), "not valid JSON");
  ExpectError(Constraint::JsonSchema(R"({"type":"strin"})"), "unknown JSON Schema type 'strin'");
  ExpectError(Constraint::JsonSchema(R"({"$ref":"#/$defs/missing"})"), "does not resolve");
  ExpectError(Constraint::JsonSchema(R"({"$ref":"https://example.com/s.json"})"), "only local references");
  ExpectError(Constraint::JsonSchema(R"({"type":"string","format":"uri"})"), "format 'uri'");
  ExpectError(Constraint::JsonSchema(R"({"type":"string","pattern":"(a"})"), "pattern at #");
  ExpectError(Constraint::JsonSchema("false"), "admits no value");
  ExpectError(Constraint::JsonSchema(R"({"type":"integer","minimum":5,"maximum":4})"), "admits no value");
  ExpectError(Constraint::JsonSchema(R"({"allOf":[{"type":"string","pattern":"a"},{"pattern":"b"}]})"),
              "cannot merge keyword 'pattern'");
  ExpectError(Constraint::JsonSchema(R"({"type":"object","properties":{"a":false},"required":["a"]})"), "admits no value");
  ExpectError(Constraint::JsonSchema(R"({"type":"number","maximum":1e300})"), "too large");
  ExpectError(Constraint::JsonSchema(R"({"anyOf":[]})"), "non-empty array");
}

TEST(CompileErrors, Regex) {
  ExpectError(Constraint::Regex("(ab"), "missing ')'");
  ExpectError(Constraint::Regex("ab)"), "unbalanced ')'");
  ExpectError(Constraint::Regex("*a"), "nothing to repeat");
  ExpectError(Constraint::Regex("a**"), "multiple repeat");
  ExpectError(Constraint::Regex(R"((a)\1)"), "backreference");
  ExpectError(Constraint::Regex("(?=a)b"), "lookaround");
  ExpectError(Constraint::Regex(R"(\bword)"), "word boundary");
  ExpectError(Constraint::Regex("[z-a]"), "bad character range");
  ExpectError(Constraint::Regex("[abc"), "unterminated character class");
  ExpectError(Constraint::Regex("a{3,2}"), "n < m");
  ExpectError(Constraint::Regex("a^b"), "'^'");
  ExpectError(Constraint::Regex("(?i)abc"), "inline flag");
  ExpectError(Constraint::Regex(R"(\q)"), "escape \\q");
  ExpectError(Constraint::Regex(R"([^\x00-\U0010FFFF])"), "matches no string");
  ExpectError(Constraint::Regex("(x{1000}){1000}"), "too large");
  EXPECT_EQ(ErrorOf(Constraint::Regex("{not a quantifier}")), "OK");  // '{' is literal, as in Python
}

TEST(CompileErrors, Gbnf) {
  ExpectError(Constraint::Gbnf("expr ::= \"a\"\n"), "no 'root' rule");
  ExpectError(Constraint::Gbnf("root ::= item\n"), "undefined rule 'item'");
  ExpectError(Constraint::Gbnf("root ::= \"a\n"), "unterminated string literal");
  ExpectError(Constraint::Gbnf("root ::= \"a\"\nroot ::= \"b\"\n"), "defined twice");
  ExpectError(Constraint::Gbnf("root ::= root \"a\" | \"b\"\n"), "left recursion");
  ExpectError(Constraint::Gbnf("root ::= x\nx ::= y? root \"a\" | \"b\"\ny ::= \"c\"\n"), "left recursion");
  ExpectError(Constraint::Gbnf("root ::= \"a\"{3,1}\n"), "n < m");
  ExpectError(Constraint::Gbnf("root ::= (\"a\" | \"b\"\n"), "expected ')'");
  ExpectError(Constraint::Gbnf("root = \"a\"\n"), "expected '::='");
  ExpectError(Constraint::Gbnf("root ::= \"a\" \\q\n"), "line 1");
  ExpectError(Constraint::Gbnf("root ::= x\nx ::= \"a\" x\n"), "matches no string");
}

TEST(CompileErrors, TooExpensiveForTheVocabulary) {
  GrammarCompiler compiler(guided_test::ByteVocab(), {.max_cached = 8, .limits = {}, .num_threads = 2,
                                                      .max_table_steps = 20000});
  EXPECT_TRUE(compiler.Compile(Constraint::Regex("[a-z]{0,10}")).ok());
  auto g = compiler.Compile(Constraint::Regex("[^x]{0,300}"));
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("too expensive"), std::string::npos) << g.status().message();
}

TEST(CompileErrors, ChoiceAndCompilerPath) {
  ExpectError(Constraint::Choice({}), "list of choices is empty");
  GrammarCompiler compiler(guided_test::ByteVocab());
  auto g = compiler.Compile(Constraint::Regex("(a"));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(compiler.cache_size(), 0u) << "errors are not cached";
}

}  // namespace
}  // namespace pagoda
