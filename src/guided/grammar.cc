// Per-rule automata -> Grammar: trimming, renumbering, left-recursion check
// and the tables the matcher and the token-table builder read.

#include "guided/grammar.h"

#include <algorithm>
#include <cstdio>

#include "guided/rule_dfa.h"

namespace pagoda {
namespace {

// Which rules can match some finite string, and within each rule which
// states can still reach acceptance. Everything else is removed so that the
// matcher never accepts a prefix it cannot complete.
std::vector<std::vector<uint8_t>> ProductiveStates(const std::vector<RuleDfa>& dfas,
                                                   std::vector<uint8_t>* prod_rule) {
  const size_t num_rules = dfas.size();
  prod_rule->assign(num_rules, 0);
  std::vector<std::vector<uint8_t>> prod(num_rules);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < num_rules; ++r) {
      const auto& states = dfas[r].states;
      auto& p = prod[r];
      p.assign(states.size(), 0);
      for (size_t s = 0; s < states.size(); ++s) p[s] = states[s].accepting;
      for (bool inner = true; inner;) {
        inner = false;
        for (size_t i = states.size(); i-- > 0;) {
          if (p[i]) continue;
          bool ok = false;
          for (const auto& e : states[i].bytes) ok = ok || p[e.to];
          for (const auto& e : states[i].refs) ok = ok || ((*prod_rule)[e.rule] && p[e.to]);
          if (ok) p[i] = inner = true;
        }
      }
      if (!states.empty() && p[0] && !(*prod_rule)[r]) {
        (*prod_rule)[r] = 1;
        changed = true;
      }
    }
  }
  return prod;
}

}  // namespace

struct GrammarAssembler {
  static StatusOr<Grammar> Run(const std::vector<std::string>& names, std::vector<RuleDfa> dfas,
                               int32_t root);
  static Status CheckLeftRecursion(const Grammar& g);
  static void ComputeTables(Grammar* g);
};

StatusOr<Grammar> AssembleGrammar(const std::vector<std::string>& names, std::vector<RuleDfa> dfas,
                                  int32_t root) {
  return GrammarAssembler::Run(names, std::move(dfas), root);
}

StatusOr<Grammar> GrammarAssembler::Run(const std::vector<std::string>& names,
                                        std::vector<RuleDfa> dfas, int32_t root) {
  std::vector<uint8_t> prod_rule;
  const auto prod = ProductiveStates(dfas, &prod_rule);
  if (!prod_rule[root]) {
    return InvalidArgument("the constraint matches no string at all (rule '" + names[root] +
                           "' can never be completed)");
  }
  // Drop edges into dead states and calls of dead rules, then minimise.
  for (size_t r = 0; r < dfas.size(); ++r) {
    if (!prod_rule[r]) continue;
    for (auto& st : dfas[r].states) {
      std::erase_if(st.bytes, [&](const Grammar::ByteEdge& e) { return !prod[r][e.to]; });
      std::erase_if(st.refs, [&](const Grammar::RuleEdge& e) {
        return !prod_rule[e.rule] || !prod[r][e.to];
      });
    }
    dfas[r] = MinimizeRuleDfa(dfas[r]);
  }
  // Keep the rules reachable from the root, numbered in discovery order.
  std::vector<int32_t> new_id(dfas.size(), -1);
  std::vector<int32_t> order = {root};
  new_id[root] = 0;
  for (size_t q = 0; q < order.size(); ++q) {
    for (const auto& st : dfas[order[q]].states) {
      for (const auto& e : st.refs) {
        if (new_id[e.rule] < 0) {
          new_id[e.rule] = static_cast<int32_t>(order.size());
          order.push_back(e.rule);
        }
      }
    }
  }
  Grammar g;
  g.root_ = 0;
  for (int32_t old : order) {
    const int32_t rule = static_cast<int32_t>(g.rule_start_.size());
    const int32_t base = static_cast<int32_t>(g.states_.size());
    g.rule_names_.push_back(names[old]);
    g.rule_start_.push_back(base);
    for (const auto& st : dfas[old].states) {
      Grammar::State s;
      s.rule = rule;
      s.accepting = st.accepting;
      s.byte_begin = static_cast<uint32_t>(g.byte_edges_.size());
      for (const auto& e : st.bytes) g.byte_edges_.push_back({e.lo, e.hi, base + e.to});
      s.byte_end = static_cast<uint32_t>(g.byte_edges_.size());
      s.ref_begin = static_cast<uint32_t>(g.rule_edges_.size());
      for (const auto& e : st.refs) g.rule_edges_.push_back({new_id[e.rule], base + e.to});
      s.ref_end = static_cast<uint32_t>(g.rule_edges_.size());
      s.tail = s.accepting && s.byte_end == s.byte_begin && s.ref_end == s.ref_begin;
      g.states_.push_back(s);
    }
  }
  ComputeTables(&g);
  RETURN_IF_ERROR(CheckLeftRecursion(g));
  return g;
}

