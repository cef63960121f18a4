#include "guided/grammar_compiler.h"

#include <algorithm>
#include <thread>

#include "guided/gbnf_parser.h"
#include "guided/regex_parser.h"

namespace pagoda {

StatusOr<Grammar> BuildConstraintGrammar(const Constraint& c, const GrammarBuilder::Limits& limits) {
  GrammarBuilder b;
  int32_t root = -1;
  switch (c.kind) {
    case ConstraintKind::kJsonSchema:
      RETURN_IF_ERROR(JsonSchemaToGrammar(c.spec, c.json, &b, &root));
      break;
    case ConstraintKind::kJsonObject:
      RETURN_IF_ERROR(FreeJsonObjectGrammar(c.json, &b, &root));
      break;
    case ConstraintKind::kRegex: {
      ASSIGN_OR_RETURN(ExprPtr e, ParseRegex(c.spec));
      root = b.AddRule("root", std::move(e));
      break;
    }
    case ConstraintKind::kChoice: {
      if (c.choices.empty()) return InvalidArgument("choice: the list of choices is empty");
      std::vector<ExprPtr> alts;
      for (const auto& s : c.choices) alts.push_back(ExprLiteral(s));
      root = b.AddRule("root", ExprAlt(std::move(alts)));
      break;
    }
    case ConstraintKind::kGrammar:
      RETURN_IF_ERROR(ParseGbnf(c.spec, &b, &root));
      break;
  }
  return b.Build(root, limits);
}

GrammarCompiler::GrammarCompiler(std::shared_ptr<const TokenizerInfo> info, Options options)
    : info_(std::move(info)), options_(options) {
  CHECK(info_ != nullptr);
}

std::string GrammarCompiler::CacheKey(const Constraint& c) {
  std::string key;
  key.push_back(static_cast<char>('0' + static_cast<int>(c.kind)));
  if (c.kind == ConstraintKind::kJsonSchema || c.kind == ConstraintKind::kJsonObject) {
    key.push_back(c.json.any_whitespace ? 'w' : '-');
    key.push_back(c.json.strict ? 's' : '-');
  }
  key.push_back(':');
  if (c.kind == ConstraintKind::kChoice) {
    // Length-prefixed, so ["a,b"] and ["a", "b"] differ.
    for (const auto& s : c.choices) key += std::to_string(s.size()) + ":" + s;
  } else if (c.kind != ConstraintKind::kJsonObject) {
    key += c.spec;
  }
  return key;
}

StatusOr<std::shared_ptr<const CompiledGrammar>> GrammarCompiler::Compile(const Constraint& c) {
  const std::string key = CacheKey(c);
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      auto it = cache_.find(key);
      if (it == cache_.end()) {
        Entry e;
        lru_.push_front(key);
        e.lru = lru_.begin();
        cache_.emplace(key, std::move(e));
        break;  // this thread compiles
      }
      if (it->second.ready) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        return it->second.grammar;
      }
      cv_.wait(lock);  // another thread is compiling it; re-check afterwards
    }
  }
  StatusOr<std::shared_ptr<const CompiledGrammar>> result = [&]() -> StatusOr<std::shared_ptr<const CompiledGrammar>> {
    ASSIGN_OR_RETURN(Grammar g, BuildConstraintGrammar(c, options_.limits));
    int threads = options_.num_threads;
    if (threads <= 0) threads = static_cast<int>(std::min(8u, std::max(1u, std::thread::hardware_concurrency())));
    return CompiledGrammar::Create(std::move(g), info_, {.num_threads = threads, .max_steps = options_.max_table_steps});
  }();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (result.ok()) {
      it->second.ready = true;
      it->second.grammar = *result;
      // Evict the least recently used finished entries.
      for (auto lit = std::prev(lru_.end()); cache_.size() > options_.max_cached;) {
        auto victim = cache_.find(*lit);
        const bool at_front = lit == lru_.begin();
        auto prev = at_front ? lit : std::prev(lit);
        if (victim->second.ready && victim->first != key) {
          cache_.erase(victim);
          lru_.erase(lit);
        }
        if (at_front) break;
        lit = prev;
      }
    } else {
      lru_.erase(it->second.lru);
      cache_.erase(it);
    }
  }
  cv_.notify_all();
  return result;
}

size_t GrammarCompiler::cache_size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

void GrammarCompiler::ClearCache() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->second.ready) {
      lru_.erase(it->second.lru);
      it = cache_.erase(it);
    } else {
      ++it;  // being compiled; its compiler thread still needs the entry
    }
  }
}

}  // namespace pagoda
