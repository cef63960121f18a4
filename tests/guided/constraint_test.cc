// Which strings each constraint kind accepts (through the matcher's byte
// path, on a vocabulary of single bytes): regexes, choices, GBNF grammars,
// JSON Schema and free JSON.

#include <gtest/gtest.h>

#include <cstdlib>

#include "guided/test_util.h"

namespace pagoda {
namespace {

using guided_test::ByteVocab;
using guided_test::Matches;
using guided_test::MustCompile;

class ConstraintTest : public ::testing::Test {
 protected:
  std::shared_ptr<const CompiledGrammar> Regex(const std::string& p) { return MustCompile(compiler_, Constraint::Regex(p)); }
  std::shared_ptr<const CompiledGrammar> Gbnf(const std::string& p) { return MustCompile(compiler_, Constraint::Gbnf(p)); }
  std::shared_ptr<const CompiledGrammar> Schema(const std::string& p, JsonSchemaOptions o = {}) {
    return MustCompile(compiler_, Constraint::JsonSchema(p, o));
  }
  GrammarCompiler compiler_{ByteVocab()};
};

TEST_F(ConstraintTest, RegexBasics) {
  auto g = Regex(R"(a[bc]*d?|x{2,3})");
  ASSERT_NE(g, nullptr);
  for (const char* yes : {"a", "abcbc", "abd", "ad", "xx", "xxx"}) EXPECT_TRUE(Matches(g, yes)) << yes;
  for (const char* no : {"", "b", "abdd", "x", "xxxx", "ax"}) EXPECT_FALSE(Matches(g, no)) << no;
}

TEST_F(ConstraintTest, RegexClassesAndEscapes) {
  auto g = Regex(R"(^\d{3}-\w+\s[^a-c\n]\.(?:é|ü)+$)");
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(Matches(g, "123-ab_9 z.é"));
  EXPECT_TRUE(Matches(g, "000-x\td.üé"));
  EXPECT_FALSE(Matches(g, "12-ab z.é"));
  EXPECT_FALSE(Matches(g, "123-ab a.é"));
  EXPECT_FALSE(Matches(g, "123-ab \n.é"));
  EXPECT_FALSE(Matches(g, "123-ab z,é"));
  auto dot = Regex("a.c");
  EXPECT_TRUE(Matches(dot, "a\xE2\x82\xAC" "c"));  // one code point, three bytes
  EXPECT_FALSE(Matches(dot, "a\nc"));
  EXPECT_FALSE(Matches(dot, "a\xE2\x82" "c"));  // broken UTF-8 is never produced
}

TEST_F(ConstraintTest, Choice) {
  auto g = MustCompile(compiler_, Constraint::Choice({"red", "green", "gr", ""}));
  for (const char* yes : {"red", "green", "gr", ""}) EXPECT_TRUE(Matches(g, yes)) << yes;
  for (const char* no : {"re", "gree", "blue"}) EXPECT_FALSE(Matches(g, no)) << no;
}

TEST_F(ConstraintTest, GbnfArithmetic) {
  auto g = Gbnf(R"g(
# arithmetic over small integers
root   ::= expr
expr   ::= term (("+" | "-") term)*
term   ::= factor ("*" factor)*
factor ::= number | "(" expr ")"
number ::= [0-9]{1,3}
)g");
  ASSERT_NE(g, nullptr);
  for (const char* yes : {"1", "1+2*3", "(1+2)*3", "((7))", "123-4*(5+6)"}) EXPECT_TRUE(Matches(g, yes)) << yes;
  for (const char* no : {"", "1+", "(1", "1234", "1**2", "()"}) EXPECT_FALSE(Matches(g, no)) << no;
}

TEST_F(ConstraintTest, GbnfContinuationLinesAndRecursion) {
  auto g = Gbnf("root ::= list\nlist ::= \"[\" (item (\",\" item)*)? \"]\"\nitem ::= list\n  | \"x\"\n");
  ASSERT_NE(g, nullptr);
  for (const char* yes : {"[]", "[x]", "[x,[x,[]]]", "[[[[x]]]]"}) EXPECT_TRUE(Matches(g, yes)) << yes;
  for (const char* no : {"x", "[x,]", "[[x]"}) EXPECT_FALSE(Matches(g, no)) << no;
  // Right recursion (llama.cpp's json.gbnf whitespace style).
  auto ws = Gbnf("root ::= \"a\" ws \"b\"\nws ::= ([ \\t\\n] ws)?\n");
  EXPECT_TRUE(Matches(ws, "ab"));
  EXPECT_TRUE(Matches(ws, "a \t\n b"));
  EXPECT_FALSE(Matches(ws, "a x b"));
}

TEST_F(ConstraintTest, JsonSchemaObject) {
  auto g = Schema(R"({"type":"object","properties":{
      "name":{"type":"string","maxLength":5},
      "age":{"type":"integer","minimum":0,"maximum":120},
      "tags":{"type":"array","items":{"enum":["a","b"]},"maxItems":2}},
      "required":["name"]})");
  ASSERT_NE(g, nullptr);
  for (const char* yes : {R"({"name":"bob"})", R"({"name":"","age":120})", R"({"name":"x","tags":["a","b"]})",
                          R"({ "name": "a\"b", "age": 7, "tags": [] })", "{\n  \"name\": \"q\"\n}"}) {
    EXPECT_TRUE(Matches(g, yes)) << yes;
  }
  for (const char* no : {R"({})", R"({"age":1})", R"({"name":"toolong"})", R"({"name":"x","age":121})",
                         R"({"name":"x","age":01})", R"({"age":1,"name":"x"})", R"({"name":"x","tags":["a","b","a"]})",
                         R"({"name":"x","other":1})"}) {
    EXPECT_FALSE(Matches(g, no)) << no;
  }
}

