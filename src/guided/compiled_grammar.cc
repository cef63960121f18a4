#include "guided/compiled_grammar.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "guided/pda.h"
#include "guided/token_walk.h"

namespace pagoda {
namespace {

// How many callers up the follow check looks before it gives up and calls
// the token uncertain. Deeper means fewer run-time checks and more build time.
constexpr int kFollowDepth = 3;

// Decides whether `rest` could follow a return from `rule` somewhere in the
// grammar. False means no caller can read it, so a token whose tail after
// the return is `rest` is invalid in every context. Answers are memoised:
// the same tails come up for every position of a rule.
class FollowChecker {
 public:
  explicit FollowChecker(const Grammar& g) : g_(g), stepper_(g, &scratch_) {}

  // `rest` must stay valid while the checker lives (the walk passes views
  // into TokenizerInfo's token bytes), since the memo keeps views of it.
  bool Possible(int32_t rule, std::string_view rest, int depth) {
    if (rest.empty()) return true;
    // A tail is readable only if its first byte is: one cheap answer per
    // (rule, depth, byte) rules out most tails before any stepping.
    const size_t fb = FirstByteIndex(rule, depth, static_cast<uint8_t>(rest[0]));
    if (first_[fb] == 0) return false;
    if (first_[fb] < 0) {
      // Check may recurse and grow first_: index again afterwards.
      const bool ok = Check(rule, rest.substr(0, 1), depth);
      first_[fb] = ok ? 1 : 0;
      if (!ok) return false;
    }
    if (rest.size() == 1) return true;
    const Key key{rule, depth, rest};
    auto it = memo_.find(key);
    if (it != memo_.end()) return it->second;
    const bool ok = Check(rule, rest, depth);
    memo_.emplace(key, ok);
    return ok;
  }

 private:
  struct Key {
    int32_t rule;
    int depth;
    std::string_view rest;
    bool operator==(const Key& o) const { return rule == o.rule && depth == o.depth && rest == o.rest; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<std::string_view>{}(k.rest) ^ (static_cast<size_t>(k.rule) * 0x9E3779B97F4A7C15ULL + k.depth);
    }
  };

  size_t FirstByteIndex(int32_t rule, int depth, uint8_t b) {
    const size_t idx = (static_cast<size_t>(rule) * (kFollowDepth + 1) + depth) * 256 + b;
    if (first_.size() <= idx) first_.resize((static_cast<size_t>(rule) + 1) * (kFollowDepth + 1) * 256, -1);
    return idx;
  }

  bool Check(int32_t rule, std::string_view rest, int depth) {
    // With no return state, a return from the root finishes the output:
    // nothing may follow.
    for (int32_t ret : g_.ReturnStates(rule)) {
      if (FromState(ret, rest, depth)) return true;
    }
    return false;
  }

  bool FromState(int32_t state, std::string_view rest, int depth) {
    // One pair of buffers per nesting level of Possible/FromState.
    if (buffers_.size() <= static_cast<size_t>(level_)) buffers_.resize(level_ + 1);
    auto& [cur, next] = buffers_[level_];
    ++level_;
    const size_t mark = scratch_.size();
    cur.clear();
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
    --level_;
    return ok;
  }
  bool Returned(int32_t rule, std::string_view rest, int depth) {
    if (rest.empty() || depth == 0) return true;
    return Possible(rule, rest, depth - 1);
  }

  const Grammar& g_;
  ScratchStack scratch_;
  PdaStepper<ScratchStack> stepper_;
  std::unordered_map<Key, bool, KeyHash> memo_;
  std::vector<int8_t> first_;  // per (rule, depth, byte): -1 unknown, 0 no, 1 yes
  // A deque: growing it for a nested call keeps the outer references valid.
  std::deque<std::pair<std::vector<int32_t>, std::vector<int32_t>>> buffers_;
  int level_ = 0;
};

// Classifies the vocabulary at one position; one per worker thread.
class PositionBuilder {
 public:
  PositionBuilder(const Grammar& g, const TokenizerInfo& info) : g_(g), info_(info), walker_(g), follow_(g) {}

  CompiledGrammar::PositionTokens Build(int32_t pos) {
    const int32_t m = info_.num_sorted();
    const int32_t rule = g_.state(pos).rule;
    accepted_.clear();
    uncertain_.clear();
    walker_.StartFromState(pos);
    for (int32_t i = 0; i < m;) {
      ++steps_;
      const std::string_view tok = info_.TokenBytes(info_.sorted_id(i));
      const int64_t dead = walker_.Extend(tok, info_.sorted_lcp(i));
      if (dead >= 0) {
        // Dead at byte `dead` with no return below the start: skip every
        // token sharing the first dead + 1 bytes.
        int32_t j = dead == 0 ? info_.first_byte_end(i) : i + 1;
        while (j < m && info_.sorted_lcp(j) > dead) ++j;
        i = j;
        continue;
      }
      const size_t n = tok.size();
      if (walker_.Alive(n) || walker_.BottomAt(n)) {
        accepted_.push_back(info_.sorted_id(i));
      } else if (walker_.AnyBottomUpTo(n)) {
        // The rule returned inside the token: keep it only if some caller
        // could read what is left.
        bool possible = false;
        for (size_t k = 1; k < n && !possible; ++k) {
          if (walker_.BottomAt(k)) possible = follow_.Possible(rule, tok.substr(k), kFollowDepth);
        }
        if (possible) uncertain_.push_back(i);
      }
      ++i;
    }
    CompiledGrammar::PositionTokens t;
    if (static_cast<int64_t>(accepted_.size()) * 4 > info_.bitmask_words()) {
      t.accepted_bits.assign(info_.bitmask_words(), 0);
      for (int32_t id : accepted_) t.accepted_bits[id >> 5] |= 1u << (id & 31);
    } else {
      t.accepted_ids = accepted_;
    }
    t.num_accepted = static_cast<int32_t>(accepted_.size());
    int32_t prev = -1;
    for (int32_t idx : uncertain_) {
      int32_t lcp = 0;
      if (prev >= 0) {
        lcp = info_.sorted_lcp(prev + 1);
        for (int32_t j = prev + 2; j <= idx; ++j) lcp = std::min(lcp, info_.sorted_lcp(j));
      }
      t.uncertain.push_back({idx, lcp});
      prev = idx;
    }
    return t;
  }
  // Tokens walked so far (each a step of at least one byte).
  int64_t steps() const { return steps_; }

