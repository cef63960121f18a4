#include "model/model_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "formats/gguf.h"

namespace pagoda {

const char* ArchitectureName(Architecture a) {
  switch (a) {
    case Architecture::kLlama: return "llama";
    case Architecture::kQwen2: return "qwen2";
    case Architecture::kQwen3: return "qwen3";
  }
  return "?";
}

std::vector<float> ModelConfig::RopeInvFreq() const {
  const int64_t half = head_dim / 2;
  std::vector<float> inv(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    double f = std::pow(rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
    switch (rope_scaling.type) {
      case RopeScaling::Type::kNone:
        break;
      case RopeScaling::Type::kLinear:
        f /= rope_scaling.factor;
        break;
      case RopeScaling::Type::kLlama3: {
        // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept,
        // and the band between is interpolated smoothly.
        const double orig = static_cast<double>(rope_scaling.original_max_position_embeddings);
        const double low_wavelen = orig / rope_scaling.low_freq_factor;
        const double high_wavelen = orig / rope_scaling.high_freq_factor;
        const double wavelen = 2.0 * M_PI / f;
        if (wavelen < high_wavelen) {
        } else if (wavelen > low_wavelen) {
          f /= rope_scaling.factor;
        } else {
          const double smooth = (orig / wavelen - rope_scaling.low_freq_factor) /
                                (rope_scaling.high_freq_factor - rope_scaling.low_freq_factor);
          f = (1.0 - smooth) * f / rope_scaling.factor + smooth * f;
        }
        break;
      }
    }
    inv[static_cast<size_t>(i)] = static_cast<float>(f);
  }
  return inv;
}

Status ModelConfig::Validate() const {
  auto bad = [](const std::string& m) { return InvalidArgument("invalid model config: " + m); };
  if (vocab_size <= 0) return bad("vocab_size must be positive");
  if (hidden_size <= 0) return bad("hidden_size must be positive");
  if (intermediate_size <= 0) return bad("intermediate_size must be positive");
  if (num_layers <= 0) return bad("num_hidden_layers must be positive");
  if (num_heads <= 0 || num_kv_heads <= 0) return bad("head counts must be positive");
  if (num_heads % num_kv_heads != 0) return bad("num_attention_heads must be a multiple of num_key_value_heads");
  if (head_dim <= 0 || head_dim % 2 != 0) return bad("head_dim must be positive and even");
  if (!(rms_norm_eps > 0)) return bad("rms_norm_eps must be positive");
  if (!(rope_theta > 0)) return bad("rope_theta must be positive");
  if (rope_scaling.type != RopeScaling::Type::kNone && !(rope_scaling.factor > 0)) {
    return bad("rope_scaling.factor must be positive");
  }
  if (rope_scaling.type == RopeScaling::Type::kLlama3 &&
      !(rope_scaling.high_freq_factor > rope_scaling.low_freq_factor)) {
    return bad("rope_scaling high_freq_factor must exceed low_freq_factor");
  }
  // Bounds that keep every size computation far from overflow.
  const int64_t kMax = int64_t{1} << 24;
  for (int64_t v : {vocab_size, hidden_size, intermediate_size, num_layers, num_heads, head_dim}) {
    if (v > kMax) return bad("a dimension is implausibly large");
  }
  return Status::Ok();
}

StatusOr<ModelConfig> ModelConfigFromGguf(const GgufFile& gguf) {
  const std::string where = gguf.path();
  auto arch_name = gguf.GetString("general.architecture");
  if (!arch_name) return InvalidArgument(where + ": missing general.architecture");
  ModelConfig c;
  if (*arch_name == "llama") {
    c.arch = Architecture::kLlama;
    c.rope_interleaved = true;
  } else if (*arch_name == "qwen2") {
    c.arch = Architecture::kQwen2;
    c.attention_bias = true;
  } else if (*arch_name == "qwen3") {
    c.arch = Architecture::kQwen3;
    c.qk_norm = true;
  } else {
    return Unimplemented(where + ": unsupported architecture '" + *arch_name +
                         "' (supported: llama, qwen2, qwen3)");
  }
  const std::string p = *arch_name + ".";
  auto need = [&](const std::string& key, int64_t* out) -> Status {
    auto v = gguf.GetInt(p + key);
    if (!v) return InvalidArgument(where + ": missing or non-integer " + p + key);
    *out = *v;
    return Status::Ok();
  };
  RETURN_IF_ERROR(need("embedding_length", &c.hidden_size));
  RETURN_IF_ERROR(need("block_count", &c.num_layers));
  RETURN_IF_ERROR(need("feed_forward_length", &c.intermediate_size));
  RETURN_IF_ERROR(need("attention.head_count", &c.num_heads));
  c.num_kv_heads = gguf.GetInt(p + "attention.head_count_kv").value_or(c.num_heads);
  if (c.num_heads > 0) c.head_dim = c.hidden_size / c.num_heads;
  if (auto kl = gguf.GetInt(p + "attention.key_length")) c.head_dim = *kl;
  if (auto eps = gguf.GetFloat(p + "attention.layer_norm_rms_epsilon")) c.rms_norm_eps = *eps;
  if (auto th = gguf.GetFloat(p + "rope.freq_base")) c.rope_theta = *th;
  if (auto ctx = gguf.GetInt(p + "context_length")) c.max_position_embeddings = *ctx;
  if (auto st = gguf.GetString(p + "rope.scaling.type")) {
    if (*st == "linear") {
      c.rope_scaling.type = RopeScaling::Type::kLinear;
      c.rope_scaling.factor = gguf.GetFloat(p + "rope.scaling.factor").value_or(1.0);
    } else if (*st != "none") {
      // llama3-style scaling reaches GGUF as the rope_freqs tensor, which
      // the weight loader applies; yarn and others are not supported yet.
      return Unimplemented(where + ": unsupported rope scaling type '" + *st + "'");
    }
  }
  if (const GgufValue* v = gguf.Find("tokenizer.ggml.tokens")) c.vocab_size = static_cast<int64_t>(v->array_size());
  if (auto vs = gguf.GetInt(p + "vocab_size")) c.vocab_size = *vs;
  if (const GgufTensorInfo* emb = gguf.FindTensor("token_embd.weight"); emb && emb->ne.size() == 2) {
    c.vocab_size = static_cast<int64_t>(emb->ne[1]);
  }
  c.tie_word_embeddings = gguf.FindTensor("output.weight") == nullptr;
  Status s = c.Validate();
  if (!s.ok()) return s.WithPrefix(where);
  return c;
}

namespace {

template <typename T>
Status ReadField(const nlohmann::json& j, const char* key, T* out, bool required,
                 const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return InvalidArgument(where + ": missing '" + key + "'");
    return Status::Ok();
  }
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return InvalidArgument(where + ": '" + key + "' must be a boolean");
  } else {
    if (!it->is_number()) return InvalidArgument(where + ": '" + key + "' must be a number");
  }
  *out = it->get<T>();
  return Status::Ok();
}

}  // namespace

