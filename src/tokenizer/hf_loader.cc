// Tokenizer::FromHf: builds a PipelineTokenizer from a Hugging Face
// tokenizer.json (model type BPE: byte-level as GPT-2/Llama-3/Qwen, or
// SentencePiece-style with byte fallback as Llama-2/Mistral; or WordPiece
// with BertNormalizer/BertPreTokenizer as BERT-family embedders) and the optional
// tokenizer_config.json beside it. Each JSON section maps onto one part:
// normalizer -> Normalizer, pre_tokenizer -> PreTokenizer, model -> Vocab +
// BpeModel, added_tokens -> SpecialTokenMatcher, post_processor -> the ids
// around an encoding, decoder -> DecodeStyle. Anything we do not implement
// is refused by name rather than silently tokenized differently.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "tokenizer/json_file.h"
#include "tokenizer/pipeline_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

using nlohmann::json;

StatusOr<json> ReadJson(const std::string& path) { return ReadJsonFile(path); }

std::string Str(const json& j, const char* key, const std::string& fallback = "") {
  auto it = j.find(key);
  return (it != j.end() && it->is_string()) ? it->get<std::string>() : fallback;
}

bool Bool(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  return (it != j.end() && it->is_boolean()) ? it->get<bool>() : fallback;
}

// A token named in tokenizer_config.json: a string or {"content": ...}.
std::string ConfigToken(const json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return Str(*it, "content");
  return "";
}

StatusOr<SplitBehavior> ParseBehavior(const std::string& b) {
  if (b == "Isolated" || b.empty()) return SplitBehavior::kIsolated;
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  return InvalidArgument("unknown split behavior '" + b + "'");
}

// HF patterns are {"String": literal} or {"Regex": pattern}.
StatusOr<std::string> ParsePattern(const json& p) {
  if (p.is_object()) {
    if (p.contains("Regex") && p["Regex"].is_string()) return p["Regex"].get<std::string>();
    if (p.contains("String") && p["String"].is_string()) {
      return Regex::Escape(p["String"].get<std::string>());
    }
  }
  return InvalidArgument("pattern is neither {\"String\"} nor {\"Regex\"}");
}

Status AddNormalizer(const json& n, Normalizer* out) {
  if (n.is_null()) return Status::Ok();
  const std::string type = Str(n, "type");
  if (type == "Sequence") {
    for (const json& s : n.value("normalizers", json::array())) RETURN_IF_ERROR(AddNormalizer(s, out));
  } else if (type == "NFC") {
    out->AddNfc();
  } else if (type == "Prepend") {
    out->AddPrepend(Str(n, "prepend"));
  } else if (type == "Replace") {
    const json& p = n.value("pattern", json());
    if (!p.is_object() || !p.contains("String")) {
      return Unimplemented("normalizer Replace with a regex pattern is not supported");
    }
    out->AddReplace(p["String"].get<std::string>(), Str(n, "content"));
  } else if (type == "Strip") {
    out->AddStrip(Bool(n, "strip_left", true), Bool(n, "strip_right", true));
  } else if (type == "BertNormalizer") {
    const bool lowercase = Bool(n, "lowercase", true);
    // strip_accents: null means "as lowercase".
    out->AddBert(Bool(n, "clean_text", true), Bool(n, "handle_chinese_chars", true),
                 Bool(n, "strip_accents", lowercase), lowercase);
  } else if (type == "Lowercase") {
    out->AddBert(false, false, false, true);
  } else if (type == "StripAccents") {
    out->AddBert(false, false, true, false);
  } else {
    return Unimplemented("normalizer '" + type + "' is not supported");
  }
  return Status::Ok();
}

