#include "tokenizer/pipeline_tokenizer.h"

#include <algorithm>
#include <utility>

#include "tokenizer/byte_level.h"

namespace pagoda {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 "▁"

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

PipelineTokenizer::PipelineTokenizer(TokenizerParts parts) : p_(std::move(parts)) {
  PAGODA_CHECK((p_.spm != nullptr) + (p_.bpe != nullptr) + (p_.wordpiece != nullptr) == 1) << "exactly one model";
}

bool PipelineTokenizer::add_bos() const {
  return p_.bos_id >= 0 &&
         std::find(p_.prefix_ids.begin(), p_.prefix_ids.end(), p_.bos_id) != p_.prefix_ids.end();
}

bool PipelineTokenizer::IsSpecial(int32_t id) const {
  if (!p_.vocab.Valid(id)) return false;
  const TokenType t = p_.vocab.Type(id);
  return t == TokenType::kControl || t == TokenType::kUnknown;
}

std::string PipelineTokenizer::IdToPiece(int32_t id) const {
  return p_.vocab.Valid(id) ? p_.vocab.Piece(id) : std::string();
}

void PipelineTokenizer::EncodeText(std::string_view text, bool first_fragment,
                                   std::vector<int32_t>* out) const {
  std::string normalized;
  if (!p_.normalizer.empty()) {
    normalized = p_.normalizer.Apply(text);
    text = normalized;
  }
  if (p_.spm) {
    p_.spm->Encode(p_.vocab, text, out);
    return;
  }
  std::vector<std::string> words;
  if (p_.pre_tokenizer.empty()) {
    words.emplace_back(text);
  } else {
    p_.pre_tokenizer.Split(text, first_fragment, &words);
  }
  if (p_.wordpiece) {
    for (const std::string& word : words) p_.wordpiece->EncodeWord(p_.vocab, word, out);
    return;
  }
  std::string mapped;
  for (const std::string& word : words) {
    if (p_.byte_level) {
      mapped.clear();
      ByteLevelEncode(word, &mapped);
      p_.bpe->EncodeWord(p_.vocab, mapped, out);
    } else {
      p_.bpe->EncodeWord(p_.vocab, word, out);
    }
  }
}

std::vector<int32_t> PipelineTokenizer::Encode(std::string_view text, bool add_special,
                                               bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special) out = p_.prefix_ids;
  if (p_.specials.empty()) {
    if (!text.empty()) EncodeText(text, true, &out);
  } else {
    for (const TextFragment& f : p_.specials.Split(text, parse_special)) {
      if (f.id >= 0) {
        out.push_back(f.id);
      } else {
        EncodeText(f.text, f.offset == 0, &out);
      }
    }
  }
  if (add_special) out.insert(out.end(), p_.suffix_ids.begin(), p_.suffix_ids.end());
  return out;
}

// Hugging Face's WordPiece decoder, one token at a time: a word start gets
// a space before it (except the first token), a continuation loses its
// prefix; cleanup then removes the space before punctuation and
// contractions, which is local to the token because it only ever looks at
// the token's own leading space.
void PipelineTokenizer::AppendWordPiece(const std::string& piece, bool plain, bool started,
                                        std::string* out) const {
  const std::string& prefix = p_.wordpiece_prefix;
  if (plain && !prefix.empty() && piece.starts_with(prefix)) {
    out->append(piece, prefix.size());
    return;
  }
  if (!started) {
    *out += piece;
    return;
  }
  if (p_.wordpiece_cleanup) {
    static const char* kGlued[] = {".", "?", "!", ",", "n't", "'m", "'s", "'ve", "'re"};
    for (const char* g : kGlued) {
      if (piece.starts_with(g)) {
        *out += piece;
        return;
      }
    }
  }
  out->push_back(' ');
  *out += piece;
}

void PipelineTokenizer::AppendTokenBytes(int32_t id, const DecodeOptions& options,
                                         DecodeState* state, std::string* out) const {
  if (!p_.vocab.Valid(id)) return;
  if (options.skip_special_tokens && IsSpecial(id)) return;
  const TokenType type = p_.vocab.Type(id);
  const std::string& piece = p_.vocab.Piece(id);
  const bool plain = type == TokenType::kNormal || type == TokenType::kUnused ||
                     type == TokenType::kUndefined;
  const bool added = !plain && type != TokenType::kByte;
  if (options.spaces_between_special_tokens && state->started && (added || state->prev_added)) {
    out->push_back(' ');
  }
  const size_t start = out->size();
  if (p_.decode_style == DecodeStyle::kByteLevel) {
    if (plain) {
      ByteLevelDecode(piece, out);
    } else {
      *out += piece;  // added tokens are stored as their own text
    }
  } else if (p_.decode_style == DecodeStyle::kWordPiece) {
    AppendWordPiece(piece, plain, state->started, out);
  } else if (type == TokenType::kByte && piece.size() == 6 && HexDigit(piece[3]) >= 0 &&
             HexDigit(piece[4]) >= 0) {
    out->push_back(static_cast<char>(HexDigit(piece[3]) * 16 + HexDigit(piece[4])));
  } else if (plain) {
    for (size_t pos = 0; pos < piece.size();) {
      if (piece.compare(pos, kSpaceMark.size(), kSpaceMark) == 0) {
        out->push_back(' ');
        pos += kSpaceMark.size();
      } else {
        out->push_back(piece[pos++]);
      }
    }
  } else {
    *out += piece;
  }
  if (!state->started && p_.strip_leading_space && out->size() > start && (*out)[start] == ' ') {
    out->erase(start, 1);
  }
  state->started = true;
  state->prev_added = added;
}

}  // namespace pagoda
