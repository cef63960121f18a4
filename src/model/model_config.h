// ModelConfig: the shape and hyper-parameters of a Llama-family decoder,
// read from GGUF metadata or from a Hugging Face config.json. Plain data,
// validated once at load (Validate), then shared read-only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"

namespace pagoda {

class GgufFile;

enum class Architecture { kLlama, kQwen2, kQwen3 };
const char* ArchitectureName(Architecture a);

struct RopeScaling {
  enum class Type { kNone, kLinear, kLlama3 };
  Type type = Type::kNone;
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  Architecture arch = Architecture::kLlama;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int64_t max_position_embeddings = 2048;
  bool tie_word_embeddings = false;
  bool attention_bias = false;   // q/k/v biases (Qwen2)
  bool qk_norm = false;          // per-head RMSNorm of q and k (Qwen3)
  // GGUF's llama files store Q/K rows permuted for the interleaved-pair
  // rotation; Hugging Face checkpoints and Qwen GGUFs use the half-split one.
  bool rope_interleaved = false;

  int64_t q_size() const { return num_heads * head_dim; }
  int64_t kv_size() const { return num_kv_heads * head_dim; }
  // Per-pair rotary frequencies with the configured scaling applied.
  std::vector<float> RopeInvFreq() const;
  // Checks sizes are positive and consistent (heads divide, head_dim even).
  Status Validate() const;
};

// From GGUF metadata (`general.architecture` and `<arch>.*` keys). Errors
// name the file and the missing or unsupported key.
StatusOr<ModelConfig> ModelConfigFromGguf(const GgufFile& gguf);
// From a parsed config.json; `where` names the file in error messages.
StatusOr<ModelConfig> ModelConfigFromHf(const nlohmann::json& config, const std::string& where);

}  // namespace pagoda
