// ModelWeights: every weight of a Llama-family decoder, bound to the mapped
// file data (matrices stay in the mapping, in their stored type, except
// Q4_0, Q8_0 and float MatMul weights, which are repacked by eight into
// anonymous memory at load: model/weight_repack.h; the small norm and bias vectors are converted to
// float32 copies). Immutable after
// loading: shared read-only by every forward pass.
#pragma once

#include <memory>
#include <vector>

#include "kernels/ops.h"

namespace pagoda {

struct LayerWeights {
  WeightMatrix q_proj, k_proj, v_proj, o_proj;
  WeightMatrix gate_proj, up_proj, down_proj;
  std::vector<float> input_norm, post_attention_norm;
  std::vector<float> q_bias, k_bias, v_bias;  // Qwen2
  std::vector<float> q_norm, k_norm;          // Qwen3, [head_dim]
};

struct ModelWeights {
  WeightMatrix embed_tokens;
  WeightMatrix lm_head;  // == embed_tokens when tied
  std::vector<float> final_norm;
  std::vector<LayerWeights> layers;
  // Per-pair rotary frequency divisors from a GGUF `rope_freqs.weight`
  // (llama3 scaling as llama.cpp stores it); empty when absent.
  std::vector<float> rope_freq_divisors;
  // Keeps the mapped files and the repacked copies (and so every
  // WeightMatrix's data) alive.
  std::vector<std::shared_ptr<const void>> owners;
};

}  // namespace pagoda
