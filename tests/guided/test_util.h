// Helpers shared by the guided tests: a small byte-level vocabulary, real
// tokenizers from ../shared/models, and a brute-force reference for masks.
// Header-only: the test build compiles only *_test.cc files here.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "testutil/shared_data.h"
#include "tokenizer/tokenizer.h"

#include "guided/grammar_compiler.h"
#include "guided/grammar_matcher.h"
#include "guided/tokenizer_info.h"

namespace pagoda::guided_test {

// Every single byte, plus the multi-byte pieces in `extra`, plus a stop
// token (the last id).
inline std::shared_ptr<const TokenizerInfo> ByteVocab(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(std::string(1, static_cast<char>(b)));
  for (const auto& e : extra) bytes.push_back(e);
  const int32_t stop = static_cast<int32_t>(bytes.size());
  bytes.push_back("");
  auto info = TokenizerInfo::FromTokenBytes(bytes, {}, {stop});
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  return *info;
}

// The TokenizerInfo of ../shared/models/<rel> (a tokenizer.json), loaded
// once per process; null when the file is absent.
inline std::shared_ptr<const TokenizerInfo> SharedTokenizerInfo(const std::string& rel) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const TokenizerInfo>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(rel);
  if (it != cache.end()) return it->second;
  std::shared_ptr<const TokenizerInfo> info;
  if (testing::HaveSharedModel(rel)) {
    auto tok = Tokenizer::FromHf(testing::SharedModelPath(rel));
    EXPECT_TRUE(tok.ok()) << tok.status().ToString();
    if (tok.ok()) {
      auto made = TokenizerInfo::Create(**tok);
      EXPECT_TRUE(made.ok()) << made.status().ToString();
      if (made.ok()) info = *made;
    }
  }
  cache[rel] = info;
  return info;
}

// Compiles or fails the test.
inline std::shared_ptr<const CompiledGrammar> MustCompile(GrammarCompiler& compiler, const Constraint& c) {
  auto g = compiler.Compile(c);
  EXPECT_TRUE(g.ok()) << g.status().ToString() << "\n  spec: " << c.spec;
  return g.ok() ? *g : nullptr;
}

// True when the whole string is accepted and the grammar can end after it.
inline bool Matches(const std::shared_ptr<const CompiledGrammar>& g, const std::string& text) {
  GrammarMatcher m(g);
  if (!text.empty() && !m.AcceptString(text)) return false;
  return m.CanTerminate();
}

// Brute force: bit i is set iff token i can be accepted now (tried one by
// one on copies of the matcher state, through AcceptToken's byte-level
// path). `history` is the token sequence that led here.
inline std::vector<uint32_t> BruteForceMask(const std::shared_ptr<const CompiledGrammar>& g,
                                            const std::vector<int32_t>& history) {
  GrammarMatcher m(g);
  for (int32_t id : history) EXPECT_TRUE(m.AcceptToken(id));
  const TokenizerInfo& info = g->tokenizer_info();
  std::vector<uint32_t> mask(info.bitmask_words(), 0);
  for (int32_t id = 0; id < info.vocab_size(); ++id) {
    if (m.AcceptToken(id)) {
      mask[id >> 5] |= 1u << (id & 31);
      m.Rollback(1);
    }
  }
  return mask;
}

inline bool BitSet(const std::vector<uint32_t>& mask, int32_t id) {
  return (mask[id >> 5] >> (id & 31)) & 1u;
}

}  // namespace pagoda::guided_test
