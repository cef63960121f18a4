// PreTokenizer: splits a text fragment into the "words" that BPE merges
// within, as a sequence of steps in the manner of Hugging Face's
// pre_tokenizers (Split by regex with its five behaviours, ByteLevel's GPT-2
// split and prefix space, Metaspace, Digits, Punctuation, whitespace splits).
// GGUF vocabularies name their split by `tokenizer.ggml.pre`; GgufPreRegexes
// turns that name into the equivalent list of Isolated regex splits.
// Immutable after construction: Split is safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/regex.h"

namespace pagoda {

// How a Split step treats the matched pieces (Hugging Face's names).
enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

// GPT-2's pattern, as Hugging Face's ByteLevel pre-tokenizer uses it.
extern const char kGpt2Regex[];
// One punctuation character as BERT sees it: Unicode P* or ASCII
// punctuation/symbols (Hugging Face's BertPreTokenizer and Punctuation).
extern const char kBertPunctuation[];

class PreTokenizer {
 public:
  // Splits by `pattern`. invert: the gaps between matches are what the
  // behaviour applies to, the matches become the gaps.
  Status AddRegexSplit(const std::string& pattern, SplitBehavior behavior, bool invert = false);
  // Hugging Face ByteLevel: optional prefix space, optional GPT-2 split. The
  // byte mapping itself is the pipeline's job (it follows the model).
  Status AddByteLevel(bool add_prefix_space, bool use_regex);
  // Hugging Face Metaspace: ' ' -> replacement, prepended per scheme
  // ("always", "first" = only the first fragment of the input, "never"), and
  // split before each replacement character when `split`.
  Status AddMetaspace(const std::string& replacement, const std::string& prepend_scheme,
                      bool split);

  bool empty() const { return steps_.empty(); }

  // Appends the words of `text` to *words. first_fragment: `text` starts the
  // input (no added token before it), which Metaspace's "first" scheme needs.
  void Split(std::string_view text, bool first_fragment, std::vector<std::string>* words) const;

 private:
  enum class Kind { kRegex, kPrefixSpace, kMetaspace };
  struct Step {
    Kind kind = Kind::kRegex;
    std::unique_ptr<Regex> regex;
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
    std::string replacement;  // Metaspace
    int prepend = 0;          // Metaspace: 0 never, 1 first, 2 always
    bool split = false;       // Metaspace
  };
  void ApplyRegex(const Step& step, std::vector<std::string>* pieces) const;
  std::vector<Step> steps_;
};

// The regex list llama.cpp uses for a GGUF `tokenizer.ggml.pre` value, each
// one an Isolated split applied in turn. NotFound for names we do not know.
StatusOr<std::vector<std::string>> GgufPreRegexes(const std::string& pre);

}  // namespace pagoda
