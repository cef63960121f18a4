// Mask generation time per token for JSON-schema constraints with the real
// Llama-3 (128k) and Qwen3 (152k) vocabularies: prints mean and p99 per
// schema and overall, plus compile times. Reports only, asserts nothing
// about speed (timed tests are flaky on a shared machine); it does check
// that every walk ends properly.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "guided/random_walk.h"
#include "guided/test_util.h"

namespace pagoda {
namespace {

using guided_test::SharedTokenizerInfo;

const std::vector<std::pair<std::string, std::string>>& TimingSchemas() {
  static const std::vector<std::pair<std::string, std::string>> schemas = {
      {"person", R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":150},
        "email":{"type":"string","format":"email"},"tags":{"type":"array","items":{"type":"string"},"maxItems":5}},
        "required":["name","age"]})"},
      {"invoice", R"({"type":"object","properties":{"id":{"type":"string","format":"uuid"},"date":{"type":"string","format":"date"},
        "lines":{"type":"array","minItems":1,"maxItems":4,"items":{"type":"object","properties":{
          "sku":{"type":"string","pattern":"^[A-Z]{3}-[0-9]{4}$"},"qty":{"type":"integer","minimum":1},
          "price":{"type":"number","minimum":0}},"required":["sku","qty","price"]}},
        "paid":{"type":"boolean"},"note":{"type":["string","null"]}},"required":["id","date","lines","paid"]})"},
      {"tool_call", R"({"type":"object","properties":{"name":{"enum":["get_weather","search","calculator"]},
        "arguments":{"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["celsius","fahrenheit"]},
        "days":{"type":"integer","minimum":1,"maximum":14}},"required":["city"]}},"required":["name","arguments"]})"},
      {"tree", R"({"$defs":{"node":{"type":"object","properties":{"label":{"type":"string","maxLength":12},
        "children":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":3}},"required":["label"]}},
        "$ref":"#/$defs/node"})"},
  };
  return schemas;
}

// Other constraint kinds, reported separately from the JSON-schema target.
std::vector<std::pair<std::string, Constraint>> OtherConstraints() {
  return {
      {"json_obj", Constraint::JsonObject()},
      {"str-200", Constraint::JsonSchema(R"({"type":"object","properties":{"s":{"type":"string","maxLength":200}}})")},
      {"regex", Constraint::Regex(R"([A-Z][a-z ,']{0,40}[.!?])")},
      {"gbnf-json", Constraint::Gbnf(R"g(root ::= object
value ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
ws ::= | " " | "\n" [ \t]{0,20}
)g")},
  };
}

void TimeVocabulary(const std::string& rel, bool json_schemas) {
  auto info = SharedTokenizerInfo(rel);
  if (!info) GTEST_SKIP() << "needs " << testing::SharedModelPath(rel);
  GrammarCompiler compiler(info);
  std::vector<std::pair<std::string, Constraint>> cases;
  if (json_schemas) {
    for (const auto& [name, schema] : TimingSchemas()) cases.push_back({name, Constraint::JsonSchema(schema)});
  } else {
    cases = OtherConstraints();
  }
  std::vector<double> all;
  for (const auto& [name, constraint] : cases) {
    const auto t0 = std::chrono::steady_clock::now();
    auto g = compiler.Compile(constraint);
    const double compile_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    std::vector<double> times;
    int tokens = 0;
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      RandomWalkResult r = RandomWalk(*g, {.seed = seed, .free_steps = 64});
      EXPECT_TRUE(r.error.empty()) << r.error;
      EXPECT_TRUE(r.terminated) << name << " seed " << seed << ": " << r.text;
      times.insert(times.end(), r.mask_us.begin(), r.mask_us.end());
      tokens += static_cast<int>(r.tokens.size());
    }
    const auto s = SummarizeMaskTimes(times);
    const auto& st = (*g)->stats();
    std::printf("[mask-time] %-6s %-9s compile %7.1f ms (%d positions, %lld uncertain)  masks %lld  mean %6.1f us  p50 %6.1f  p99 %7.1f  max %7.1f\n",
                rel.substr(rel.find('/') + 1, rel.rfind('/') - rel.find('/') - 1).c_str(), name.c_str(), compile_ms,
                st.positions, static_cast<long long>(st.uncertain), static_cast<long long>(s.masks), s.mean_us, s.p50_us,
                s.p99_us, s.max_us);
    all.insert(all.end(), times.begin(), times.end());
  }
  const auto s = SummarizeMaskTimes(all);
  std::printf("[mask-time] %s all %s: %lld masks, mean %.1f us, p99 %.1f us\n", rel.c_str(),
              json_schemas ? "JSON schemas" : "other constraints",
              static_cast<long long>(s.masks), s.mean_us, s.p99_us);
}

TEST(MaskTiming, Llama3JsonSchemas) { TimeVocabulary("tokenizers/llama3/tokenizer.json", true); }
TEST(MaskTiming, Qwen3JsonSchemas) { TimeVocabulary("tokenizers/qwen3/tokenizer.json", true); }
TEST(MaskTiming, Llama3OtherConstraints) { TimeVocabulary("tokenizers/llama3/tokenizer.json", false); }

}  // namespace
}  // namespace pagoda
