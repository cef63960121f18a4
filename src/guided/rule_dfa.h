// RuleDfa: one rule's deterministic automaton while a Grammar is being
// built (internal to the guided module). Its alphabet is bytes plus calls of
// other rules; state 0 is the start. BuildRuleDfa runs Thompson's
// construction and the subset construction; MinimizeRuleDfa merges states
// with the same future so that fewer states need per-vocabulary token tables.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/status.h"
#include "guided/expr.h"
#include "guided/grammar.h"

namespace pagoda {

struct RuleDfa {
  struct DState {
    bool accepting = false;
    std::vector<Grammar::ByteEdge> bytes;  // sorted, disjoint
    std::vector<Grammar::RuleEdge> refs;   // sorted by rule, one edge per rule
  };
  std::vector<DState> states;
};

// `dfa_states_left` is the budget shared by all rules of one grammar.
StatusOr<RuleDfa> BuildRuleDfa(const GrammarExpr& body, const std::string& rule_name,
                               const GrammarBuilder::Limits& limits, size_t* dfa_states_left);

// Merges equivalent states; drops states unreachable from the start.
RuleDfa MinimizeRuleDfa(const RuleDfa& dfa);

// Turns per-rule automata into a Grammar: removes what cannot complete,
// renumbers, checks left recursion and computes the analysis tables.
StatusOr<Grammar> AssembleGrammar(const std::vector<std::string>& names, std::vector<RuleDfa> dfas,
                                  int32_t root);

}  // namespace pagoda