TEST_F(ConstraintTest, JsonSchemaRefsAndCombinators) {
  auto g = Schema(R"({"$defs":{"node":{"type":"object","properties":{
        "v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},
        "required":["v"]}},
      "anyOf":[{"$ref":"#/$defs/node"},{"type":"null"},{"const":"x"}]})");
  ASSERT_NE(g, nullptr);
  for (const char* yes : {R"({"v":1})", R"({"v":-3,"kids":[{"v":2,"kids":[]},{"v":3}]})", "null", R"("x")"}) {
    EXPECT_TRUE(Matches(g, yes)) << yes;
  }
  for (const char* no : {R"({"kids":[]})", R"("y")", R"({"v":1,"kids":[{}]})"}) EXPECT_FALSE(Matches(g, no)) << no;
}

TEST_F(ConstraintTest, JsonSchemaStrictness) {
  auto closed = Schema(R"({"type":"object","properties":{"a":{"type":"integer"}}})");
  EXPECT_TRUE(Matches(closed, R"({"a":1})"));
  EXPECT_FALSE(Matches(closed, R"({"a":1,"b":2})"));
  auto open = Schema(R"({"type":"object","properties":{"a":{"type":"integer"}}})", {.any_whitespace = false, .strict = false});
  EXPECT_TRUE(Matches(open, R"({"a":1,"b":[true]})"));
  EXPECT_FALSE(Matches(open, R"({"a":1,"a":2})")) << "an undeclared name must differ from declared ones";
  auto bare = Schema(R"({"type":"object"})");
  EXPECT_TRUE(Matches(bare, R"({"x":{"y":null}})")) << "no properties listed: any object";
  auto tuple = Schema(R"({"type":"array","prefixItems":[{"type":"integer"}]})");
  EXPECT_TRUE(Matches(tuple, "[1]"));
  EXPECT_FALSE(Matches(tuple, "[1,2]"));
}

TEST_F(ConstraintTest, IntegerAndNumberRanges) {
  const std::vector<std::pair<int, int>> ranges = {{0, 0},     {-7, 7},     {3, 250},    {-1200, -45},
                                                   {99, 1001}, {-100, 100}, {10, 19},    {-1, 0}};
  for (const auto& [lo, hi] : ranges) {
    const std::string bounds = "\"minimum\":" + std::to_string(lo) + ",\"maximum\":" + std::to_string(hi);
    auto ints = Schema("{\"type\":\"integer\"," + bounds + "}");
    ASSERT_NE(ints, nullptr);
    for (int v = -1300; v <= 1300; ++v) {
      ASSERT_EQ(Matches(ints, std::to_string(v)), v >= lo && v <= hi) << v << " in [" << lo << ", " << hi << "]";
    }
    EXPECT_FALSE(Matches(ints, "-0"));
    EXPECT_FALSE(Matches(ints, "007"));
    auto nums = Schema("{\"type\":\"number\"," + bounds + "}");
    for (int v = lo - 3; v <= hi + 3; ++v) {
      for (const char* frac : {".0", ".5", ".999"}) {
        const std::string text = (v < 0 ? "-" : "") + std::to_string(std::abs(v)) + frac;
        const double x = std::stod(text);
        // Decimals are generated only where the fraction cannot leave the range.
        if (Matches(nums, text)) {
          EXPECT_TRUE(x >= lo && x <= hi) << text;
        }
      }
      if (v < hi && v >= lo && v >= 0) {
        EXPECT_TRUE(Matches(nums, std::to_string(v) + ".25")) << v;
      }
    }
  }
  // Half-open and exclusive bounds.
  auto pos = Schema(R"({"type":"integer","exclusiveMinimum":9})");
  EXPECT_FALSE(Matches(pos, "9"));
  EXPECT_TRUE(Matches(pos, "10"));
  EXPECT_TRUE(Matches(pos, "123456789012"));
  auto neg = Schema(R"({"type":"integer","exclusiveMaximum":-2.5})");
  EXPECT_TRUE(Matches(neg, "-3"));
  EXPECT_FALSE(Matches(neg, "-2"));
  EXPECT_TRUE(Matches(neg, "-99999999"));
}

TEST_F(ConstraintTest, JsonFreeObject) {
  auto g = MustCompile(compiler_, Constraint::JsonObject());
  for (const char* yes : {"{}", R"({"a":[1,2.5e3,{"b":null}],"c":"\u00e9\n"})", "{ \"x\": true }"}) {
    EXPECT_TRUE(Matches(g, yes)) << yes;
  }
  for (const char* no : {"[]", "{", R"({"a":})", R"({"a":1,})", R"({'a':1})"}) EXPECT_FALSE(Matches(g, no)) << no;
}

}  // namespace
}  // namespace pagoda
