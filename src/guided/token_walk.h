// PrefixWalker: runs the pushdown automaton over many tokens in sorted
// order, reusing the work for the bytes a token shares with the previous one
// (internal to the guided module). Level k holds the configurations after k
// bytes of the current token; moving to the next token truncates to the
// common prefix and continues from there, so the vocabulary is walked like a
// trie without storing one.
// Thread-safety: a single-thread value; it only reads the Grammar and the
// base NodePool, which must not change while it walks.
#pragma once

#include <string_view>
#include <vector>

#include "guided/grammar.h"
#include "guided/pda.h"

namespace pagoda {

class PrefixWalker {
 public:
  explicit PrefixWalker(const Grammar& g) : g_(g), stepper_(g, &scratch_) {}
  PrefixWalker(const PrefixWalker&) = delete;  // stepper_ points at scratch_
  PrefixWalker& operator=(const PrefixWalker&) = delete;

  // Starts a walk from one configuration: a node of `base` (a matcher's
  // pool), or, with base == nullptr, a frame at `state` over an unknown
  // stack (kStackBottom).
  void StartFromNode(const NodePool* base, int32_t node) {
    scratch_.set_base(base);
    scratch_.Truncate(0);
    Reset(node);
  }
  void StartFromState(int32_t state) {
    scratch_.set_base(nullptr);
    scratch_.Truncate(0);
    Reset(scratch_.Make(state, kStackBottom));
  }

  // Moves to `bytes`, of which the first `lcp` equal the previous token's.
  // Steps byte by byte until the token is consumed or no configuration is
  // left and none returned below the start. Returns -1 when the whole token
  // was read (then ask Alive/EndedAt/BottomAt about depth bytes.size()),
  // else the index of the byte where the walk died: every later token whose
  // common prefix with this one is longer than that index dies there too.
  int64_t Extend(std::string_view bytes, size_t lcp) {
    size_t d = std::min(lcp, valid_);
    scratch_.Truncate(scratch_at_[d]);
    valid_ = d;
    for (; d < bytes.size(); ++d) {
      if (levels_.size() < d + 2) Grow(d + 2);
      auto& next = levels_[d + 1];
      next.clear();
      stepper_.Begin(&next);
      stepper_.Advance(levels_[d], static_cast<uint8_t>(bytes[d]));
      ended_at_[d + 1] = stepper_.ended();
      bottom_at_[d + 1] = stepper_.bottom();
      any_bottom_[d + 1] = any_bottom_[d] || stepper_.bottom();
      scratch_at_[d + 1] = scratch_.size();
      valid_ = d + 1;
      if (next.empty() && !any_bottom_[d + 1]) {
        // Finishing the whole output on the last byte is a success.
        if (d + 1 == bytes.size() && ended_at_[d + 1]) return -1;
        return static_cast<int64_t>(d);
      }
    }
    return -1;
  }

  // After Extend returned -1, with n = bytes.size():
  bool Alive(size_t n) const { return !levels_[n].empty(); }
  bool EndedAt(size_t n) const { return ended_at_[n] != 0; }    // root finished exactly at n
  bool BottomAt(size_t n) const { return bottom_at_[n] != 0; }  // start frame returned at n
  bool AnyBottomUpTo(size_t n) const { return any_bottom_[n] != 0; }
  const std::vector<int32_t>& Level(size_t n) const { return levels_[n]; }

 private:
  void Reset(int32_t start) {
    if (levels_.empty()) Grow(64);
    levels_[0].assign(1, start);
    ended_at_[0] = bottom_at_[0] = any_bottom_[0] = 0;
    scratch_at_[0] = scratch_.size();
    valid_ = 0;
  }
  void Grow(size_t n) {
    levels_.resize(n);
    ended_at_.resize(n);
    bottom_at_.resize(n);
    any_bottom_.resize(n);
    scratch_at_.resize(n);
  }

  const Grammar& g_;
  ScratchStack scratch_;
  PdaStepper<ScratchStack> stepper_;
  std::vector<std::vector<int32_t>> levels_;
  std::vector<uint8_t> ended_at_, bottom_at_, any_bottom_;
  std::vector<size_t> scratch_at_;
  size_t valid_ = 0;
};

}  // namespace pagoda
