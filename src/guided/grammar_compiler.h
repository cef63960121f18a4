// GrammarCompiler: turns a structured-output constraint (JSON Schema, free
// JSON object, regular expression, choice among strings, GBNF grammar) into
// a CompiledGrammar for one vocabulary, and caches the result keyed by
// (kind, options, spec text) so each distinct constraint compiles once; an
// engine keeps one compiler per tokenizer and a GrammarMatcher per request.
// Invalid or unsupported constraints give an InvalidArgument status whose
// message names the problem (the keyword, the offset, the line), suitable
// for a 400 response. Errors are not cached.
// Thread-safety: all methods may be called concurrently. Two requests for
// the same uncached constraint compile it once (the second waits for the
// first); different constraints compile in parallel.
#pragma once

#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "guided/compiled_grammar.h"
#include "guided/grammar.h"
#include "guided/json_schema.h"
#include "guided/tokenizer_info.h"

namespace pagoda {

enum class ConstraintKind : uint8_t {
  kJsonSchema,  // spec: a JSON Schema document
  kJsonObject,  // any JSON object (OpenAI's json_object); spec unused
  kRegex,       // spec: a regular expression (see regex_parser.h), whole output
  kChoice,      // choices: the output is exactly one of them
  kGrammar,     // spec: GBNF text (see gbnf_parser.h)
};

struct Constraint {
  ConstraintKind kind = ConstraintKind::kJsonObject;
  std::string spec;
  std::vector<std::string> choices;
  JsonSchemaOptions json;  // for kJsonSchema and kJsonObject

  static Constraint JsonSchema(std::string schema, JsonSchemaOptions o = {}) {
    return {ConstraintKind::kJsonSchema, std::move(schema), {}, o};
  }
  static Constraint JsonObject(JsonSchemaOptions o = {}) { return {ConstraintKind::kJsonObject, {}, {}, o}; }
  static Constraint Regex(std::string pattern) { return {ConstraintKind::kRegex, std::move(pattern), {}, {}}; }
  static Constraint Choice(std::vector<std::string> c) { return {ConstraintKind::kChoice, {}, std::move(c), {}}; }
  static Constraint Gbnf(std::string text) { return {ConstraintKind::kGrammar, std::move(text), {}, {}}; }
};

// The vocabulary-independent part: constraint -> Grammar. Useful to
// validate a request before any tokenizer is at hand.
StatusOr<Grammar> BuildConstraintGrammar(const Constraint& c,
                                         const GrammarBuilder::Limits& limits = {});

class GrammarCompiler {
 public:
  struct Options {
    size_t max_cached = 512;  // least recently used entries are evicted past this
    GrammarBuilder::Limits limits;
    // Threads that build one grammar's token tables (the calling thread
    // included); 0: the machine's hardware threads, at most 8.
    int num_threads = 0;
    // Work cap per constraint (CompiledGrammar::BuildOptions::max_steps).
    int64_t max_table_steps = 250'000'000;
  };

  explicit GrammarCompiler(std::shared_ptr<const TokenizerInfo> info) : GrammarCompiler(std::move(info), Options{}) {}
  GrammarCompiler(std::shared_ptr<const TokenizerInfo> info, Options options);

  StatusOr<std::shared_ptr<const CompiledGrammar>> Compile(const Constraint& c);

  const std::shared_ptr<const TokenizerInfo>& tokenizer_info() const { return info_; }
  size_t cache_size() const;
  void ClearCache();

 private:
  struct Entry {
    bool ready = false;
    std::shared_ptr<const CompiledGrammar> grammar;
    std::list<std::string>::iterator lru;
  };
  static std::string CacheKey(const Constraint& c);

  std::shared_ptr<const TokenizerInfo> info_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, Entry> cache_;
  std::list<std::string> lru_;  // front: most recently used
};

}  // namespace pagoda
