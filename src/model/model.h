// Model: a loaded Llama-family decoder (llama, qwen2, qwen3) and its forward
// pass over a batch of prefill chunks and decodes against the paged KV cache.
//
// Load() accepts a GGUF file or a Hugging Face model folder; weights stay
// memory-mapped. Forward() is const and keeps no state between calls: all
// per-pass state is in the BatchInput, the KvCache and the Workspace, so
// one Model may serve several runners (each with its own cache and workspace).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "base/thread_pool.h"
#include "model/batch_input.h"
#include "model/kv_cache.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace pagoda {

class GgufFile;
class HfCheckpoint;

// Scratch buffers of one forward pass, grown on demand and reused.
struct Workspace {
  std::vector<float> hidden, normed, q, k, v, attn, gate, up, mlp, last;
};

enum class ModelFormat { kGguf, kHuggingFace };

class Model {
 public:
  static StatusOr<std::unique_ptr<Model>> Load(const std::string& path);
  // Binds an already-opened file (the tokenizer reads the same one).
  static StatusOr<std::unique_ptr<Model>> FromGguf(std::shared_ptr<GgufFile> gguf);
  static StatusOr<std::unique_ptr<Model>> FromHf(std::shared_ptr<HfCheckpoint> ckpt);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  ModelFormat format() const { return format_; }
  const std::string& path() const { return path_; }
  // generation_config.json of an HF folder (empty object otherwise).
  const nlohmann::json& generation_config() const { return generation_config_; }
  // The GGUF file when loaded from one (tokenizer metadata lives there).
  const std::shared_ptr<GgufFile>& gguf() const { return gguf_; }

  // Runs every token of `in` through the decoder, writing K/V at
  // in.slot_mapping, and fills logits[in.logits_indices.size(), vocab_size]
  // for the rows named by in.logits_indices.
  void Forward(const BatchInput& in, KvCache& cache, Workspace& ws, ThreadPool* pool,
               float* logits) const;

 private:
  Model() = default;
  void Layer(int64_t l, const BatchInput& in, const AttentionMetadata& meta, KvCache& cache,
             Workspace& ws, ThreadPool* pool) const;

  ModelConfig config_;
  ModelWeights weights_;
  std::vector<float> inv_freq_;
  ModelFormat format_ = ModelFormat::kGguf;
  std::string path_;
  nlohmann::json generation_config_ = nlohmann::json::object();
  std::shared_ptr<GgufFile> gguf_;
};

}  // namespace pagoda
