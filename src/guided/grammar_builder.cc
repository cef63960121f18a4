// Rule bodies -> per-rule DFAs: UTF-8 encoding of classes, Thompson NFA,
// subset construction and Moore minimisation.

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "guided/grammar.h"
#include "guided/rule_dfa.h"

namespace pagoda {

int32_t GrammarBuilder::AddRule(std::string name) {
  names_.push_back(std::move(name));
  bodies_.push_back(nullptr);
  return static_cast<int32_t>(names_.size()) - 1;
}

int32_t GrammarBuilder::FindRule(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<int32_t>(i);
  }
  return -1;
}

std::string GrammarBuilder::UniqueName(std::string_view base) const {
  std::string name(base);
  for (int n = 1; FindRule(name) >= 0; ++n) name = std::string(base) + "-" + std::to_string(n);
  return name;
}

StatusOr<Grammar> GrammarBuilder::Build(int32_t root, const Limits& limits) const {
  if (root < 0 || root >= num_rules()) return InvalidArgument("grammar has no root rule");
  std::vector<RuleDfa> dfas;
  dfas.reserve(bodies_.size());
  size_t dfa_left = limits.max_dfa_states;
  for (int32_t r = 0; r < num_rules(); ++r) {
    if (bodies_[r] == nullptr) return InvalidArgument("rule '" + names_[r] + "' has no definition");
    ASSIGN_OR_RETURN(RuleDfa dfa, BuildRuleDfa(*bodies_[r], names_[r], limits, &dfa_left));
    dfas.push_back(std::move(dfa));
  }
  return AssembleGrammar(names_, std::move(dfas), root);
}

namespace {

using ByteSeq = std::vector<std::pair<uint8_t, uint8_t>>;

int Utf8Len(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

void EncodeBytes(uint32_t cp, uint8_t* out) {
  std::string s;
  AppendUtf8(cp, &s);
  std::memcpy(out, s.data(), s.size());
}

// Splits [lo, hi] into pieces whose UTF-8 encodings are products of byte
// ranges (the classic construction used by regex engines over UTF-8).
void Utf8Split(uint32_t lo, uint32_t hi, std::vector<ByteSeq>* out) {
  if (lo > hi) return;
  if (lo <= 0xDFFF && hi >= 0xD800) {  // surrogates have no UTF-8 form
    if (lo < 0xD800) Utf8Split(lo, 0xD7FF, out);
    if (hi > 0xDFFF) Utf8Split(0xE000, hi, out);
    return;
  }
  static const uint32_t kMaxForLen[3] = {0x7F, 0x7FF, 0xFFFF};
  for (uint32_t m : kMaxForLen) {
    if (lo <= m && hi > m) {
      Utf8Split(lo, m, out);
      Utf8Split(m + 1, hi, out);
      return;
    }
  }
  const int n = Utf8Len(lo);
  for (int i = 1; i < n; ++i) {
    const uint32_t m = (1u << (6 * i)) - 1;
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        Utf8Split(lo, lo | m, out);
        Utf8Split((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) != m) {
        Utf8Split(lo, (hi & ~m) - 1, out);
        Utf8Split(hi & ~m, hi, out);
        return;
      }
    }
  }
  uint8_t a[4], b[4];
  EncodeBytes(lo, a);
  EncodeBytes(hi, b);
  ByteSeq seq;
  for (int k = 0; k < n; ++k) seq.emplace_back(a[k], b[k]);
  out->push_back(std::move(seq));
}

struct Nfa {
  struct Edge {
    uint8_t lo, hi;
    int32_t to;
  };
  struct NState {
    std::vector<Edge> bytes;
    std::vector<Grammar::RuleEdge> refs;
    std::vector<int32_t> eps;
  };
  std::vector<NState> states;
  size_t limit = 0;
  bool overflow = false;

  int32_t New() {
    if (states.size() >= limit) {
      overflow = true;
      return 0;  // keeps construction well defined; the caller reports the overflow
    }
    states.emplace_back();
    return static_cast<int32_t>(states.size()) - 1;
  }

