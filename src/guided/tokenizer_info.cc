#include "guided/tokenizer_info.h"

#include <algorithm>
#include <numeric>

#include "tokenizer/tokenizer.h"

namespace pagoda {

StatusOr<std::shared_ptr<const TokenizerInfo>> TokenizerInfo::Create(const Tokenizer& tokenizer,
                                                                     const Options& options) {
  const int32_t n = tokenizer.vocab_size();
  if (n <= 0) return InvalidArgument("tokenizer has an empty vocabulary");
  // Raw bytes, as a token continuing a decode in progress: partial UTF-8
  // stays as it is (Decode would replace it with U+FFFD) and SentencePiece's
  // leading space is kept (Decode drops it from a text's first token).
  std::vector<std::string> bytes(n);
  std::vector<int32_t> special;
  const DecodeOptions raw{.skip_special_tokens = false};
  for (int32_t id = 0; id < n; ++id) {
    if (tokenizer.IsSpecial(id)) {
      special.push_back(id);
      continue;
    }
    DecodeState state{.started = true};
    tokenizer.AppendTokenBytes(id, raw, &state, &bytes[id]);
  }
  std::vector<int32_t> stops = options.stop_token_ids;
  if (tokenizer.eos_id() >= 0) stops.push_back(tokenizer.eos_id());
  for (int32_t id : stops) {
    if (id < 0 || id >= std::max(n, options.mask_vocab_size)) {
      return InvalidArgument("stop token id " + std::to_string(id) + " is outside the vocabulary");
    }
  }
  return FromTokenBytes(std::move(bytes), special, stops, options.mask_vocab_size);
}

StatusOr<std::shared_ptr<const TokenizerInfo>> TokenizerInfo::FromTokenBytes(
    std::vector<std::string> token_bytes, const std::vector<int32_t>& special_ids,
    const std::vector<int32_t>& stop_ids, int32_t mask_vocab_size) {
  const int32_t n = static_cast<int32_t>(token_bytes.size());
  const int32_t size = std::max(n, mask_vocab_size);
  if (size <= 0) return InvalidArgument("empty vocabulary");
  std::shared_ptr<TokenizerInfo> info(new TokenizerInfo());
  info->vocab_size_ = size;
  info->special_.assign(size, 0);
  info->stop_.assign(size, 0);
  for (int32_t id = n; id < size; ++id) info->special_[id] = 1;  // padding ids
  for (int32_t id : special_ids) {
    if (id < 0 || id >= size) return InvalidArgument("special token id " + std::to_string(id) + " out of range");
    info->special_[id] = 1;
  }
  for (int32_t id : stop_ids) {
    if (id < 0 || id >= size) return InvalidArgument("stop token id " + std::to_string(id) + " out of range");
    if (!info->stop_[id]) info->stop_ids_.push_back(id);
    info->stop_[id] = 1;
    info->special_[id] = 1;
  }
  info->offsets_.reserve(size + 1);
  info->offsets_.push_back(0);
  for (int32_t id = 0; id < size; ++id) {
    if (id < n && !info->special_[id]) info->bytes_ += token_bytes[id];
    info->offsets_.push_back(static_cast<uint32_t>(info->bytes_.size()));
  }
  info->Finish(size);
  return std::shared_ptr<const TokenizerInfo>(std::move(info));
}

void TokenizerInfo::Finish(int32_t size) {
  for (int32_t id = 0; id < size; ++id) {
    if (!special_[id] && offsets_[id + 1] > offsets_[id]) sorted_ids_.push_back(id);
  }
  std::sort(sorted_ids_.begin(), sorted_ids_.end(), [&](int32_t a, int32_t b) {
    const std::string_view x = TokenBytes(a), y = TokenBytes(b);
    return x != y ? x < y : a < b;
  });
  const int32_t m = num_sorted();
  sorted_lcp_.assign(m, 0);
  first_byte_end_.assign(m, m);
  for (int32_t i = 1; i < m; ++i) {
    const std::string_view a = TokenBytes(sorted_ids_[i - 1]), b = TokenBytes(sorted_ids_[i]);
    size_t k = 0;
    while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
    sorted_lcp_[i] = static_cast<int32_t>(k);
  }
  for (int32_t i = m - 1; i >= 0; --i) {
    first_byte_end_[i] = (i + 1 < m && sorted_lcp_[i + 1] > 0) ? first_byte_end_[i + 1] : i + 1;
    max_token_bytes_ = std::max<int32_t>(max_token_bytes_, static_cast<int32_t>(TokenBytes(sorted_ids_[i]).size()));
  }
}

}  // namespace pagoda