StatusOr<ModelConfig> ModelConfigFromHf(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) return InvalidArgument(where + ": not a JSON object");
  std::string model_type = j.value("model_type", std::string());
  if (model_type.empty() && j.contains("architectures") && j["architectures"].is_array() &&
      !j["architectures"].empty() && j["architectures"][0].is_string()) {
    const std::string a = j["architectures"][0].get<std::string>();
    if (a == "LlamaForCausalLM") model_type = "llama";
    else if (a == "MistralForCausalLM") model_type = "mistral";
    else if (a == "Qwen2ForCausalLM") model_type = "qwen2";
    else if (a == "Qwen3ForCausalLM") model_type = "qwen3";
    else model_type = a;
  }
  ModelConfig c;
  if (model_type == "llama" || model_type == "mistral") {
    c.arch = Architecture::kLlama;
  } else if (model_type == "qwen2") {
    c.arch = Architecture::kQwen2;
    c.attention_bias = true;
  } else if (model_type == "qwen3") {
    c.arch = Architecture::kQwen3;
    c.qk_norm = true;
  } else {
    return Unimplemented(where + ": unsupported architecture '" + model_type +
                         "' (supported: llama, mistral, qwen2, qwen3)");
  }
  RETURN_IF_ERROR(ReadField(j, "vocab_size", &c.vocab_size, true, where));
  RETURN_IF_ERROR(ReadField(j, "hidden_size", &c.hidden_size, true, where));
  RETURN_IF_ERROR(ReadField(j, "intermediate_size", &c.intermediate_size, true, where));
  RETURN_IF_ERROR(ReadField(j, "num_hidden_layers", &c.num_layers, true, where));
  RETURN_IF_ERROR(ReadField(j, "num_attention_heads", &c.num_heads, true, where));
  c.num_kv_heads = c.num_heads;
  RETURN_IF_ERROR(ReadField(j, "num_key_value_heads", &c.num_kv_heads, false, where));
  if (c.num_heads > 0) c.head_dim = c.hidden_size / c.num_heads;
  RETURN_IF_ERROR(ReadField(j, "head_dim", &c.head_dim, false, where));
  RETURN_IF_ERROR(ReadField(j, "rms_norm_eps", &c.rms_norm_eps, false, where));
  RETURN_IF_ERROR(ReadField(j, "rope_theta", &c.rope_theta, false, where));
  RETURN_IF_ERROR(ReadField(j, "max_position_embeddings", &c.max_position_embeddings, false, where));
  RETURN_IF_ERROR(ReadField(j, "tie_word_embeddings", &c.tie_word_embeddings, false, where));
  if (c.arch == Architecture::kLlama) {
    RETURN_IF_ERROR(ReadField(j, "attention_bias", &c.attention_bias, false, where));
  }
  if (auto it = j.find("rope_scaling"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgument(where + ": 'rope_scaling' must be an object");
    std::string type = it->value("rope_type", it->value("type", std::string()));
    const std::string w = where + " rope_scaling";
    if (type == "llama3") {
      c.rope_scaling.type = RopeScaling::Type::kLlama3;
      RETURN_IF_ERROR(ReadField(*it, "factor", &c.rope_scaling.factor, true, w));
      RETURN_IF_ERROR(ReadField(*it, "low_freq_factor", &c.rope_scaling.low_freq_factor, true, w));
      RETURN_IF_ERROR(ReadField(*it, "high_freq_factor", &c.rope_scaling.high_freq_factor, true, w));
      RETURN_IF_ERROR(ReadField(*it, "original_max_position_embeddings",
                                &c.rope_scaling.original_max_position_embeddings, true, w));
    } else if (type == "linear") {
      c.rope_scaling.type = RopeScaling::Type::kLinear;
      RETURN_IF_ERROR(ReadField(*it, "factor", &c.rope_scaling.factor, true, w));
    } else if (type != "default") {
      return Unimplemented(where + ": unsupported rope_scaling type '" + type + "'");
    }
  }
  Status s = c.Validate();
  if (!s.ok()) return s.WithPrefix(where);
  return c;
}

}  // namespace pagoda