  // Adds the expression after state `from`; returns the state where it ends.
  int32_t Add(const GrammarExpr& e, int32_t from) {
    if (overflow) return from;
    switch (e.kind) {
      case ExprKind::kEmpty:
        return from;
      case ExprKind::kNothing:
        return New();  // nothing leads here
      case ExprKind::kLiteral: {
        int32_t cur = from;
        for (unsigned char c : e.literal) {
          const int32_t next = New();
          states[cur].bytes.push_back({c, c, next});
          cur = next;
        }
        return cur;
      }
      case ExprKind::kChars: {
        const int32_t end = New();
        std::vector<ByteSeq> seqs;
        for (const auto& r : e.chars) Utf8Split(r.lo, r.hi, &seqs);
        for (const auto& seq : seqs) {
          int32_t cur = from;
          for (size_t k = 0; k < seq.size(); ++k) {
            const int32_t next = k + 1 == seq.size() ? end : New();
            states[cur].bytes.push_back({seq[k].first, seq[k].second, next});
            cur = next;
          }
        }
        return end;
      }
      case ExprKind::kSeq: {
        int32_t cur = from;
        for (const auto& it : e.items) cur = Add(*it, cur);
        return cur;
      }
      case ExprKind::kAlt: {
        const int32_t end = New();
        for (const auto& it : e.items) {
          const int32_t s = New();
          states[from].eps.push_back(s);
          const int32_t t = Add(*it, s);
          states[t].eps.push_back(end);
        }
        return end;
      }
      case ExprKind::kRepeat: {
        const GrammarExpr& item = *e.items[0];
        int32_t cur = from;
        for (int32_t i = 0; i < e.min && !overflow; ++i) cur = Add(item, cur);
        if (e.max < 0) {
          const int32_t loop = New();
          states[cur].eps.push_back(loop);
          const int32_t t = Add(item, loop);
          states[t].eps.push_back(loop);
          return loop;
        }
        const int32_t end = New();
        for (int32_t i = e.min; i < e.max && !overflow; ++i) {
          states[cur].eps.push_back(end);
          cur = Add(item, cur);
        }
        states[cur].eps.push_back(end);
        return end;
      }
      case ExprKind::kRuleRef: {
        const int32_t end = New();
        states[from].refs.push_back({e.rule, end});
        return end;
      }
    }
    return from;
  }

  void Closure(std::vector<int32_t>* set, std::vector<uint32_t>* mark, uint32_t stamp) const {
    std::vector<int32_t> work(set->begin(), set->end());
    for (int32_t s : *set) (*mark)[s] = stamp;
    while (!work.empty()) {
      const int32_t s = work.back();
      work.pop_back();
      for (int32_t t : states[s].eps) {
        if ((*mark)[t] != stamp) {
          (*mark)[t] = stamp;
          set->push_back(t);
          work.push_back(t);
        }
      }
    }
    std::sort(set->begin(), set->end());
  }
};

std::string SetKey(const std::vector<int32_t>& set) {
  return std::string(reinterpret_cast<const char*>(set.data()), set.size() * sizeof(int32_t));
}

}  // namespace