Status AddPreTokenizer(const json& p, PreTokenizer* out, bool* byte_level) {
  if (p.is_null()) return Status::Ok();
  const std::string type = Str(p, "type");
  if (type == "Sequence") {
    for (const json& s : p.value("pretokenizers", json::array())) {
      RETURN_IF_ERROR(AddPreTokenizer(s, out, byte_level));
    }
    return Status::Ok();
  }
  if (type == "ByteLevel") {
    *byte_level = true;
    return out->AddByteLevel(Bool(p, "add_prefix_space", false), Bool(p, "use_regex", true));
  }
  if (type == "Split") {
    ASSIGN_OR_RETURN(std::string pattern, ParsePattern(p.value("pattern", json())));
    ASSIGN_OR_RETURN(SplitBehavior b, ParseBehavior(Str(p, "behavior")));
    return out->AddRegexSplit(pattern, b, Bool(p, "invert", false));
  }
  if (type == "Metaspace") {
    std::string scheme = Str(p, "prepend_scheme");
    if (scheme.empty()) scheme = Bool(p, "add_prefix_space", true) ? "always" : "never";
    return out->AddMetaspace(Str(p, "replacement", "\xE2\x96\x81"), scheme, Bool(p, "split", true));
  }
  if (type == "Digits") {
    return out->AddRegexSplit(Bool(p, "individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)",
                              SplitBehavior::kIsolated);
  }
  if (type == "Punctuation") {
    ASSIGN_OR_RETURN(SplitBehavior b, ParseBehavior(Str(p, "behavior")));
    return out->AddRegexSplit(kBertPunctuation, b);
  }
  if (type == "BertPreTokenizer") {
    RETURN_IF_ERROR(out->AddRegexSplit(R"(\s+)", SplitBehavior::kRemoved));
    return out->AddRegexSplit(kBertPunctuation, SplitBehavior::kIsolated);
  }
  if (type == "Whitespace") {
    return out->AddRegexSplit(R"(\w+|[^\w\s]+)", SplitBehavior::kRemoved, /*invert=*/true);
  }
  if (type == "WhitespaceSplit") return out->AddRegexSplit(R"(\s+)", SplitBehavior::kRemoved);
  return Unimplemented("pre_tokenizer '" + type + "' is not supported");
}

// Ids of a TemplateProcessing "single" template before and after $A.
Status ParseTemplate(const json& pp, std::vector<int32_t>* prefix, std::vector<int32_t>* suffix) {
  const json& special = pp.value("special_tokens", json::object());
  bool after = false;
  for (const json& piece : pp.value("single", json::array())) {
    if (piece.contains("Sequence")) {
      after = true;
      continue;
    }
    if (!piece.contains("SpecialToken")) continue;
    const std::string name = Str(piece["SpecialToken"], "id");
    auto it = special.find(name);
    if (it == special.end()) return InvalidArgument("template names unknown special token " + name);
    for (const json& id : it->value("ids", json::array())) {
      (after ? suffix : prefix)->push_back(id.get<int32_t>());
    }
  }
  return Status::Ok();
}

Status ParsePostProcessor(const json& pp, const Vocab& vocab, std::vector<int32_t>* prefix,
                          std::vector<int32_t>* suffix) {
  if (pp.is_null()) return Status::Ok();
  const std::string type = Str(pp, "type");
  if (type == "TemplateProcessing") return ParseTemplate(pp, prefix, suffix);
  if (type == "Sequence") {
    for (const json& s : pp.value("processors", json::array())) {
      RETURN_IF_ERROR(ParsePostProcessor(s, vocab, prefix, suffix));
    }
    return Status::Ok();
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    // "cls": [piece, id], "sep": [piece, id]
    const json& cls = pp.value("cls", json::array());
    const json& sep = pp.value("sep", json::array());
    if (cls.size() == 2) prefix->push_back(cls[1].get<int32_t>());
    if (sep.size() == 2) suffix->push_back(sep[1].get<int32_t>());
    return Status::Ok();
  }
  return Status::Ok();  // ByteLevel (offsets only) and others add no ids
}

void ParseDecoder(const json& d, TokenizerParts* parts) {
  if (d.is_null()) return;
  const std::string type = Str(d, "type");
  if (type == "ByteLevel") {
    parts->decode_style = DecodeStyle::kByteLevel;
  } else if (type == "Sequence") {
    for (const json& s : d.value("decoders", json::array())) ParseDecoder(s, parts);
  } else if (type == "Metaspace") {
    parts->decode_style = DecodeStyle::kSentencePiece;
    std::string scheme = Str(d, "prepend_scheme");
    if (scheme.empty()) scheme = Bool(d, "add_prefix_space", true) ? "always" : "never";
    parts->strip_leading_space = scheme != "never";
  } else if (type == "ByteFallback" || type == "Replace" || type == "Fuse") {
    parts->decode_style = DecodeStyle::kSentencePiece;
  } else if (type == "Strip") {
    parts->strip_leading_space = d.value("start", 0) > 0;
  } else if (type == "WordPiece") {
    parts->decode_style = DecodeStyle::kWordPiece;
    parts->wordpiece_prefix = Str(d, "prefix", "##");
    parts->wordpiece_cleanup = Bool(d, "cleanup", true);
  }
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromHf(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool is_dir = fs::is_directory(path, ec);
  const std::string file = is_dir ? (fs::path(path) / "tokenizer.json").string() : path;
  const fs::path dir = is_dir ? fs::path(path) : fs::path(path).parent_path();
  ASSIGN_OR_RETURN(json j, ReadJson(file));
  auto fail = [&](const Status& s) { return s.WithPrefix(file); };

  const json& model = j.value("model", json::object());
  const std::string type = Str(model, "type", model.contains("merges") ? "BPE" : "");
  if (type != "BPE" && type != "WordPiece") {
    return fail(Unimplemented("model type '" + type + "' is not supported (only BPE and WordPiece)"));
  }
  if (type == "BPE" &&
      (!Str(model, "continuing_subword_prefix").empty() || !Str(model, "end_of_word_suffix").empty())) {
    return fail(Unimplemented("BPE with continuing_subword_prefix/end_of_word_suffix"));
  }

  TokenizerParts parts;
  const json& vocab = model.value("vocab", json::object());
  if (!vocab.is_object() || vocab.empty()) return fail(InvalidArgument("model.vocab is missing"));
  int64_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) return fail(InvalidArgument("vocab id of '" + it.key() + "'"));
    max_id = std::max<int64_t>(max_id, it.value().get<int64_t>());
  }
  const json& added = j.value("added_tokens", json::array());
  for (const json& a : added) max_id = std::max<int64_t>(max_id, a.value("id", int64_t{-1}));
  if (max_id < 0 || max_id > (1 << 24)) return fail(InvalidArgument("implausible vocabulary size"));
  parts.vocab.Resize(static_cast<size_t>(max_id + 1));
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const auto id = it.value().get<int32_t>();
    if (id < 0) return fail(InvalidArgument("negative vocab id of '" + it.key() + "'"));
    parts.vocab.Set(id, it.key(), TokenType::kNormal);
  }

  const bool byte_fallback = Bool(model, "byte_fallback", false);
  if (byte_fallback) {
    parts.vocab.IndexByteTokens();
    for (int b = 0; b < 256; ++b) {
      const int32_t id = parts.vocab.ByteToken(static_cast<uint8_t>(b));
      if (id >= 0) parts.vocab.SetType(id, TokenType::kByte);
    }
  }

  for (const json& a : added) {
    const auto id = a.value("id", int32_t{-1});
    const std::string content = Str(a, "content");
    if (id < 0 || content.empty()) return fail(InvalidArgument("added token without id or content"));
    const bool special = Bool(a, "special", false);
    const TokenType t = special ? TokenType::kControl : TokenType::kUserDefined;
    if (parts.vocab.Piece(id) != content) {
      parts.vocab.Set(id, content, t);
    } else {
      parts.vocab.SetType(id, t);
    }
    parts.specials.Add(content, id, special, Bool(a, "lstrip", false), Bool(a, "rstrip", false));
  }

  if (type == "WordPiece") {
    WordPieceOptions wp;
    wp.continuing_prefix = Str(model, "continuing_subword_prefix", "##");
    wp.max_input_chars_per_word = model.value("max_input_chars_per_word", size_t{100});
    const std::string unk_token = Str(model, "unk_token", "[UNK]");
    wp.unk_id = parts.vocab.Find(unk_token);
    parts.wordpiece = std::make_unique<WordPieceModel>(parts.vocab, wp);
    parts.wordpiece_prefix = wp.continuing_prefix;
  }
  BpeOptions opts;
  opts.ignore_merges = Bool(model, "ignore_merges", false);
  opts.byte_fallback = byte_fallback;
  opts.fuse_unk = Bool(model, "fuse_unk", false);
  const std::string unk = Str(model, "unk_token");
  if (!unk.empty()) opts.unk_id = parts.vocab.Find(unk);
  if (type == "BPE") parts.bpe = std::make_unique<BpeModel>(opts);
  for (const json& m : type == "BPE" ? model.value("merges", json::array()) : json::array()) {
    if (m.is_string()) {
      parts.bpe->AddMergeLine(parts.vocab, m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      parts.bpe->AddMerge(parts.vocab, m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      return fail(InvalidArgument("a merge is neither \"a b\" nor [a, b]"));
    }
  }

  if (Status s = AddNormalizer(j.value("normalizer", json()), &parts.normalizer); !s.ok()) return fail(s);
  if (Status s = AddPreTokenizer(j.value("pre_tokenizer", json()), &parts.pre_tokenizer,
                                 &parts.byte_level);
      !s.ok()) {
    return fail(s);
  }
  parts.decode_style = parts.byte_level ? DecodeStyle::kByteLevel
                       : parts.wordpiece ? DecodeStyle::kWordPiece
                                         : DecodeStyle::kSentencePiece;
  ParseDecoder(j.value("decoder", json()), &parts);
  if (Status s = ParsePostProcessor(j.value("post_processor", json()), parts.vocab,
                                    &parts.prefix_ids, &parts.suffix_ids);
      !s.ok()) {
    return fail(s);
  }

  // tokenizer_config.json names BOS/EOS and may switch adding them on or off
  // (transformers rebuilds the post-processor from these flags).
  json cfg = json::object();
  const fs::path cfg_path = dir / "tokenizer_config.json";
  if (fs::exists(cfg_path, ec)) {
    ASSIGN_OR_RETURN(cfg, ReadJson(cfg_path.string()));
  }
  const std::string bos = ConfigToken(cfg, "bos_token");
  const std::string eos = ConfigToken(cfg, "eos_token");
  if (!bos.empty()) parts.bos_id = parts.vocab.Find(bos);
  if (!eos.empty()) parts.eos_id = parts.vocab.Find(eos);
  if (parts.bos_id < 0 && parts.prefix_ids.size() == 1) parts.bos_id = parts.prefix_ids[0];
  if (parts.eos_id < 0 && parts.suffix_ids.size() == 1) parts.eos_id = parts.suffix_ids[0];
  auto apply_flag = [&](const char* key, int32_t id, std::vector<int32_t>* ids, bool front) {
    auto it = cfg.find(key);
    if (it == cfg.end() || !it->is_boolean() || id < 0) return;
    std::erase(*ids, id);
    if (it->get<bool>()) ids->insert(front ? ids->begin() : ids->end(), id);
  };
  apply_flag("add_bos_token", parts.bos_id, &parts.prefix_ids, true);
  apply_flag("add_eos_token", parts.eos_id, &parts.suffix_ids, false);

  return std::unique_ptr<Tokenizer>(new PipelineTokenizer(std::move(parts)));
}

}  // namespace pagoda
