#include "guided/compiled_grammar.h"

#include <chrono>
#include <string_view>

#include "guided/pda.h"
#include "guided/token_walk.h"

namespace pagoda {
namespace {

// How many callers up the follow check looks before it gives up and calls
// the token uncertain. Deeper means fewer run-time checks and more build time.
constexpr int kFollowDepth = 3;

// Decides whether `rest` could follow a return from `rule` somewhere in the
// grammar. False means no caller can read it, so a token whose tail after
// the return is `rest` is invalid in every context.
class FollowChecker {
 public:
  explicit FollowChecker(const Grammar& g) : g_(g), stepper_(g, &scratch_) {}

  bool Possible(int32_t rule, std::string_view rest, int depth) {
    if (rest.empty()) return true;
    for (int32_t ret : g_.ReturnStates(rule)) {
      if (FromState(ret, rest, depth)) return true;
    }
    // A return from the root finishes the output: nothing may follow.
    return false;
  }

 private:
  bool FromState(int32_t state, std::string_view rest, int depth) {
    const size_t mark = scratch_.size();
    std::vector<int32_t> cur, next;
    stepper_.Begin(&cur);
    stepper_.Close(scratch_.Make(state, kStackBottom));
    bool ok = false;
    if (stepper_.bottom()) ok = Returned(g_.state(state).rule, rest, depth);
    for (size_t i = 0; !ok && i < rest.size() && !cur.empty(); ++i) {
      next.clear();
      stepper_.Begin(&next);
      stepper_.Advance(cur, static_cast<uint8_t>(rest[i]));
      if (stepper_.bottom()) ok = Returned(g_.state(state).rule, rest.substr(i + 1), depth);
      if (!ok && i + 1 == rest.size() && !next.empty()) ok = true;
      cur.swap(next);
    }
    scratch_.Truncate(mark);
    return ok;
  }
  bool Returned(int32_t rule, std::string_view rest, int depth) {
    if (rest.empty() || depth == 0) return true;
    return Possible(rule, rest, depth - 1);
  }

  const Grammar& g_;
  ScratchStack scratch_;
  PdaStepper<ScratchStack> stepper_;
};

}  // namespace

StatusOr<std::shared_ptr<const CompiledGrammar>> CompiledGrammar::Create(
    Grammar grammar, std::shared_ptr<const TokenizerInfo> info) {
  if (info == nullptr) return InvalidArgument("no tokenizer info");
  std::shared_ptr<CompiledGrammar> cg(new CompiledGrammar(std::move(grammar), std::move(info)));
  const auto t0 = std::chrono::steady_clock::now();
  cg->BuildTables();
  cg->stats_.build_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return std::shared_ptr<const CompiledGrammar>(std::move(cg));
}

void CompiledGrammar::BuildTables() {
  const Grammar& g = grammar_;
  const TokenizerInfo& info = *info_;
  const int32_t m = info.num_sorted();
  const int32_t words = info.bitmask_words();
  tables_.assign(g.num_states(), {});
  PrefixWalker walker(g);
  FollowChecker follow(g);
  std::vector<int32_t> accepted;
  std::vector<int32_t> uncertain;
  for (int32_t pos = 0; pos < g.num_states(); ++pos) {
    if (!g.HasBytes(pos)) continue;
    const int32_t rule = g.state(pos).rule;
    accepted.clear();
    uncertain.clear();
    walker.StartFromState(pos);
    for (int32_t i = 0; i < m;) {
      const std::string_view tok = info.TokenBytes(info.sorted_id(i));
      const int64_t dead = walker.Extend(tok, info.sorted_lcp(i));
      if (dead >= 0) {
        // Dead at byte `dead` with no return below the start: skip every
        // token sharing the first dead + 1 bytes.
        int32_t j = dead == 0 ? info.first_byte_end(i) : i + 1;
        while (j < m && info.sorted_lcp(j) > dead) ++j;
        i = j;
        continue;
      }
      const size_t n = tok.size();
      if (walker.Alive(n) || walker.BottomAt(n)) {
        accepted.push_back(info.sorted_id(i));
      } else if (walker.AnyBottomUpTo(n)) {
        // The rule returned inside the token: keep it only if some caller
        // could read what is left.
        bool possible = false;
        for (size_t k = 1; k < n && !possible; ++k) {
          if (walker.BottomAt(k)) possible = follow.Possible(rule, tok.substr(k), kFollowDepth);
        }
        if (possible) uncertain.push_back(i);
      }
      ++i;
    }
    PositionTokens& t = tables_[pos];
    if (static_cast<int64_t>(accepted.size()) * 4 > words) {
      t.accepted_bits.assign(words, 0);
      for (int32_t id : accepted) t.accepted_bits[id >> 5] |= 1u << (id & 31);
    } else {
      t.accepted_ids = accepted;
    }
    int32_t prev = -1;
    for (int32_t idx : uncertain) {
      int32_t lcp = 0;
      if (prev >= 0) {
        lcp = info.sorted_lcp(prev + 1);
        for (int32_t j = prev + 2; j <= idx; ++j) lcp = std::min(lcp, info.sorted_lcp(j));
      }
      t.uncertain.push_back({idx, lcp});
      prev = idx;
    }
    ++stats_.positions;
    stats_.accepted += static_cast<int64_t>(accepted.size());
    stats_.uncertain += static_cast<int64_t>(uncertain.size());
    stats_.memory_bytes += t.accepted_bits.size() * 4 + t.accepted_ids.size() * 4 +
                           t.uncertain.size() * sizeof(Uncertain);
  }
}

}  // namespace pagoda