StatusOr<RuleDfa> BuildRuleDfa(const GrammarExpr& body, const std::string& rule_name,
                               const GrammarBuilder::Limits& limits, size_t* dfa_states_left) {
  Nfa nfa;
  nfa.limit = limits.max_nfa_states;
  const int32_t start = nfa.New();
  const int32_t accept = nfa.Add(body, start);
  if (nfa.overflow) {
    return InvalidArgument("rule '" + rule_name + "' is too large (more than " +
                           std::to_string(limits.max_nfa_states) +
                           " automaton states; reduce repetition counts)");
  }
  std::vector<uint32_t> mark(nfa.states.size(), 0);
  uint32_t stamp = 0;

  RuleDfa dfa;
  std::unordered_map<std::string, int32_t> ids;
  std::vector<std::vector<int32_t>> sets;
  auto intern = [&](std::vector<int32_t> set) -> int32_t {
    nfa.Closure(&set, &mark, ++stamp);
    std::string key = SetKey(set);
    auto it = ids.find(key);
    if (it != ids.end()) return it->second;
    const int32_t id = static_cast<int32_t>(sets.size());
    ids.emplace(std::move(key), id);
    sets.push_back(std::move(set));
    dfa.states.emplace_back();
    return id;
  };
  intern({start});
  for (size_t d = 0; d < sets.size(); ++d) {
    if (*dfa_states_left == 0) {
      return InvalidArgument("rule '" + rule_name + "' is too large (its automaton exceeds " +
                             std::to_string(limits.max_dfa_states) + " states)");
    }
    --*dfa_states_left;
    const std::vector<int32_t> members = sets[d];  // copy: intern() grows `sets`
    RuleDfa::DState out;
    // Byte moves: cut 0..255 at every edge boundary, then map each piece.
    std::vector<int> cuts = {0, 256};
    std::map<int32_t, std::vector<int32_t>> ref_targets;
    for (int32_t s : members) {
      if (s == accept) out.accepting = true;
      for (const auto& e : nfa.states[s].bytes) {
        cuts.push_back(e.lo);
        cuts.push_back(e.hi + 1);
      }
      for (const auto& r : nfa.states[s].refs) ref_targets[r.rule].push_back(r.to);
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    for (size_t c = 0; c + 1 < cuts.size(); ++c) {
      const int lo = cuts[c], hi = cuts[c + 1] - 1;
      std::vector<int32_t> targets;
      for (int32_t s : members) {
        for (const auto& e : nfa.states[s].bytes) {
          if (e.lo <= lo && hi <= e.hi) targets.push_back(e.to);
        }
      }
      if (targets.empty()) continue;
      std::sort(targets.begin(), targets.end());
      targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
      const int32_t to = intern(std::move(targets));
      if (!out.bytes.empty() && out.bytes.back().to == to && out.bytes.back().hi + 1 == lo) {
        out.bytes.back().hi = static_cast<uint8_t>(hi);
      } else {
        out.bytes.push_back({static_cast<uint8_t>(lo), static_cast<uint8_t>(hi), to});
      }
    }
    for (auto& [rule, targets] : ref_targets) {
      std::sort(targets.begin(), targets.end());
      targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
      out.refs.push_back({rule, intern(std::move(targets))});
    }
    dfa.states[d] = std::move(out);
  }
  return dfa;
}

RuleDfa MinimizeRuleDfa(const RuleDfa& dfa) {
  const size_t n = dfa.states.size();
  // Moore refinement: start from {accepting, not accepting} and split by the
  // classes of each state's successors until nothing changes.
  std::vector<int32_t> cls(n);
  for (size_t s = 0; s < n; ++s) cls[s] = dfa.states[s].accepting ? 1 : 0;
  size_t num_classes = 0;
  for (;;) {
    std::unordered_map<std::string, int32_t> sig_ids;
    std::vector<int32_t> next(n);
    for (size_t s = 0; s < n; ++s) {
      const auto& st = dfa.states[s];
      std::vector<int32_t> sig = {cls[s]};
      int32_t prev_to = -1, prev_hi = -2;
      for (const auto& e : st.bytes) {
        const int32_t to = cls[e.to];
        if (to == prev_to && e.lo == prev_hi + 1) {
          sig.back() = e.hi;  // extend the previous run
        } else {
          sig.insert(sig.end(), {-1, e.lo, to, e.hi});
        }
        prev_to = to;
        prev_hi = e.hi;
      }
      for (const auto& r : st.refs) sig.insert(sig.end(), {-2, r.rule, cls[r.to]});
      auto [it, inserted] = sig_ids.emplace(SetKey(sig), static_cast<int32_t>(sig_ids.size()));
      next[s] = it->second;
    }
    const size_t count = sig_ids.size();
    cls = std::move(next);
    if (count == num_classes) break;
    num_classes = count;
  }
  // Renumber classes in breadth-first order from the start.
  std::vector<int32_t> order(num_classes, -1);
  std::vector<int32_t> rep(num_classes, -1);
  for (size_t s = 0; s < n; ++s) {
    if (rep[cls[s]] < 0) rep[cls[s]] = static_cast<int32_t>(s);
  }
  RuleDfa out;
  std::vector<int32_t> queue = {cls[0]};
  order[cls[0]] = 0;
  for (size_t q = 0; q < queue.size(); ++q) {
    const auto& st = dfa.states[rep[queue[q]]];
    auto visit = [&](int32_t c) {
      if (order[c] < 0) {
        order[c] = static_cast<int32_t>(queue.size());
        queue.push_back(c);
      }
    };
    for (const auto& e : st.bytes) visit(cls[e.to]);
    for (const auto& r : st.refs) visit(cls[r.to]);
  }
  out.states.resize(queue.size());
  for (size_t q = 0; q < queue.size(); ++q) {
    const auto& st = dfa.states[rep[queue[q]]];
    auto& o = out.states[q];
    o.accepting = st.accepting;
    for (const auto& e : st.bytes) {
      const int32_t to = order[cls[e.to]];
      if (!o.bytes.empty() && o.bytes.back().to == to && o.bytes.back().hi + 1 == e.lo) {
        o.bytes.back().hi = e.hi;
      } else {
        o.bytes.push_back({e.lo, e.hi, to});
      }
    }
    for (const auto& r : st.refs) o.refs.push_back({r.rule, order[cls[r.to]]});
  }
  return out;
}

}  // namespace pagoda
