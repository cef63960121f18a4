#include "tokenizer/bpe_model.h"

#include <atomic>
#include <queue>
#include <string>

#include "tokenizer/utf8.h"

namespace pagoda {
namespace {

// A symbol that is no token: never merges, never emitted.
constexpr int32_t kBarrier = -2;

std::atomic<uint64_t> next_instance_id{1};

// Cache entries only for short words (long ones rarely repeat), and a bound
// on the entries: the cache is dropped whole when it fills, which is cheap
// and keeps the memory per thread to a few megabytes.
constexpr size_t kMaxCachedWordBytes = 48;
constexpr size_t kMaxCachedWords = 32768;

struct WordCache {
  uint64_t owner = 0;
  StringMap<std::vector<int32_t>> words;
};

}  // namespace

BpeModel::BpeModel(BpeOptions options) : options_(options), instance_id_(next_instance_id++) {}

void BpeModel::EncodeWord(const Vocab& vocab, std::string_view word, std::vector<int32_t>* out) const {
  if (word.size() > kMaxCachedWordBytes) {
    EncodeWordUncached(vocab, word, out);
    return;
  }
  thread_local WordCache cache;
  if (cache.owner != instance_id_) {
    cache.words.clear();
    cache.owner = instance_id_;
  }
  auto it = cache.words.find(word);
  if (it != cache.words.end()) {
    out->insert(out->end(), it->second.begin(), it->second.end());
    return;
  }
  const size_t before = out->size();
  EncodeWordUncached(vocab, word, out);
  if (cache.words.size() >= kMaxCachedWords) cache.words.clear();
  cache.words.emplace(std::string(word), std::vector<int32_t>(out->begin() + before, out->end()));
}

void BpeModel::AddMerge(const Vocab& vocab, std::string_view left, std::string_view right) {
  const int32_t rank = next_rank_++;
  const int32_t a = vocab.Find(left);
  const int32_t b = vocab.Find(right);
  std::string joined;
  joined.reserve(left.size() + right.size());
  joined.append(left).append(right);
  const int32_t r = vocab.Find(joined);
  if (a < 0 || b < 0 || r < 0) {
    ++skipped_;
    return;
  }
  // A pair listed twice keeps its first (best) rank.
  merges_.emplace(Key(a, b), Merge{rank, r});
}

void BpeModel::AddMergeLine(const Vocab& vocab, std::string_view line) {
  const size_t sp = line.find(' ', 1);
  if (sp == std::string_view::npos) {
    ++next_rank_;
    ++skipped_;
    return;
  }
  AddMerge(vocab, line.substr(0, sp), line.substr(sp + 1));
}

void BpeModel::EncodeWordUncached(const Vocab& vocab, std::string_view word,
                          std::vector<int32_t>* out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    const int32_t whole = vocab.Find(word);
    if (whole >= 0) {
      out->push_back(whole);
      return;
    }
  }

  // The word's characters as a doubly linked list of symbols.
  struct Symbol {
    int32_t id;
    int32_t prev, next;
  };
  std::vector<Symbol> syms;
  syms.reserve(word.size());
  bool last_was_unk = false;
  for (size_t pos = 0; pos < word.size();) {
    const size_t len = Utf8CharLenAt(word, pos);
    const std::string_view ch = word.substr(pos, len);
    pos += len;
    const int32_t id = vocab.Find(ch);
    if (id >= 0) {
      syms.push_back({id, 0, 0});
      last_was_unk = false;
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (char c : ch) all = all && vocab.ByteToken(static_cast<uint8_t>(c)) >= 0;
      if (all) {
        for (char c : ch) syms.push_back({vocab.ByteToken(static_cast<uint8_t>(c)), 0, 0});
        last_was_unk = false;
        continue;
      }
    }
    if (options_.unk_id >= 0) {
      if (!(options_.fuse_unk && last_was_unk)) syms.push_back({options_.unk_id, 0, 0});
      last_was_unk = true;
    } else {
      // Dropped, but it still separates its neighbours (as in llama.cpp).
      syms.push_back({kBarrier, 0, 0});
    }
  }
  const auto n = static_cast<int32_t>(syms.size());
  for (int32_t i = 0; i < n; ++i) {
    syms[i].prev = i - 1;
    syms[i].next = i + 1 < n ? i + 1 : -1;
  }

  struct Candidate {
    int32_t rank;
    int32_t left;  // symbol index; also the tie-break (leftmost first)
    int32_t left_id, right_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto push_pair = [&](int32_t left) {
    if (left < 0) return;
    const int32_t right = syms[left].next;
    if (right < 0) return;
    auto it = merges_.find(Key(syms[left].id, syms[right].id));
    if (it != merges_.end()) heap.push({it->second.rank, left, syms[left].id, syms[right].id});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);

  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& l = syms[c.left];
    // Stale entries (a side already merged into something else) are skipped.
    if (l.id != c.left_id || l.next < 0 || syms[l.next].id != c.right_id) continue;
    const int32_t right = l.next;
    l.id = merges_.at(Key(c.left_id, c.right_id)).result;
    l.next = syms[right].next;
    if (l.next >= 0) syms[l.next].prev = c.left;
    syms[right].id = -1;  // dead
    push_pair(l.prev);
    push_pair(c.left);
  }
  for (int32_t i = n > 0 ? 0 : -1; i >= 0; i = syms[i].next) {
    if (syms[i].id != kBarrier) out->push_back(syms[i].id);
  }
}

}  // namespace pagoda
