// Random-weight models for tests, benchmarks and the built-in demo.
//
// WriteRandomGguf / WriteRandomHf write the same deterministic weights (a
// pure function of the spec and its seed) as a GGUF file or as a Hugging
// Face folder (config.json, generation_config.json, model.safetensors,
// tokenizer.json, tokenizer_config.json), so the two formats can be checked
// against each other. Values stored in F16/BF16 are rounded to that type
// everywhere (norms included), so both files hold the exact same numbers.
// GGUF llama files get llama.cpp's Q/K row permutation. The vocabulary is a
// synthetic byte-level BPE (BOS "<s>" = 0, EOS "</s>" = 1, the 256 bytes,
// then merges) written in each format's own tokenizer layout.
// Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"
#include "model/model_config.h"
#include "tensor/dtype.h"

namespace pagoda {

struct RandomModelSpec {
  Architecture arch = Architecture::kLlama;
  int64_t vocab_size = 512;
  int64_t hidden_size = 64;
  int64_t intermediate_size = 160;
  int64_t num_layers = 2;
  int64_t num_heads = 4;
  int64_t num_kv_heads = 2;
  int64_t head_dim = 0;  // 0: hidden_size / num_heads
  bool tie_word_embeddings = false;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  double rms_norm_eps = 1e-5;
  int64_t max_position_embeddings = 2048;
  DType dtype = DType::kF32;  // weight matrices (and embeddings)
  // The untied output matrix's type when it differs (GGUF only): llama.cpp's
  // Q4_0 files keep it in Q6_K, for instance.
  std::optional<DType> output_dtype;
  uint64_t seed = 1;
};

Status WriteRandomGguf(const RandomModelSpec& spec, const std::string& path);
// HF folders hold F32, F16 or BF16 weights only.
Status WriteRandomHf(const RandomModelSpec& spec, const std::string& dir);

}  // namespace pagoda
