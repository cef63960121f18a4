// Grammar: the one internal form of every structured-output constraint: a
// context-free grammar over bytes, held as one deterministic automaton per
// rule whose edges either read a byte range or call another rule (a
// recursive transition network, i.e. a pushdown automaton whose stack holds
// return states). GrammarBuilder makes one from GrammarExpr rule bodies:
// Thompson NFA, subset construction and minimisation per rule, then removal
// of everything that cannot lead to a complete match, so that any prefix the
// matcher accepts can still be completed. Left recursion is rejected because
// a top-down matcher would push forever on it.
// Thread-safety: a built Grammar is immutable; share it freely. The builder
// is a plain single-thread value.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "guided/expr.h"

namespace pagoda {

class Grammar {
 public:
  struct ByteEdge {
    uint8_t lo;
    uint8_t hi;
    int32_t to;
  };
  struct RuleEdge {
    int32_t rule;
    int32_t to;  // the state to continue in once the called rule has matched
  };
  struct State {
    int32_t rule = 0;
    uint32_t byte_begin = 0, byte_end = 0;
    uint32_t ref_begin = 0, ref_end = 0;
    int32_t dense = -1;      // offset of a 256-entry table in dense_, or -1
    bool accepting = false;  // the rule may end here
    bool tail = false;       // accepting with no outgoing edge: returning here pops at once
  };
  static constexpr int64_t kUnreachable = std::numeric_limits<int64_t>::max() / 4;

  int32_t num_rules() const { return static_cast<int32_t>(rule_start_.size()); }
  int32_t num_states() const { return static_cast<int32_t>(states_.size()); }
  int32_t root_rule() const { return root_; }
  int32_t rule_start(int32_t rule) const { return rule_start_[rule]; }
  const std::string& rule_name(int32_t rule) const { return rule_names_[rule]; }
  const State& state(int32_t s) const { return states_[s]; }

  std::span<const ByteEdge> ByteEdges(int32_t s) const {
    const State& st = states_[s];
    return {byte_edges_.data() + st.byte_begin, st.byte_end - st.byte_begin};
  }
  std::span<const RuleEdge> RuleEdges(int32_t s) const {
    const State& st = states_[s];
    return {rule_edges_.data() + st.ref_begin, st.ref_end - st.ref_begin};
  }
  bool HasBytes(int32_t s) const { return states_[s].byte_end != states_[s].byte_begin; }

  // The state reached from `s` on byte `b`, or -1.
  int32_t Next(int32_t s, uint8_t b) const {
    const State& st = states_[s];
    if (st.dense >= 0) return dense_[st.dense + b];
    for (uint32_t i = st.byte_begin; i < st.byte_end; ++i) {
      const ByteEdge& e = byte_edges_[i];
      if (b < e.lo) return -1;  // edges are sorted
      if (b <= e.hi) return e.to;
    }
    return -1;
  }

  // Fewest bytes that complete the rule of `s` from `s` (0 when accepting).
  int64_t MinBytesToAccept(int32_t s) const { return min_bytes_[s]; }
  bool RuleNullable(int32_t rule) const { return nullable_[rule] != 0; }
  // The states that calls of `rule` return to, across the whole grammar.
  const std::vector<int32_t>& ReturnStates(int32_t rule) const { return follow_[rule]; }

  // A readable dump (one line per state) for debugging and tests.
  std::string ToString() const;

 private:
  friend class GrammarBuilder;
  friend struct GrammarAssembler;

  std::vector<std::string> rule_names_;
  std::vector<int32_t> rule_start_;
  std::vector<State> states_;
  std::vector<ByteEdge> byte_edges_;
  std::vector<RuleEdge> rule_edges_;
  std::vector<int32_t> dense_;
  std::vector<int64_t> min_bytes_;
  std::vector<uint8_t> nullable_;
  std::vector<std::vector<int32_t>> follow_;
  int32_t root_ = 0;
};

class GrammarBuilder {
 public:
  struct Limits {
    // Bounded repetition ({m,n}) copies its item; these caps turn a
    // pathological constraint into an error instead of an exhausted machine.
    size_t max_nfa_states = 1'000'000;
    size_t max_dfa_states = 200'000;
  };

  // Adds a rule without a body (so rules can refer to each other before
  // their bodies exist); returns its number.
  int32_t AddRule(std::string name);
  int32_t AddRule(std::string name, ExprPtr body) {
    const int32_t id = AddRule(std::move(name));
    SetRule(id, std::move(body));
    return id;
  }
  void SetRule(int32_t rule, ExprPtr body) { bodies_[rule] = std::move(body); }
  int32_t FindRule(std::string_view name) const;
  bool HasBody(int32_t rule) const { return bodies_[rule] != nullptr; }
  int32_t num_rules() const { return static_cast<int32_t>(names_.size()); }
  const std::string& rule_name(int32_t rule) const { return names_[rule]; }
  // A name not used yet, derived from `base`.
  std::string UniqueName(std::string_view base) const;

  StatusOr<Grammar> Build(int32_t root) const { return Build(root, Limits{}); }
  StatusOr<Grammar> Build(int32_t root, const Limits& limits) const;

 private:
  std::vector<std::string> names_;
  std::vector<ExprPtr> bodies_;
};

}  // namespace pagoda
