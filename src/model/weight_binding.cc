#include "model/weight_binding.h"

#include <functional>
#include <optional>
#include <string>

#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "model/weight_repack.h"

namespace pagoda {

namespace {

// A tensor seen through either format, with its shape row-major
// (slowest-varying first, as PyTorch writes it).
struct TensorRef {
  std::string name;
  DType dtype;
  std::vector<uint64_t> shape;
  const uint8_t* data;
  size_t nbytes;
};

using Finder = std::function<std::optional<TensorRef>(int layer, const char* gguf_name,
                                                      const char* hf_name)>;

bool MatrixTypeSupported(DType t) {
  switch (t) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kQ8_0:
    case DType::kQ4_0: case DType::kQ4_K: case DType::kQ5_K: case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}

std::string ShapeString(const std::vector<uint64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

class Binder {
 public:
  Binder(std::string where, bool hf_names, Finder find)
      : where_(std::move(where)), hf_names_(hf_names), find_(std::move(find)) {}

  StatusOr<WeightMatrix> Matrix(int layer, const char* g, const char* h, int64_t rows,
                                int64_t cols, bool required = true) {
    auto t = find_(layer, g, h);
    if (!t) return Missing(layer, g, h);
    if (t->shape.size() != 2 || t->shape[0] != static_cast<uint64_t>(rows) ||
        t->shape[1] != static_cast<uint64_t>(cols)) {
      return InvalidArgument(where_ + ": tensor '" + t->name + "' has shape " +
                             ShapeString(t->shape) + ", expected [" + std::to_string(rows) +
                             ", " + std::to_string(cols) + "]");
    }
    if (!MatrixTypeSupported(t->dtype)) {
      return Unimplemented(where_ + ": tensor '" + t->name + "' has unsupported type " +
                           std::string(DTypeName(t->dtype)));
    }
    WeightMatrix w;
    w.dtype = t->dtype;
    w.rows = rows;
    w.cols = cols;
    w.data = t->data;
    w.row_bytes = RowBytes(t->dtype, static_cast<uint64_t>(cols)).value_or(0);
    if (w.row_bytes == 0 || w.row_bytes * static_cast<size_t>(rows) != t->nbytes) {
      return InvalidArgument(where_ + ": tensor '" + t->name + "' size does not match its shape");
    }
    return w;
  }

  StatusOr<std::vector<float>> Vector(int layer, const char* g, const char* h, int64_t n) {
    auto t = find_(layer, g, h);
    if (!t) return Missing(layer, g, h);
    uint64_t count = 1;
    for (uint64_t d : t->shape) count *= d;
    if (count != static_cast<uint64_t>(n)) {
      return InvalidArgument(where_ + ": tensor '" + t->name + "' has shape " +
                             ShapeString(t->shape) + ", expected " + std::to_string(n) +
                             " elements");
    }
    if (t->dtype != DType::kF32 && t->dtype != DType::kF16 && t->dtype != DType::kBF16) {
      return Unimplemented(where_ + ": tensor '" + t->name + "' has unsupported type " +
                           std::string(DTypeName(t->dtype)) + " (vectors must be f32/f16/bf16)");
    }
    std::vector<float> out(static_cast<size_t>(n));
    DequantizeRow(t->dtype, t->data, out.data(), n);
    return out;
  }

  bool Has(int layer, const char* g, const char* h) { return find_(layer, g, h).has_value(); }

 private:
  Status Missing(int layer, const char* g, const char* h) {
    std::string name = hf_names_ ? h : g;
    if (layer >= 0) name = (hf_names_ ? "model.layers." : "blk.") + std::to_string(layer) + "." + name;
    return InvalidArgument(where_ + ": missing tensor '" + name + "'");
  }
  std::string where_;
  bool hf_names_;
  Finder find_;
};

StatusOr<ModelWeights> Bind(const ModelConfig& c, Binder& b) {
  ModelWeights w;
  const int64_t H = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  ASSIGN_OR_RETURN(w.embed_tokens, b.Matrix(-1, "token_embd.weight", "model.embed_tokens.weight", V, H));
  ASSIGN_OR_RETURN(w.final_norm, b.Vector(-1, "output_norm.weight", "model.norm.weight", H));
  if (c.tie_word_embeddings && !b.Has(-1, "output.weight", "lm_head.weight")) {
    w.lm_head = w.embed_tokens;
  } else {
    ASSIGN_OR_RETURN(w.lm_head, b.Matrix(-1, "output.weight", "lm_head.weight", V, H));
  }
  if (b.Has(-1, "rope_freqs.weight", "")) {
    ASSIGN_OR_RETURN(w.rope_freq_divisors, b.Vector(-1, "rope_freqs.weight", "", c.head_dim / 2));
  }
  w.layers.resize(static_cast<size_t>(c.num_layers));
  for (int l = 0; l < c.num_layers; ++l) {
    LayerWeights& L = w.layers[static_cast<size_t>(l)];
    ASSIGN_OR_RETURN(L.input_norm, b.Vector(l, "attn_norm.weight", "input_layernorm.weight", H));
    ASSIGN_OR_RETURN(L.q_proj, b.Matrix(l, "attn_q.weight", "self_attn.q_proj.weight", c.q_size(), H));
    ASSIGN_OR_RETURN(L.k_proj, b.Matrix(l, "attn_k.weight", "self_attn.k_proj.weight", c.kv_size(), H));
    ASSIGN_OR_RETURN(L.v_proj, b.Matrix(l, "attn_v.weight", "self_attn.v_proj.weight", c.kv_size(), H));
    ASSIGN_OR_RETURN(L.o_proj, b.Matrix(l, "attn_output.weight", "self_attn.o_proj.weight", H, c.q_size()));
    if (c.attention_bias) {
      ASSIGN_OR_RETURN(L.q_bias, b.Vector(l, "attn_q.bias", "self_attn.q_proj.bias", c.q_size()));
      ASSIGN_OR_RETURN(L.k_bias, b.Vector(l, "attn_k.bias", "self_attn.k_proj.bias", c.kv_size()));
      ASSIGN_OR_RETURN(L.v_bias, b.Vector(l, "attn_v.bias", "self_attn.v_proj.bias", c.kv_size()));
    }
    if (c.qk_norm) {
      ASSIGN_OR_RETURN(L.q_norm, b.Vector(l, "attn_q_norm.weight", "self_attn.q_norm.weight", c.head_dim));
      ASSIGN_OR_RETURN(L.k_norm, b.Vector(l, "attn_k_norm.weight", "self_attn.k_norm.weight", c.head_dim));
    }
    ASSIGN_OR_RETURN(L.post_attention_norm, b.Vector(l, "ffn_norm.weight", "post_attention_layernorm.weight", H));
    ASSIGN_OR_RETURN(L.gate_proj, b.Matrix(l, "ffn_gate.weight", "mlp.gate_proj.weight", F, H));
    ASSIGN_OR_RETURN(L.up_proj, b.Matrix(l, "ffn_up.weight", "mlp.up_proj.weight", F, H));
    ASSIGN_OR_RETURN(L.down_proj, b.Matrix(l, "ffn_down.weight", "mlp.down_proj.weight", H, F));
  }
  return w;
}

}  // namespace

StatusOr<ModelWeights> BindGgufWeights(const ModelConfig& config,
                                       const std::shared_ptr<GgufFile>& gguf) {
  Binder b(gguf->path(), false, [&](int layer, const char* g, const char*) -> std::optional<TensorRef> {
    std::string name = layer >= 0 ? "blk." + std::to_string(layer) + "." + g : std::string(g);
    const GgufTensorInfo* t = gguf->FindTensor(name);
    if (t == nullptr) return std::nullopt;
    // GGUF lists dims fastest-first; flip to row-major.
    std::vector<uint64_t> shape(t->ne.rbegin(), t->ne.rend());
    while (shape.size() > 1 && shape.front() == 1) shape.erase(shape.begin());
    return TensorRef{name, t->dtype, shape, t->data, t->nbytes};
  });
  ASSIGN_OR_RETURN(ModelWeights w, Bind(config, b));
  w.owners.push_back(gguf);
  RETURN_IF_ERROR(RepackWeights(&w, {gguf->mapping().get()}));
  return w;
}

StatusOr<ModelWeights> BindHfWeights(const ModelConfig& config,
                                     const std::shared_ptr<HfCheckpoint>& ckpt) {
  Binder b(ckpt->dir(), true, [&](int layer, const char*, const char* h) -> std::optional<TensorRef> {
    if (*h == '\0') return std::nullopt;
    std::string name = layer >= 0 ? "model.layers." + std::to_string(layer) + "." + h : std::string(h);
    const SafetensorInfo* t = ckpt->Find(name);
    if (t == nullptr) return std::nullopt;
    return TensorRef{name, t->dtype, t->shape, t->data, t->nbytes};
  });
  ASSIGN_OR_RETURN(ModelWeights w, Bind(config, b));
  w.owners.push_back(ckpt);
  RETURN_IF_ERROR(RepackWeights(&w, ckpt->mappings()));
  return w;
}

}  // namespace pagoda
