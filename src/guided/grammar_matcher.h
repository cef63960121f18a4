// GrammarMatcher: the per-request state of one constrained generation. It
// holds the set of parse stacks after the tokens accepted so far and:
// - AcceptToken(id) advances by one sampled token (false, and no change, if
//   the grammar does not allow it); a stop token is accepted only where the
//   grammar can end, and terminates the matcher;
// - Rollback(n) undoes the last n accepted tokens (speculative decoding);
// - FillNextTokenBitmask(mask) writes which tokens may come next: bit
//   (id % 32) of word (id / 32) is set when token id is allowed. Stop tokens
//   are allowed only where the grammar can end. Most of the work is a copy
//   of the precomputed per-position token sets (CompiledGrammar); only the
//   few context-dependent tokens are tried against the actual stacks;
// - FindJumpForwardString() returns the bytes the grammar forces next, so an
//   engine can append them without sampling token by token.
//
// Thread-safety: a matcher is a single-owner value. Calls on one matcher
// must not overlap, but they need not come from the same thread: the engine
// may run FillNextTokenBitmask on a worker thread (overlapping the forward
// pass) and AcceptToken later on its own thread, as long as it orders the
// two (e.g. by joining the worker). Different matchers, even of the same
// CompiledGrammar, are independent and may run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "guided/compiled_grammar.h"
#include "guided/pda.h"
#include "guided/token_walk.h"

namespace pagoda {

class GrammarMatcher {
 public:
  explicit GrammarMatcher(std::shared_ptr<const CompiledGrammar> grammar);
  // Not copyable (scratch state points into itself); make a new matcher
  // from the same CompiledGrammar instead.
  GrammarMatcher(const GrammarMatcher&) = delete;
  GrammarMatcher& operator=(const GrammarMatcher&) = delete;

  bool AcceptToken(int32_t token_id);
  // Accepts ids in order until one is not allowed; returns how many were
  // accepted (speculative decoding: the draft prefix the grammar allows).
  int32_t AcceptTokens(std::span<const int32_t> token_ids);
  // Accepts raw bytes as one step (for a jump-forward string); false, and no
  // change, if the grammar does not allow them.
  bool AcceptString(std::string_view bytes);
  // Undoes the last n successful AcceptToken/AcceptString calls.
  // n must not exceed num_steps().
  void Rollback(int32_t n);
  // Accepted steps that Rollback can undo.
  int32_t num_steps() const { return static_cast<int32_t>(history_.size()) - 1; }
  void Reset() { Rollback(num_steps()); }

  // `bitmask` holds BitmaskWords() words.
  void FillNextTokenBitmask(uint32_t* bitmask);
  void FillNextTokenBitmask(std::span<uint32_t> bitmask) {
    CHECK_GE(static_cast<int64_t>(bitmask.size()), BitmaskWords()) << "bitmask too small";
    FillNextTokenBitmask(bitmask.data());
  }
  int32_t BitmaskWords() const { return info_.bitmask_words(); }

  // The bytes every continuation starts with (possibly empty), cut back to
  // whole UTF-8 characters; empty when the grammar may end here.
  std::string FindJumpForwardString();
  // Tokens the grammar forces one after the other: while exactly one token
  // is allowed (a stop token included, which ends the list), up to
  // `max_tokens`. The matcher is left unchanged. Rarer than a jump-forward
  // string, since the same text can usually be split into tokens in
  // several ways, but needs no re-tokenization.
  std::vector<int32_t> FindForcedTokens(int32_t max_tokens);

  // True after a stop token was accepted.
  bool IsTerminated() const { return history_.back().terminated; }
  // True when the output so far is a complete match (a stop token is allowed).
  bool CanTerminate() const { return history_.back().can_end; }
  // Fewest bytes that complete the output from here (0 when it can end): for
  // callers that must close the output within a budget.
  int64_t MinBytesToEnd() const;

  const CompiledGrammar& compiled_grammar() const { return *grammar_; }

 private:
  struct Step {
    uint32_t begin;  // this step's stacks: stacks_[begin, end)
    uint32_t end;
    bool can_end;
    bool terminated;
  };
  bool Advance(std::string_view bytes);

  std::shared_ptr<const CompiledGrammar> grammar_;
  const Grammar& g_;
  const TokenizerInfo& info_;
  NodePool pool_;
  std::vector<int32_t> stacks_;
  std::vector<Step> history_;
  // Scratch reused across calls.
  PrefixWalker walker_;
  std::vector<int32_t> cur_, next_, done_positions_;
};

}  // namespace pagoda
