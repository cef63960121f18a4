// Tokenizer::FromGguf: builds a PipelineTokenizer from a GGUF file's
// tokenizer.ggml.* metadata, with llama.cpp's defaults for absent keys.
//   model "llama": SentencePiece BPE by score, "▁" dummy prefix, byte fallback.
//   model "gpt2":  byte-level BPE by merge rank, regexes from tokenizer.ggml.pre.

#include <string>
#include <utility>

#include "formats/gguf.h"
#include "tokenizer/pipeline_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

constexpr char kSpaceMark[] = "\xE2\x96\x81";  // U+2581 "▁"

// An optional token id key; ids outside the vocabulary (such as the
// 0xFFFFFFFF some converters write for "none") count as absent.
int32_t TokenIdKey(const GgufFile& gguf, const std::string& key, int32_t fallback,
                   int32_t vocab_size) {
  const GgufValue* v = gguf.Find(key);
  if (v == nullptr) return fallback;
  std::optional<int64_t> id = gguf.GetInt(key);
  if (!id) return -1;
  return (*id >= 0 && *id < vocab_size) ? static_cast<int32_t>(*id) : -1;
}

bool BoolKey(const GgufFile& gguf, const std::string& key, bool fallback) {
  std::optional<bool> b = gguf.GetBool(key);
  return b ? *b : fallback;
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromGguf(const GgufFile& gguf) {
  const std::string where = gguf.path() + ": ";
  std::optional<std::string> model = gguf.GetString("tokenizer.ggml.model");
  if (!model) return NotFound(where + "no tokenizer.ggml.model key (the file has no vocabulary)");
  const std::vector<std::string>* tokens = gguf.GetStringArray("tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->empty()) {
    return NotFound(where + "no tokenizer.ggml.tokens string array");
  }
  const auto n = static_cast<int32_t>(tokens->size());

  const GgufValue* scores = gguf.Find("tokenizer.ggml.scores");
  if (scores != nullptr && (scores->type != GgufType::kArray || scores->floats.size() != tokens->size())) {
    return InvalidArgument(where + "tokenizer.ggml.scores is not a float array of " +
                           std::to_string(n) + " entries");
  }
  const GgufValue* types = gguf.Find("tokenizer.ggml.token_type");
  if (types != nullptr && (types->type != GgufType::kArray || types->ints.size() != tokens->size())) {
    return InvalidArgument(where + "tokenizer.ggml.token_type is not an integer array of " +
                           std::to_string(n) + " entries");
  }

  TokenizerParts parts;
  for (int32_t i = 0; i < n; ++i) {
    TokenType type = TokenType::kNormal;
    if (types != nullptr) {
      const int64_t t = types->ints[i];
      type = (t >= 0 && t <= 6) ? static_cast<TokenType>(t) : TokenType::kUndefined;
    }
    parts.vocab.Add((*tokens)[i], type, scores ? static_cast<float>(scores->floats[i]) : 0.0f);
  }
  parts.vocab.IndexByteTokens();

  bool add_bos = false;
  bool add_eos = false;
  int32_t unk = -1;
  if (*model == "llama") {
    parts.bos_id = TokenIdKey(gguf, "tokenizer.ggml.bos_token_id", 1, n);
    parts.eos_id = TokenIdKey(gguf, "tokenizer.ggml.eos_token_id", 2, n);
    unk = TokenIdKey(gguf, "tokenizer.ggml.unknown_token_id", 0, n);
    add_bos = true;
    // SentencePiece escapes spaces and (by default) adds a dummy prefix
    // space to every text fragment; decoding removes it again.
    const bool space_prefix = BoolKey(gguf, "tokenizer.ggml.add_space_prefix", true);
    if (space_prefix) parts.normalizer.AddPrepend(" ");
    parts.normalizer.AddReplace(" ", kSpaceMark);
    parts.spm = std::make_unique<SpmModel>(parts.vocab, unk);
    parts.decode_style = DecodeStyle::kSentencePiece;
    parts.strip_leading_space = space_prefix;
  } else if (*model == "gpt2") {
    parts.bos_id = TokenIdKey(gguf, "tokenizer.ggml.bos_token_id", -1, n);
    parts.eos_id = TokenIdKey(gguf, "tokenizer.ggml.eos_token_id", -1, n);
    unk = TokenIdKey(gguf, "tokenizer.ggml.unknown_token_id", -1, n);
    const std::string pre = gguf.GetString("tokenizer.ggml.pre").value_or("default");
    auto regexes = GgufPreRegexes(pre);
    if (!regexes.ok()) return regexes.status().WithPrefix(gguf.path());
    for (const std::string& re : *regexes) {
      RETURN_IF_ERROR(parts.pre_tokenizer.AddRegexSplit(re, SplitBehavior::kIsolated)
                          .WithPrefix(gguf.path()));
    }
    // As llama.cpp: these pre-tokenizers come with whole-word lookup first
    // and a BOS by default.
    const bool llama3_like = pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe" ||
                             pre == "falcon3" || pre == "falcon-h1" || pre == "pixtral" ||
                             pre == "midm-2.0" || pre == "lfm2" || pre == "tekken";
    add_bos = llama3_like;
    BpeOptions opts;
    opts.ignore_merges = llama3_like;
    parts.bpe = std::make_unique<BpeModel>(opts);
    const std::vector<std::string>* merges = gguf.GetStringArray("tokenizer.ggml.merges");
    if (merges == nullptr) return NotFound(where + "gpt2 vocabulary without tokenizer.ggml.merges");
    for (const std::string& m : *merges) parts.bpe->AddMergeLine(parts.vocab, m);
    parts.byte_level = true;
    parts.decode_style = DecodeStyle::kByteLevel;
  } else if (*model == "bert") {
    // WordPiece as llama.cpp converts it: word-start pieces carry "▁",
    // continuations are bare; the text is BERT-normalised (cleaned,
    // accents stripped, lowercased) and split at whitespace and
    // punctuation; encodings are [CLS] ... [SEP].
    parts.bos_id = TokenIdKey(gguf, "tokenizer.ggml.cls_token_id", 101, n);
    parts.eos_id = TokenIdKey(gguf, "tokenizer.ggml.seperator_token_id", 102, n);
    unk = TokenIdKey(gguf, "tokenizer.ggml.unknown_token_id", 100, n);
    parts.normalizer.AddBert(true, true, true, true);
    RETURN_IF_ERROR(parts.pre_tokenizer.AddRegexSplit(R"(\s+)", SplitBehavior::kRemoved).WithPrefix(gguf.path()));
    RETURN_IF_ERROR(parts.pre_tokenizer.AddRegexSplit(kBertPunctuation, SplitBehavior::kIsolated)
                        .WithPrefix(gguf.path()));
    parts.wordpiece = std::make_unique<WordPieceModel>(
        parts.vocab, WordPieceOptions{.word_prefix = kSpaceMark, .continuing_prefix = "", .unk_id = unk,
                                      .max_input_chars_per_word = 0});
    parts.decode_style = DecodeStyle::kSentencePiece;
    parts.strip_leading_space = true;
    add_bos = true;
    add_eos = true;
  } else {
    return Unimplemented(where + "tokenizer model '" + *model +
                         "' is not supported (only 'llama', 'gpt2' and 'bert')");
  }

  add_bos = BoolKey(gguf, "tokenizer.ggml.add_bos_token", add_bos);
  add_eos = BoolKey(gguf, "tokenizer.ggml.add_eos_token", add_eos);
  if (add_bos && parts.bos_id >= 0) parts.prefix_ids.push_back(parts.bos_id);
  if (add_eos && parts.eos_id >= 0) parts.suffix_ids.push_back(parts.eos_id);

  // Control and user-defined pieces are matched in raw text before the
  // model sees it (control ones only with parse_special), longest first.
  for (int32_t i = 0; i < n; ++i) {
    const TokenType t = parts.vocab.Type(i);
    if (t == TokenType::kControl || t == TokenType::kUnknown || t == TokenType::kUserDefined) {
      parts.specials.Add(parts.vocab.Piece(i), i, /*special=*/t != TokenType::kUserDefined);
    }
  }
  return std::unique_ptr<Tokenizer>(new PipelineTokenizer(std::move(parts)));
}

}  // namespace pagoda