 private:
  const Grammar& g_;
  const TokenizerInfo& info_;
  int64_t steps_ = 0;
  PrefixWalker walker_;
  FollowChecker follow_;
  std::vector<int32_t> accepted_, uncertain_;
};

size_t TableHash(const CompiledGrammar::PositionTokens& t) {
  size_t h = std::hash<std::string_view>{}(std::string_view(
      reinterpret_cast<const char*>(t.accepted_bits.data()), t.accepted_bits.size() * sizeof(uint32_t)));
  h = h * 31 + std::hash<std::string_view>{}(std::string_view(
                   reinterpret_cast<const char*>(t.accepted_ids.data()), t.accepted_ids.size() * sizeof(int32_t)));
  for (const auto& u : t.uncertain) h = h * 131 + static_cast<size_t>(u.sorted_index);
  return h;
}

bool SameTable(const CompiledGrammar::PositionTokens& a, const CompiledGrammar::PositionTokens& b) {
  if (a.accepted_bits != b.accepted_bits || a.accepted_ids != b.accepted_ids ||
      a.uncertain.size() != b.uncertain.size()) {
    return false;
  }
  for (size_t i = 0; i < a.uncertain.size(); ++i) {
    if (a.uncertain[i].sorted_index != b.uncertain[i].sorted_index || a.uncertain[i].lcp != b.uncertain[i].lcp) {
      return false;
    }
  }
  return true;
}

}  // namespace

StatusOr<std::shared_ptr<const CompiledGrammar>> CompiledGrammar::Create(
    Grammar grammar, std::shared_ptr<const TokenizerInfo> info, const BuildOptions& options) {
  if (info == nullptr) return InvalidArgument("no tokenizer info");
  std::shared_ptr<CompiledGrammar> cg(new CompiledGrammar(std::move(grammar), std::move(info)));
  const auto t0 = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(cg->BuildTables(options));
  cg->stats_.build_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return std::shared_ptr<const CompiledGrammar>(std::move(cg));
}

Status CompiledGrammar::BuildTables(const BuildOptions& options) {
  const int num_threads = std::max(1, options.num_threads);
  const Grammar& g = grammar_;
  std::vector<int32_t> positions;
  for (int32_t s = 0; s < g.num_states(); ++s) {
    if (g.HasBytes(s)) positions.push_back(s);
  }
  std::vector<PositionTokens> built(positions.size());
  // Positions differ wildly in cost (a free-text position walks the whole
  // vocabulary, a literal one a few hundred tokens), so workers take them
  // one at a time.
  std::atomic<size_t> next{0};
  std::atomic<int64_t> steps{0};
  std::atomic<bool> over_budget{false};
  auto work = [&] {
    PositionBuilder builder(g, *info_);
    int64_t reported = 0;
    for (size_t i; !over_budget && (i = next.fetch_add(1)) < positions.size();) {
      built[i] = builder.Build(positions[i]);
      const int64_t total = steps.fetch_add(builder.steps() - reported) + builder.steps() - reported;
      reported = builder.steps();
      if (total > options.max_steps) over_budget = true;
    }
  };
  const int extra = std::min<int>(num_threads, static_cast<int>(positions.size() / 8 + 1)) - 1;
  std::vector<std::thread> threads;
  for (int t = 0; t < extra; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (over_budget) {
    return InvalidArgument("constraint too expensive to compile for a " + std::to_string(info_->vocab_size()) +
                           "-token vocabulary (" + std::to_string(positions.size()) +
                           " automaton states read bytes; shorten bounded repetitions such as maxLength or {m,n})");
  }

  // Identical tables are common (the same character class at each step of
  // a bounded repetition): keep one copy of each.
  table_of_.assign(g.num_states(), -1);
  std::unordered_map<size_t, std::vector<int32_t>> by_hash;
  for (size_t i = 0; i < positions.size(); ++i) {
    PositionTokens& t = built[i];
    ++stats_.positions;
    stats_.accepted += t.num_accepted;
    stats_.uncertain += static_cast<int64_t>(t.uncertain.size());
    auto& same = by_hash[TableHash(t)];
    int32_t index = -1;
    for (int32_t cand : same) {
      if (SameTable(tables_[cand], t)) index = cand;
    }
    if (index < 0) {
      index = static_cast<int32_t>(tables_.size());
      stats_.memory_bytes += t.accepted_bits.size() * 4 + t.accepted_ids.size() * 4 +
                             t.uncertain.size() * sizeof(Uncertain);
      tables_.push_back(std::move(t));
      same.push_back(index);
    }
    table_of_[positions[i]] = index;
  }
  stats_.distinct_tables = static_cast<int32_t>(tables_.size());
  return Status::Ok();
}

}  // namespace pagoda
