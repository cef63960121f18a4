// CompiledGrammar: a Grammar joined with one vocabulary, with the token
// tables that make mask computation cheap. For every grammar state that can
// read a byte (a "position" at the top of a parse stack) the vocabulary is
// classified once, with the rest of the stack unknown:
// - accepted: the token is matched inside the frames above the unknown
//   stack (or ends exactly where the top rule returns), so it is valid in any
//   context;
// - rejected: it fails before the top rule could return, or after the return
//   no caller of the rule anywhere in the grammar could read the rest;
// - uncertain: it needs the actual stack; the matcher checks these few at
//   run time.
// Accepted sets are stored as a bitmask when large, a list when small, and
// identical tables are stored once. Building the tables costs one
// vocabulary walk per position (sharing common prefixes), spread over
// threads; GrammarCompiler does it once per distinct constraint.
// Thread-safety: immutable after Create; share it freely between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"
#include "guided/grammar.h"
#include "guided/tokenizer_info.h"

namespace pagoda {

class CompiledGrammar {
 public:
  struct Uncertain {
    int32_t sorted_index;  // into TokenizerInfo's sorted order
    int32_t lcp;           // common-prefix length with the previous entry
  };
  struct PositionTokens {
    std::vector<uint32_t> accepted_bits;  // bitmask_words() words, or empty
    std::vector<int32_t> accepted_ids;    // used when accepted_bits is empty
    std::vector<Uncertain> uncertain;
    int32_t num_accepted = 0;
  };
  struct Stats {
    int32_t positions = 0;
    int32_t distinct_tables = 0;
    int64_t accepted = 0;   // summed over positions
    int64_t uncertain = 0;  // summed over positions
    double build_ms = 0;
    size_t memory_bytes = 0;
  };

  struct BuildOptions {
    int num_threads = 1;  // threads that build the tables, the caller's included
    // Tokens walked over all positions before giving up with an error: a
    // position with free text walks the whole vocabulary (~130k tokens,
    // ~7 ms), so this bounds the work one constraint can demand (about
    // 2000 such positions).
    int64_t max_steps = 250'000'000;
  };
  static StatusOr<std::shared_ptr<const CompiledGrammar>> Create(Grammar grammar,
                                                                 std::shared_ptr<const TokenizerInfo> info,
                                                                 const BuildOptions& options);
  static StatusOr<std::shared_ptr<const CompiledGrammar>> Create(Grammar grammar,
                                                                 std::shared_ptr<const TokenizerInfo> info) {
    return Create(std::move(grammar), std::move(info), BuildOptions{});
  }

  const Grammar& grammar() const { return grammar_; }
  const TokenizerInfo& tokenizer_info() const { return *info_; }
  const std::shared_ptr<const TokenizerInfo>& tokenizer_info_ptr() const { return info_; }
  // Tables of a state that can read a byte.
  const PositionTokens& Tokens(int32_t state) const { return tables_[table_of_[state]]; }
  const Stats& stats() const { return stats_; }

 private:
  CompiledGrammar(Grammar g, std::shared_ptr<const TokenizerInfo> info)
      : grammar_(std::move(g)), info_(std::move(info)) {}
  Status BuildTables(const BuildOptions& options);

  Grammar grammar_;
  std::shared_ptr<const TokenizerInfo> info_;
  std::vector<PositionTokens> tables_;  // distinct tables
  std::vector<int32_t> table_of_;       // per state: index into tables_, or -1
  Stats stats_;
};

}  // namespace pagoda
