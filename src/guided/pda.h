// The pushdown automaton that runs a Grammar over bytes (internal to the
// guided module). A parse configuration is a stack of frames; each frame is
// a Grammar state, and a frame's parent holds the state its rule returns to.
// Stacks share their tails, so a stack is one node id and a set of parse
// configurations is a list of node ids.
//
// - NodePool interns nodes (equal stacks get equal ids); a GrammarMatcher
//   keeps one per request, append-only, so rollback only drops ids.
// - ScratchStack makes throw-away nodes on top of a read-only NodePool, for
//   trying a token without changing the matcher (mask computation) and for
//   the per-vocabulary precomputation, where the stack below the first frame
//   is unknown (kStackBottom).
// - PdaStepper computes closures (calling rules, returning from finished
//   ones) and byte steps over either store. Only nodes whose state can read
//   a byte are kept in a set; `ended` records that the root rule can finish.
// Thread-safety: NodePool and ScratchStack are single-thread values; several
// ScratchStacks may read one NodePool concurrently while nobody interns.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/check.h"
#include "guided/grammar.h"

namespace pagoda {

inline constexpr int32_t kStackEnd = -1;     // below the root frame: popping it finishes the grammar
inline constexpr int32_t kStackBottom = -2;  // an unknown rest of the stack

struct StackNode {
  int32_t state;
  int32_t parent;
};

inline uint64_t StackKey(int32_t state, int32_t parent) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(state)) << 32) | static_cast<uint32_t>(parent);
}

class NodePool {
 public:
  NodePool() { Rehash(1024); }
  int32_t State(int32_t id) const { return nodes_[id].state; }
  int32_t Parent(int32_t id) const { return nodes_[id].parent; }
  int32_t Make(int32_t state, int32_t parent) {
    const uint64_t key = StackKey(state, parent);
    size_t i = Hash(key) & mask_;
    for (;; i = (i + 1) & mask_) {
      const int32_t id = slots_[i];
      if (id < 0) break;
      if (StackKey(nodes_[id].state, nodes_[id].parent) == key) return id;
    }
    const int32_t id = static_cast<int32_t>(nodes_.size());
    CHECK_LT(id, kMaxNodes) << "parse stack pool exhausted";
    nodes_.push_back({state, parent});
    slots_[i] = id;
    if (nodes_.size() * 2 > slots_.size()) Rehash(slots_.size() * 2);
    return id;
  }
  size_t size() const { return nodes_.size(); }

  static constexpr int32_t kMaxNodes = 1 << 30;

 private:
  static size_t Hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return static_cast<size_t>(k);
  }
  void Rehash(size_t cap) {
    slots_.assign(cap, -1);
    mask_ = cap - 1;
    for (size_t id = 0; id < nodes_.size(); ++id) {
      size_t i = Hash(StackKey(nodes_[id].state, nodes_[id].parent)) & mask_;
      while (slots_[i] >= 0) i = (i + 1) & mask_;
      slots_[i] = static_cast<int32_t>(id);
    }
  }
  std::vector<StackNode> nodes_;
  std::vector<int32_t> slots_;
  size_t mask_ = 0;
};

class ScratchStack {
 public:
  static constexpr int32_t kScratchBit = NodePool::kMaxNodes;
  explicit ScratchStack(const NodePool* base = nullptr) : base_(base) {}
  void set_base(const NodePool* base) { base_ = base; }

  int32_t State(int32_t id) const {
    return (id & kScratchBit) ? nodes_[id ^ kScratchBit].state : base_->State(id);
  }
  int32_t Parent(int32_t id) const {
    return (id & kScratchBit) ? nodes_[id ^ kScratchBit].parent : base_->Parent(id);
  }
  int32_t Make(int32_t state, int32_t parent) {
    nodes_.push_back({state, parent});
    return static_cast<int32_t>(nodes_.size() - 1) | kScratchBit;
  }
  size_t size() const { return nodes_.size(); }
  void Truncate(size_t n) { nodes_.resize(n); }

 private:
  const NodePool* base_;
  std::vector<StackNode> nodes_;
};

template <typename Store>
class PdaStepper {
 public:
  PdaStepper(const Grammar& g, Store* store) : g_(g), store_(store) {}

  // Starts collecting a new set into `out` (appended to, not cleared).
  void Begin(std::vector<int32_t>* out) {
    out_ = out;
    seen_.clear();
    ended_ = bottom_ = false;
  }
  // Adds every configuration reachable from `node` without reading a byte.
  void Close(int32_t node) {
    const int32_t state = store_->State(node);
    const int32_t parent = store_->Parent(node);
    const uint64_t key = StackKey(state, parent);
    for (uint64_t k : seen_) {
      if (k == key) return;
    }
    seen_.push_back(key);
    const Grammar::State& st = g_.state(state);
    if (st.byte_end != st.byte_begin) out_->push_back(node);
    for (const auto& e : g_.RuleEdges(state)) {
      // A call whose return state only returns again is a tail call: the
      // callee returns straight to our parent, so right recursion does not
      // grow the stack.
      const int32_t ret = g_.state(e.to).tail ? parent : store_->Make(e.to, parent);
      Close(store_->Make(g_.rule_start(e.rule), ret));
    }
    if (st.accepting) {
      if (parent == kStackEnd) {
        ended_ = true;
      } else if (parent == kStackBottom) {
        bottom_ = true;
      } else {
        Close(parent);
      }
    }
  }
  // Reads byte `b` from every configuration in `in`.
  void Advance(std::span<const int32_t> in, uint8_t b) {
    for (int32_t node : in) {
      const int32_t next = g_.Next(store_->State(node), b);
      if (next >= 0) Close(store_->Make(next, store_->Parent(node)));
    }
  }
  bool ended() const { return ended_; }    // the root rule finished
  bool bottom() const { return bottom_; }  // the first frame returned into kStackBottom

 private:
  const Grammar& g_;
  Store* store_;
  std::vector<int32_t>* out_ = nullptr;
  std::vector<uint64_t> seen_;
  bool ended_ = false;
  bool bottom_ = false;
};

}  // namespace pagoda
