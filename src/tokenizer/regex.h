// Regex: a compiled PCRE2 pattern (UTF-8, Unicode properties, JIT when the
// library has it) for the pre-tokenizers. PCRE2 rather than std::regex or RE2
// because the Llama-3/Qwen pre-tokenizer patterns need \p{L}/\p{N} classes
// and lookahead. Subjects may hold invalid UTF-8: such bytes never match,
// so they fall into the gaps between matches and are still tokenized.
// Immutable after Compile; FindAll allocates its own match data, so one Regex
// may be used from many threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace pagoda {

class Regex {
 public:
  static StatusOr<std::unique_ptr<Regex>> Compile(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends the [begin, end) byte ranges of all non-overlapping, non-empty
  // matches in `subject`, left to right.
  void FindAll(std::string_view subject, std::vector<std::pair<size_t, size_t>>* matches) const;

  const std::string& pattern() const { return pattern_; }

  // `literal` with every regex metacharacter escaped.
  static std::string Escape(std::string_view literal);

 private:
  Regex() = default;
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*, kept out of the header
};

}  // namespace pagoda
