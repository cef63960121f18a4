#include "tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

namespace pagoda {

const char kGpt2Regex[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

const char kBertPunctuation[] = R"([\p{P}!-/:-@\[-`{-~])";

Status PreTokenizer::AddRegexSplit(const std::string& pattern, SplitBehavior behavior,
                                   bool invert) {
  ASSIGN_OR_RETURN(auto regex, Regex::Compile(pattern));
  Step step;
  step.kind = Kind::kRegex;
  step.regex = std::move(regex);
  step.behavior = behavior;
  step.invert = invert;
  steps_.push_back(std::move(step));
  return Status::Ok();
}

Status PreTokenizer::AddByteLevel(bool add_prefix_space, bool use_regex) {
  if (add_prefix_space) {
    Step step;
    step.kind = Kind::kPrefixSpace;
    steps_.push_back(std::move(step));
  }
  if (use_regex) return AddRegexSplit(kGpt2Regex, SplitBehavior::kIsolated);
  return Status::Ok();
}

Status PreTokenizer::AddMetaspace(const std::string& replacement,
                                  const std::string& prepend_scheme, bool split) {
  Step step;
  step.kind = Kind::kMetaspace;
  step.replacement = replacement.empty() ? "\xE2\x96\x81" : replacement;
  if (prepend_scheme == "always") {
    step.prepend = 2;
  } else if (prepend_scheme == "first") {
    step.prepend = 1;
  } else if (prepend_scheme == "never") {
    step.prepend = 0;
  } else {
    return InvalidArgument("Metaspace prepend_scheme '" + prepend_scheme + "' is not known");
  }
  step.split = split;
  if (split) {
    // Splitting before every replacement character: the replacement starts
    // each word, as SentencePiece's whitespace handling does.
    ASSIGN_OR_RETURN(step.regex, Regex::Compile(Regex::Escape(step.replacement)));
    step.behavior = SplitBehavior::kMergedWithNext;
  }
  steps_.push_back(std::move(step));
  return Status::Ok();
}

void PreTokenizer::ApplyRegex(const Step& step, std::vector<std::string>* pieces) const {
  std::vector<std::string> out;
  std::vector<std::pair<size_t, size_t>> matches;
  struct Segment {
    size_t begin, end;
    bool is_match;
  };
  std::vector<Segment> segs;
  for (const std::string& piece : *pieces) {
    matches.clear();
    step.regex->FindAll(piece, &matches);
    // Matches and the gaps between them, in order; adjacent matches stay
    // separate segments because Contiguous and the Merged behaviours care.
    segs.clear();
    size_t pos = 0;
    for (const auto& [b, e] : matches) {
      if (b > pos) segs.push_back({pos, b, step.invert});
      segs.push_back({b, e, !step.invert});
      pos = e;
    }
    if (pos < piece.size()) segs.push_back({pos, piece.size(), step.invert});

    std::vector<std::pair<size_t, size_t>> spans;
    bool prev_match = false;
    switch (step.behavior) {
      case SplitBehavior::kIsolated:
        for (const Segment& s : segs) spans.emplace_back(s.begin, s.end);
        break;
      case SplitBehavior::kRemoved:
        for (const Segment& s : segs) {
          if (!s.is_match) spans.emplace_back(s.begin, s.end);
        }
        break;
      case SplitBehavior::kMergedWithPrevious:
        for (const Segment& s : segs) {
          if (s.is_match && !prev_match && !spans.empty()) {
            spans.back().second = s.end;
          } else {
            spans.emplace_back(s.begin, s.end);
          }
          prev_match = s.is_match;
        }
        break;
      case SplitBehavior::kMergedWithNext:
        for (size_t i = segs.size(); i-- > 0;) {
          const Segment& s = segs[i];
          if (s.is_match && !prev_match && !spans.empty()) {
            spans.back().first = s.begin;
          } else {
            spans.emplace_back(s.begin, s.end);
          }
          prev_match = s.is_match;
        }
        std::reverse(spans.begin(), spans.end());
        break;
      case SplitBehavior::kContiguous:
        for (const Segment& s : segs) {
          if (s.is_match && prev_match && !spans.empty()) {
            spans.back().second = s.end;
          } else {
            spans.emplace_back(s.begin, s.end);
          }
          prev_match = s.is_match;
        }
        break;
    }
    for (const auto& [b, e] : spans) {
      if (e > b) out.emplace_back(piece.substr(b, e - b));
    }
  }
  pieces->swap(out);
}

void PreTokenizer::Split(std::string_view text, bool first_fragment,
                         std::vector<std::string>* words) const {
  std::vector<std::string> pieces;
  pieces.emplace_back(text);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::kRegex:
        ApplyRegex(step, &pieces);
        break;
      case Kind::kPrefixSpace:
        for (std::string& p : pieces) {
          if (p.empty() || p[0] != ' ') p.insert(0, 1, ' ');
        }
        break;
      case Kind::kMetaspace: {
        for (size_t i = 0; i < pieces.size(); ++i) {
          std::string& p = pieces[i];
          std::string replaced;
          for (char c : p) {
            if (c == ' ') {
              replaced += step.replacement;
            } else {
              replaced.push_back(c);
            }
          }
          const bool starts = replaced.compare(0, step.replacement.size(), step.replacement) == 0;
          const bool prepend = step.prepend == 2 || (step.prepend == 1 && first_fragment && i == 0);
          if (prepend && !starts) replaced.insert(0, step.replacement);
          p = std::move(replaced);
        }
        if (step.split) ApplyRegex(step, &pieces);
        break;
      }
    }
  }
  for (std::string& p : pieces) {
    if (!p.empty()) words->push_back(std::move(p));
  }
}

