// The token mask is exact: at states sampled along random valid paths, the
// mask from FillNextTokenBitmask (precomputed token tables plus run-time
// checks of context-dependent tokens) equals a brute-force mask that tries
// every vocabulary token's bytes through the matcher's byte-level parser,
// bit for bit, on the real Llama-3 and Qwen3 vocabularies. Masked-out
// tokens are also fed to AcceptToken (invalid paths): each must be refused
// and leave the state unchanged.

#include <gtest/gtest.h>

#include <random>

#include "guided/test_util.h"

namespace pagoda {
namespace {

using guided_test::BitSet;
using guided_test::BruteForceMask;
using guided_test::ByteVocab;
using guided_test::MustCompile;
using guided_test::SharedTokenizerInfo;

std::vector<std::pair<std::string, Constraint>> ExactnessConstraints() {
  return {
      {"schema-person", Constraint::JsonSchema(R"({"type":"object","properties":{
          "name":{"type":"string","maxLength":8},"age":{"type":"integer","minimum":18,"maximum":99},
          "email":{"type":"string","format":"email"},"tags":{"type":"array","items":{"type":"string"},"maxItems":3}},
          "required":["name","age"]})")},
      {"schema-tree", Constraint::JsonSchema(R"({"$defs":{"n":{"type":"object","properties":{
          "v":{"type":"number","minimum":-5,"maximum":5},"kids":{"type":"array","items":{"$ref":"#/$defs/n"}}},
          "required":["v"]}},"$ref":"#/$defs/n"})")},
      {"schema-mixed", Constraint::JsonSchema(R"({"type":"array","prefixItems":[
          {"anyOf":[{"type":"null"},{"const":"fixed"}]},{"enum":[1,"two",[3]]},{"type":"string","pattern":"^[a-f]+\\d?$"},
          {"type":"string","format":"date-time"}],"items":false,"minItems":2})")},
      {"schema-any-ws", Constraint::JsonSchema(R"({"type":"object","properties":{"a":{"type":"boolean"},
          "b":{"type":"array","items":{"type":"integer"}}},"additionalProperties":{"type":"string"}})",
                                               {.any_whitespace = true, .strict = true})},
      {"json-object", Constraint::JsonObject()},
      {"regex-phone", Constraint::Regex(R"((\+1 )?\(\d{3}\) \d{3}-\d{4})")},
      {"regex-text", Constraint::Regex(R"([A-Z][a-z ,]{0,30}[.!?])")},
      {"choice", Constraint::Choice({"Paris", "London", "New York", "Tokyo", "S\xC3\xA3o Paulo", "New"})},
      {"gbnf-arith", Constraint::Gbnf(R"g(root ::= expr
expr ::= term (ws [-+] ws term)*
term ::= factor (ws [*/] ws factor)*
factor ::= [0-9]+ | "(" ws expr ws ")"
ws ::= [ ]?
)g")},
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

// Walks randomly and compares masks at sampled steps. Returns the number of
// states compared.
int CheckWalks(const std::shared_ptr<const CompiledGrammar>& g, const std::string& name, int walks, int steps,
               int sample_every) {
  const TokenizerInfo& info = g->tokenizer_info();
  std::vector<uint32_t> mask(info.bitmask_words()), again(info.bitmask_words());
  int compared = 0;
  for (int w = 0; w < walks; ++w) {
    std::mt19937_64 rng(1000 + w);
    GrammarMatcher m(g);
    std::vector<int32_t> history;
    for (int step = 0; step < steps && !m.IsTerminated(); ++step) {
      m.FillNextTokenBitmask(mask.data());
      if (step % sample_every == 0) {
        const std::vector<uint32_t> brute = BruteForceMask(g, history);
        ++compared;
        for (int32_t id = 0; id < info.vocab_size(); ++id) {
          if (BitSet(mask, id) != BitSet(brute, id)) {
            ADD_FAILURE() << name << " walk " << w << " step " << step << ": token " << id << " '"
                          << info.TokenBytes(id) << "' mask " << BitSet(mask, id) << " brute force "
                          << BitSet(brute, id) << " after '" << [&] {
                                 std::string t;
                                 for (int32_t h : history) t += info.TokenBytes(h);
                                 return t;
                               }() << "'";
            return compared;
          }
        }
        // Invalid paths: masked-out tokens are refused and change nothing.
        for (int k = 0; k < 50; ++k) {
          const int32_t id = std::uniform_int_distribution<int32_t>(0, info.vocab_size() - 1)(rng);
          if (BitSet(mask, id)) continue;
          EXPECT_FALSE(m.AcceptToken(id)) << name << ": masked-out token " << id << " accepted";
        }
        m.FillNextTokenBitmask(again.data());
        EXPECT_EQ(mask, again) << name << ": a refused token changed the state";
      }
      std::vector<int32_t> allowed;
      for (int32_t id = 0; id < info.vocab_size(); ++id) {
        if (BitSet(mask, id)) allowed.push_back(id);
      }
      if (allowed.empty()) {
        ADD_FAILURE() << name << ": empty mask";
        return compared;
      }
      // Mostly random tokens; sometimes the shortest, which reaches
      // structure (closing quotes, brackets) sooner.
      int32_t pick = allowed[std::uniform_int_distribution<size_t>(0, allowed.size() - 1)(rng)];
      if (rng() % 3 == 0) {
        for (int32_t id : allowed) {
          if (!info.IsStop(id) && info.TokenBytes(id).size() < info.TokenBytes(pick).size()) pick = id;
        }
      }
      EXPECT_TRUE(m.AcceptToken(pick));
      history.push_back(pick);
    }
  }
  return compared;
}

void CheckVocabulary(const std::string& rel) {
  auto info = SharedTokenizerInfo(rel);
  if (!info) GTEST_SKIP() << "needs " << testing::SharedModelPath(rel);
  GrammarCompiler compiler(info);
  int total = 0;
  for (const auto& [name, c] : ExactnessConstraints()) {
    auto g = MustCompile(compiler, c);
    ASSERT_NE(g, nullptr) << name;
    total += CheckWalks(g, name, 2, 40, 8);
  }
  std::printf("[mask-exact] %s: %d states compared bit for bit\n", rel.c_str(), total);
}

TEST(MaskExact, Llama3) { CheckVocabulary("tokenizers/llama3/tokenizer.json"); }
TEST(MaskExact, Qwen3) { CheckVocabulary("tokenizers/qwen3/tokenizer.json"); }

// A small vocabulary with many multi-byte pieces that straddle structure,
// checked at every step of many walks.
TEST(MaskExact, SmallVocabularyEveryStep) {
  auto info = ByteVocab({"\",", "\":", "\"}", "},", "}}", "]}", "\"]", "\", \"", "{\"", "[{", "12", "3.", ".5",
                         "e+", "null", "true", "ab", "abc", "\xC3\xA9", "\xC3", "\xA9\"", " \"", "\n  ", "  \"",
                         "])", ") ", "*(", "Ne", "New ", "York", "aa", "\\u", "\\\""});
  GrammarCompiler compiler(info);
  for (const auto& [name, c] : ExactnessConstraints()) {
    auto g = MustCompile(compiler, c);
    ASSERT_NE(g, nullptr) << name;
    CheckWalks(g, name, 6, 60, 1);
  }
}

}  // namespace
}  // namespace pagoda
