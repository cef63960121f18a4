// BatchInput: one forward pass's flattened inputs, built by the runner from a
// SchedulerOutput. Many requests' prefill chunks and decodes share one pass:
// token i of the batch belongs to the sequence whose query range
// [query_start_loc[s], query_start_loc[s+1]) holds it. Plain data.
#pragma once

#include <cstdint>
#include <vector>

namespace pagoda {

struct BatchInput {
  std::vector<int32_t> token_ids;        // [num_tokens]
  std::vector<int32_t> positions;        // [num_tokens]
  std::vector<int64_t> slot_mapping;     // [num_tokens] flat KV slot of each new token
  std::vector<int32_t> query_start_loc;  // [num_seqs + 1]
  std::vector<int32_t> seq_lens;         // [num_seqs] context length after this step
  std::vector<int32_t> block_tables;     // [num_seqs, max_blocks_per_seq], padded with 0
  int32_t max_blocks_per_seq = 0;
  // Which token rows produce logits (the last row of each sequence that
  // samples; later every prompt row for prompt_logprobs).
  std::vector<int32_t> logits_indices;

  int64_t num_tokens() const { return static_cast<int64_t>(token_ids.size()); }
  int32_t num_seqs() const { return static_cast<int32_t>(seq_lens.size()); }
};

}  // namespace pagoda
