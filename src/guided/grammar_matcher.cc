#include "guided/grammar_matcher.h"

#include <algorithm>
#include <climits>
#include <cstring>

namespace pagoda {

GrammarMatcher::GrammarMatcher(std::shared_ptr<const CompiledGrammar> grammar)
    : grammar_(std::move(grammar)),
      g_(grammar_->grammar()),
      info_(grammar_->tokenizer_info()),
      walker_(g_) {
  PdaStepper<NodePool> stepper(g_, &pool_);
  stepper.Begin(&stacks_);
  stepper.Close(pool_.Make(g_.rule_start(g_.root_rule()), kStackEnd));
  history_.push_back({0, static_cast<uint32_t>(stacks_.size()), stepper.ended(), false});
}

bool GrammarMatcher::Advance(std::string_view bytes) {
  const Step& step = history_.back();
  if (step.terminated || bytes.empty()) return false;
  cur_.assign(stacks_.begin() + step.begin, stacks_.begin() + step.end);
  PdaStepper<NodePool> stepper(g_, &pool_);
  bool ended = false;
  for (size_t i = 0; i < bytes.size(); ++i) {
    next_.clear();
    stepper.Begin(&next_);
    stepper.Advance(cur_, static_cast<uint8_t>(bytes[i]));
    ended = stepper.ended();
    if (next_.empty() && !(ended && i + 1 == bytes.size())) return false;
    cur_.swap(next_);
  }
  const auto begin = static_cast<uint32_t>(stacks_.size());
  stacks_.insert(stacks_.end(), cur_.begin(), cur_.end());
  history_.push_back({begin, static_cast<uint32_t>(stacks_.size()), ended, false});
  return true;
}

bool GrammarMatcher::AcceptToken(int32_t token_id) {
  if (token_id < 0 || token_id >= info_.vocab_size()) return false;
  const Step step = history_.back();
  if (step.terminated) return false;
  if (info_.IsStop(token_id)) {
    if (!step.can_end) return false;
    history_.push_back({step.begin, step.end, true, true});
    return true;
  }
  if (info_.IsSpecial(token_id)) return false;
  return Advance(info_.TokenBytes(token_id));
}

int32_t GrammarMatcher::AcceptTokens(std::span<const int32_t> token_ids) {
  int32_t n = 0;
  for (int32_t id : token_ids) {
    if (!AcceptToken(id)) break;
    ++n;
  }
  return n;
}

bool GrammarMatcher::AcceptString(std::string_view bytes) { return Advance(bytes); }

void GrammarMatcher::Rollback(int32_t n) {
  CHECK_GE(n, 0);
  CHECK_LE(n, num_steps()) << "rollback past the first token";
  history_.resize(history_.size() - n);
  stacks_.resize(history_.back().end);
}

void GrammarMatcher::FillNextTokenBitmask(uint32_t* bitmask) {
  const int32_t words = info_.bitmask_words();
  std::memset(bitmask, 0, sizeof(uint32_t) * words);
  const Step& step = history_.back();
  if (step.can_end || step.terminated) {
    for (int32_t id : info_.stop_token_ids()) bitmask[id >> 5] |= 1u << (id & 31);
  }
  if (step.terminated) return;
  done_positions_.clear();
  for (uint32_t k = step.begin; k < step.end; ++k) {
    const int32_t node = stacks_[k];
    const int32_t pos = pool_.State(node);
    const CompiledGrammar::PositionTokens& t = grammar_->Tokens(pos);
    if (std::find(done_positions_.begin(), done_positions_.end(), pos) == done_positions_.end()) {
      done_positions_.push_back(pos);
      if (!t.accepted_bits.empty()) {
        const uint32_t* src = t.accepted_bits.data();
        for (int32_t w = 0; w < words; ++w) bitmask[w] |= src[w];
      } else {
        for (int32_t id : t.accepted_ids) bitmask[id >> 5] |= 1u << (id & 31);
      }
    }
    if (t.uncertain.empty()) continue;
    // Context-dependent tokens: run them against this stack, sharing
    // prefixes between neighbours in sorted order.
    walker_.StartFromNode(&pool_, node);
    int32_t carry = INT32_MAX;  // common prefix with the last token walked
    int32_t dead_at = -1;
    for (const auto& u : t.uncertain) {
      carry = std::min(carry, u.lcp);
      const int32_t id = info_.sorted_id(u.sorted_index);
      if (dead_at >= 0 && carry > dead_at) continue;  // shares a dead prefix
      if (bitmask[id >> 5] & (1u << (id & 31))) continue;
      const std::string_view tok = info_.TokenBytes(id);
      const int64_t dead = walker_.Extend(tok, carry == INT32_MAX ? 0 : static_cast<size_t>(carry));
      carry = INT32_MAX;
      dead_at = static_cast<int32_t>(dead);
      if (dead < 0 && (walker_.Alive(tok.size()) || walker_.EndedAt(tok.size()))) {
        bitmask[id >> 5] |= 1u << (id & 31);
      }
    }
  }
}

std::string GrammarMatcher::FindJumpForwardString() {
  std::string out;
  const Step& step = history_.back();
  if (step.terminated || step.can_end) return out;
  ScratchStack scratch(&pool_);
  PdaStepper<ScratchStack> stepper(g_, &scratch);
  std::vector<int32_t> cur(stacks_.begin() + step.begin, stacks_.begin() + step.end), next;
  while (!cur.empty()) {
    int only = -1;
    bool forced = true;
    for (int32_t node : cur) {
      for (const auto& e : g_.ByteEdges(scratch.State(node))) {
        if (e.lo != e.hi || (only >= 0 && only != e.lo)) forced = false;
        only = e.lo;
      }
    }
    if (!forced || only < 0) break;
    next.clear();
    stepper.Begin(&next);
    stepper.Advance(cur, static_cast<uint8_t>(only));
    out.push_back(static_cast<char>(only));
    if (stepper.ended()) break;  // the output may end here: not forced further
    cur.swap(next);
  }
  // Keep whole UTF-8 characters so the caller can tokenize the text.
  size_t cut = out.size();
  for (size_t back = 1; back <= 4 && back <= out.size(); ++back) {
    const auto c = static_cast<unsigned char>(out[out.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    const size_t need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    if (need > back) cut = out.size() - back;
    break;
  }
  out.resize(cut);
  return out;
}

std::vector<int32_t> GrammarMatcher::FindForcedTokens(int32_t max_tokens) {
  std::vector<int32_t> forced;
  std::vector<uint32_t> mask(info_.bitmask_words());
  while (static_cast<int32_t>(forced.size()) < max_tokens && !IsTerminated()) {
    FillNextTokenBitmask(mask.data());
    int32_t only = -1;
    int count = 0;
    for (int32_t w = 0; w < static_cast<int32_t>(mask.size()) && count < 2; ++w) {
      if (mask[w] == 0) continue;
      count += __builtin_popcount(mask[w]);
      only = w * 32 + __builtin_ctz(mask[w]);
    }
    if (count != 1 || !AcceptToken(only)) break;
    forced.push_back(only);
  }
  Rollback(static_cast<int32_t>(forced.size()));
  return forced;
}

int64_t GrammarMatcher::MinBytesToEnd() const {
  const Step& step = history_.back();
  if (step.can_end || step.terminated) return 0;
  int64_t best = Grammar::kUnreachable;
  for (uint32_t k = step.begin; k < step.end; ++k) {
    int64_t sum = 0;
    for (int32_t node = stacks_[k]; node >= 0; node = pool_.Parent(node)) {
      sum += g_.MinBytesToAccept(pool_.State(node));
    }
    best = std::min(best, sum);
  }
  return best;
}

}  // namespace pagoda