void GrammarAssembler::ComputeTables(Grammar* g) {
  const int32_t num_rules = g->num_rules();
  const int32_t num_states = g->num_states();
  // Nullable rules: the start reaches acceptance through calls of nullable
  // rules alone.
  g->nullable_.assign(num_rules, 0);
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t r = 0; r < num_rules; ++r) {
      if (g->nullable_[r]) continue;
      std::vector<int32_t> work = {g->rule_start_[r]};
      std::vector<int32_t> seen = work;
      bool nullable = false;
      while (!work.empty() && !nullable) {
        const int32_t s = work.back();
        work.pop_back();
        if (g->states_[s].accepting) nullable = true;
        for (const auto& e : g->RuleEdges(s)) {
          if (g->nullable_[e.rule] && std::find(seen.begin(), seen.end(), e.to) == seen.end()) {
            seen.push_back(e.to);
            work.push_back(e.to);
          }
        }
      }
      if (nullable) g->nullable_[r] = changed = true;
    }
  }
  // Fewest bytes to finish each rule from each state (Bellman-Ford style;
  // states are numbered breadth-first, so reverse passes converge fast).
  g->min_bytes_.assign(num_states, Grammar::kUnreachable);
  std::vector<int64_t> rule_min(num_rules, Grammar::kUnreachable);
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t s = num_states; s-- > 0;) {
      const auto& st = g->states_[s];
      int64_t best = st.accepting ? 0 : Grammar::kUnreachable;
      for (const auto& e : g->ByteEdges(s)) best = std::min(best, 1 + g->min_bytes_[e.to]);
      for (const auto& e : g->RuleEdges(s)) best = std::min(best, rule_min[e.rule] + g->min_bytes_[e.to]);
      if (best < g->min_bytes_[s]) {
        g->min_bytes_[s] = best;
        changed = true;
      }
    }
    for (int32_t r = 0; r < num_rules; ++r) {
      const int64_t m = g->min_bytes_[g->rule_start_[r]];
      if (m < rule_min[r]) {
        rule_min[r] = m;
        changed = true;
      }
    }
  }
  // Return states of each rule's calls.
  g->follow_.assign(num_rules, {});
  for (const auto& e : g->rule_edges_) g->follow_[e.rule].push_back(e.to);
  for (auto& f : g->follow_) {
    std::sort(f.begin(), f.end());
    f.erase(std::unique(f.begin(), f.end()), f.end());
  }
  // Dense byte tables where a linear scan of the ranges would be slow.
  g->dense_.clear();
  for (int32_t s = 0; s < num_states; ++s) {
    auto& st = g->states_[s];
    if (st.byte_end - st.byte_begin <= 4) continue;
    st.dense = static_cast<int32_t>(g->dense_.size());
    g->dense_.resize(g->dense_.size() + 256, -1);
    for (const auto& e : g->ByteEdges(s)) {
      for (int b = e.lo; b <= e.hi; ++b) g->dense_[st.dense + b] = e.to;
    }
  }
}

Status GrammarAssembler::CheckLeftRecursion(const Grammar& g) {
  // Edge r -> q when r can call q before reading any byte. A cycle means a
  // top-down matcher would push frames forever.
  const int32_t num_rules = g.num_rules();
  std::vector<std::vector<int32_t>> first_calls(num_rules);
  for (int32_t r = 0; r < num_rules; ++r) {
    std::vector<int32_t> work = {g.rule_start(r)};
    std::vector<int32_t> seen = work;
    while (!work.empty()) {
      const int32_t s = work.back();
      work.pop_back();
      for (const auto& e : g.RuleEdges(s)) {
        first_calls[r].push_back(e.rule);
        if (g.RuleNullable(e.rule) && std::find(seen.begin(), seen.end(), e.to) == seen.end()) {
          seen.push_back(e.to);
          work.push_back(e.to);
        }
      }
    }
  }
  std::vector<uint8_t> color(num_rules, 0);  // 0 new, 1 on the path, 2 done
  std::vector<std::pair<int32_t, size_t>> stack;
  for (int32_t start = 0; start < num_rules; ++start) {
    if (color[start]) continue;
    stack.push_back({start, 0});
    color[start] = 1;
    while (!stack.empty()) {
      auto& [r, i] = stack.back();
      if (i < first_calls[r].size()) {
        const int32_t q = first_calls[r][i++];
        if (color[q] == 1) {
          return InvalidArgument("left recursion: rule '" + g.rule_name(q) +
                                 "' can call itself before matching any character");
        }
        if (color[q] == 0) {
          color[q] = 1;
          stack.push_back({q, 0});
        }
      } else {
        color[r] = 2;
        stack.pop_back();
      }
    }
  }
  return Status::Ok();
}

std::string Grammar::ToString() const {
  std::string out;
  char buf[64];
  for (int32_t s = 0; s < num_states(); ++s) {
    const State& st = states_[s];
    if (rule_start_[st.rule] == s) out += "rule " + rule_names_[st.rule] + ":\n";
    std::snprintf(buf, sizeof(buf), "  %d%s:", s, st.accepting ? "*" : "");
    out += buf;
    for (const auto& e : ByteEdges(s)) {
      std::snprintf(buf, sizeof(buf), " [%02X-%02X]->%d", e.lo, e.hi, e.to);
      out += buf;
    }
    for (const auto& e : RuleEdges(s)) out += " <" + rule_names_[e.rule] + ">->" + std::to_string(e.to);
    out += "\n";
  }
  return out;
}

}  // namespace pagoda