StatusOr<std::vector<std::string>> GgufPreRegexes(const std::string& pre) {
  // The Llama-3 family's pattern, with (?i:...) spelled out as llama.cpp does;
  // the two are the same under PCRE2.
  static const char kLlama3[] =
      R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const char kQwen2[] =
      R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const char kGpt2NoTail[] =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
  auto is = [&](std::initializer_list<const char*> names) {
    for (const char* n : names) {
      if (pre == n) return true;
    }
    return false;
  };
  if (is({"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0",
          "lfm2", "dbrx", "smaug-bpe", "glm4", "chatglm-bpe"})) {
    return std::vector<std::string>{kLlama3};
  }
  if (is({"qwen2", "deepseek-r1-qwen", "kormo", "stablelm2", "megrez", "hunyuan", "grok-2"})) {
    return std::vector<std::string>{kQwen2};
  }
  if (is({"gpt-2", "phi-2", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "jina-v2-code",
          "gigachat", "roberta-bpe", "mpt", "olmo", "jais", "exaone4", "trillion",
          "granite-docling"})) {
    return std::vector<std::string>{kGpt2NoTail};
  }
  if (is({"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"})) {
    return std::vector<std::string>{R"(\p{N})", kGpt2NoTail};
  }
  if (pre == "falcon") {
    return std::vector<std::string>{R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2NoTail, "[0-9][0-9][0-9]"};
  }
  if (pre == "deepseek-llm") {
    return std::vector<std::string>{
        "[\r\n]",
        // Letters of the cased scripts; written as escapes because several
        // of these code points are not in NFC and editors normalise them.
        "\\s?["
        "A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}"
        "\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}"
        "\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}"
        "\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}"
        "\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}"
        "\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}"
        "\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}"
        "\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}"
        "\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}"
        "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}"
        "\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}"
        "\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}"
        "\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}"
        "\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}"
        "\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"
        "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}"
        "\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}"
        "\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}"
        "\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}"
        "]+",
        R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)",
        "\\s+$",
        R"([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)",
        R"(\p{N}+)",
    };
  }
  if (pre == "deepseek-coder") {
    return std::vector<std::string>{"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)",
                                    R"([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)", R"(\p{N})"};
  }
  if (is({"deepseek-v3", "hunyuan-dense"})) {
    return std::vector<std::string>{
        R"(\p{N}{1,3})", R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)",
        R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
  }
  if (is({"poro-chat", "bloom", "gpt3-finnish"})) {
    return std::vector<std::string>{" ?[^(\\s|.,!?…。，、।۔،)]+"};
  }
  if (pre == "viking") {
    return std::vector<std::string>{" ?[^(\\s|.,!?…。，、।۔،)]+", R"(\p{N})"};
  }
  if (pre == "tekken") {
    return std::vector<std::string>{
        R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
  }
  if (is({"gpt-4o", "llama4", "minimax-m2"})) {
    return std::vector<std::string>{
        R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
  }
  if (pre == "seed-coder") {
    return std::vector<std::string>{
        R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)"};
  }
  if (pre.empty() || pre == "default") {
    // llama.cpp's fallback for BPE vocabularies that name no pre-tokenizer.
    return std::vector<std::string>{R"([\p{P}\$\+<=>\^~\|]+)", kGpt2NoTail, R"(\p{N}+)",
                                    "[0-9][0-9][0-9]"};
  }
  return NotFound("GGUF pre-tokenizer '" + pre + "' is not supported");
}

}  // namespace pagoda
