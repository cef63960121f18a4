#include "model/random_model.h"

#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "kernels/ops.h"

namespace pagoda {

namespace {

// splitmix64: a tiny, fast, well-mixed generator; the weights are a pure
// function of (seed, tensor name), independent of the order tensors are made.
uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t NameSeed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// Uniform values in [center - scale, center + scale].
std::vector<float> RandomValues(uint64_t seed, const std::string& name, int64_t n, float center,
                                float scale) {
  std::vector<float> v(static_cast<size_t>(n));
  uint64_t s = NameSeed(seed, name);
  for (float& x : v) {
    const double u = static_cast<double>(SplitMix(s) >> 11) * (1.0 / 9007199254740992.0);
    x = center + scale * static_cast<float>(2.0 * u - 1.0);
  }
  return v;
}

std::vector<uint8_t> Encode(const std::vector<float>& v, int64_t rows, int64_t cols, DType t) {
  const size_t rb = RowBytes(t, static_cast<uint64_t>(cols)).value();
  std::vector<uint8_t> out(rb * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    QuantizeRow(t, v.data() + r * cols, out.data() + static_cast<size_t>(r) * rb, cols);
  }
  return out;
}

// Rounds values through a 16-bit type so both formats store the same numbers.
void RoundThrough(std::vector<float>& v, DType t) {
  if (t != DType::kF16 && t != DType::kBF16) return;
  std::vector<uint8_t> tmp(v.size() * 2);
  QuantizeRow(t, v.data(), tmp.data(), static_cast<int64_t>(v.size()));
  DequantizeRow(t, tmp.data(), v.data(), static_cast<int64_t>(v.size()));
}

// llama.cpp's converter reorders Q/K rows of llama checkpoints so that its
// interleaved-pair rotation computes what Hugging Face's half-split one does.
std::vector<float> PermuteForGguf(const std::vector<float>& w, int64_t heads, int64_t head_dim,
                                  int64_t cols) {
  std::vector<float> out(w.size());
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < half; ++i) {
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t src = h * head_dim + j * half + i;
        const int64_t dst = h * head_dim + 2 * i + j;
        std::copy(w.begin() + src * cols, w.begin() + (src + 1) * cols, out.begin() + dst * cols);
      }
    }
  }
  return out;
}

std::string Utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// GPT-2's byte -> printable code point table.
std::vector<std::string> ByteSymbols() {
  std::vector<std::string> sym(256);
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    sym[b] = Utf8(printable ? b : next++);
  }
  return sym;
}

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<std::string> merges;  // "left right"
};

// A synthetic byte-level BPE vocabulary: specials, 256 bytes, then merges
// that glue letters (optionally after a space) into word-like pieces.
StatusOr<Vocab> MakeVocab(int64_t vocab_size, uint64_t seed) {
  if (vocab_size < 258) return InvalidArgument("mkmodel: vocab size must be at least 258");
  Vocab v;
  v.tokens = {"<s>", "</s>"};
  const std::vector<std::string> bytes = ByteSymbols();
  for (const std::string& b : bytes) v.tokens.push_back(b);
  std::set<std::string> seen(v.tokens.begin(), v.tokens.end());
  std::vector<std::string> pool;  // pieces that merges extend
  for (char c = 'a'; c <= 'z'; ++c) pool.push_back(bytes[static_cast<unsigned char>(c)]);
  pool.push_back(bytes[' ']);
  uint64_t s = seed ^ 0x5eed;
  while (static_cast<int64_t>(v.tokens.size()) < vocab_size) {
    const std::string& left = pool[SplitMix(s) % pool.size()];
    const std::string& right = bytes[static_cast<unsigned char>('a' + SplitMix(s) % 26)];
    std::string merged = left + right;
    if (seen.count(merged)) continue;
    seen.insert(merged);
    v.merges.push_back(left + " " + right);
    v.tokens.push_back(merged);
    pool.push_back(merged);
  }
  return v;
}

struct Tensor {
  std::string hf_name, gguf_name;
  int64_t rows, cols;  // cols == 0: a vector of `rows` elements
  std::vector<float> values;
  bool is_qk = false;
  int64_t heads = 0;
};

StatusOr<std::vector<Tensor>> MakeTensors(const RandomModelSpec& sp, const ModelConfig& c) {
  std::vector<Tensor> ts;
  const int64_t H = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  auto matrix = [&](std::string hf, std::string gg, int64_t rows, int64_t cols, float scale) {
    Tensor t{hf, gg, rows, cols, RandomValues(sp.seed, hf, rows * cols, 0.0f, scale)};
    ts.push_back(std::move(t));
  };
  auto vec = [&](std::string hf, std::string gg, int64_t n, float center, float scale) {
    Tensor t{hf, gg, n, 0, RandomValues(sp.seed, hf, n, center, scale)};
    RoundThrough(t.values, sp.dtype);
    ts.push_back(std::move(t));
  };
  auto inv_sqrt = [](int64_t n) { return static_cast<float>(std::sqrt(3.0 / static_cast<double>(n))); };
  matrix("model.embed_tokens.weight", "token_embd.weight", V, H, 1.0f);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string hp = "model.layers." + std::to_string(l) + ".";
    const std::string gp = "blk." + std::to_string(l) + ".";
    vec(hp + "input_layernorm.weight", gp + "attn_norm.weight", H, 1.0f, 0.2f);
    matrix(hp + "self_attn.q_proj.weight", gp + "attn_q.weight", c.q_size(), H, inv_sqrt(H) * 2);
    ts.back().is_qk = true;
    ts.back().heads = c.num_heads;
    matrix(hp + "self_attn.k_proj.weight", gp + "attn_k.weight", c.kv_size(), H, inv_sqrt(H) * 2);
    ts.back().is_qk = true;
    ts.back().heads = c.num_kv_heads;
    matrix(hp + "self_attn.v_proj.weight", gp + "attn_v.weight", c.kv_size(), H, inv_sqrt(H));
    if (c.attention_bias) {
      vec(hp + "self_attn.q_proj.bias", gp + "attn_q.bias", c.q_size(), 0.0f, 0.1f);
      vec(hp + "self_attn.k_proj.bias", gp + "attn_k.bias", c.kv_size(), 0.0f, 0.1f);
      vec(hp + "self_attn.v_proj.bias", gp + "attn_v.bias", c.kv_size(), 0.0f, 0.1f);
    }
    if (c.qk_norm) {
      vec(hp + "self_attn.q_norm.weight", gp + "attn_q_norm.weight", c.head_dim, 1.0f, 0.2f);
      vec(hp + "self_attn.k_norm.weight", gp + "attn_k_norm.weight", c.head_dim, 1.0f, 0.2f);
    }
    matrix(hp + "self_attn.o_proj.weight", gp + "attn_output.weight", H, c.q_size(), inv_sqrt(c.q_size()));
    vec(hp + "post_attention_layernorm.weight", gp + "ffn_norm.weight", H, 1.0f, 0.2f);
    matrix(hp + "mlp.gate_proj.weight", gp + "ffn_gate.weight", F, H, inv_sqrt(H));
    matrix(hp + "mlp.up_proj.weight", gp + "ffn_up.weight", F, H, inv_sqrt(H));
    matrix(hp + "mlp.down_proj.weight", gp + "ffn_down.weight", H, F, inv_sqrt(F));
  }
  vec("model.norm.weight", "output_norm.weight", H, 1.0f, 0.2f);
  if (!c.tie_word_embeddings) matrix("lm_head.weight", "output.weight", V, H, inv_sqrt(H) * 4);
  return ts;
}

StatusOr<ModelConfig> SpecConfig(const RandomModelSpec& sp) {
  ModelConfig c;
  c.arch = sp.arch;
  c.vocab_size = sp.vocab_size;
  c.hidden_size = sp.hidden_size;
  c.intermediate_size = sp.intermediate_size;
  c.num_layers = sp.num_layers;
  c.num_heads = sp.num_heads;
  c.num_kv_heads = sp.num_kv_heads;
  c.head_dim = sp.head_dim > 0 ? sp.head_dim : (sp.num_heads > 0 ? sp.hidden_size / sp.num_heads : 0);
  c.rms_norm_eps = sp.rms_norm_eps;
  c.rope_theta = sp.rope_theta;
  c.rope_scaling = sp.rope_scaling;
  c.max_position_embeddings = sp.max_position_embeddings;
  c.tie_word_embeddings = sp.tie_word_embeddings;
  c.attention_bias = sp.arch == Architecture::kQwen2;
  c.qk_norm = sp.arch == Architecture::kQwen3;
  RETURN_IF_ERROR(c.Validate().WithPrefix("mkmodel"));
  const int block = GetDTypeInfo(sp.dtype).block_size;
  for (int64_t cols : {c.hidden_size, c.intermediate_size, c.q_size()}) {
    if (cols % block != 0) {
      return InvalidArgument("mkmodel: " + std::string(DTypeName(sp.dtype)) +
                             " needs every matrix width to be a multiple of " +
                             std::to_string(block) + " (got " + std::to_string(cols) + ")");
    }
  }
  switch (sp.dtype) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kQ8_0: case DType::kQ4_0:
      break;
    default:
      return InvalidArgument("mkmodel: weight type must be f32, f16, bf16, q8_0 or q4_0");
  }
  if (sp.output_dtype) {
    const DType t = *sp.output_dtype;
    if (sp.tie_word_embeddings) return InvalidArgument("mkmodel: an output type needs an untied output matrix");
    if (t != DType::kQ6_K && t != DType::kF32 && t != DType::kF16 && t != DType::kBF16 && t != DType::kQ8_0 &&
        t != DType::kQ4_0) {
      return InvalidArgument("mkmodel: output type must be f32, f16, bf16, q8_0, q4_0 or q6_k");
    }
    const int out_block = GetDTypeInfo(t).block_size;
    if (c.hidden_size % out_block != 0) {
      return InvalidArgument("mkmodel: " + std::string(DTypeName(t)) + " output needs a hidden size that is a multiple of " +
                             std::to_string(out_block) + " (got " + std::to_string(c.hidden_size) + ")");
    }
  }
  return c;
}

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) return Internal(path + ": cannot write");
  return Status::Ok();
}

}  // namespace

Status WriteRandomGguf(const RandomModelSpec& sp, const std::string& path) {
  ASSIGN_OR_RETURN(ModelConfig c, SpecConfig(sp));
  ASSIGN_OR_RETURN(Vocab vocab, MakeVocab(sp.vocab_size, sp.seed));
  ASSIGN_OR_RETURN(std::vector<Tensor> tensors, MakeTensors(sp, c));
  const std::string arch = ArchitectureName(sp.arch);
  GgufWriter w;
  w.SetString("general.architecture", arch);
  w.SetString("general.name", "pagoda-random-" + arch);
  // llama.cpp's file types (LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_Q4_0,
  // MOSTLY_Q8_0, MOSTLY_BF16): informational, readers go by tensor types.
  const uint32_t file_type = sp.dtype == DType::kF32 ? 0 : sp.dtype == DType::kF16 ? 1
                             : sp.dtype == DType::kQ4_0 ? 2 : sp.dtype == DType::kQ8_0 ? 7 : 32;
  w.SetUint32("general.file_type", file_type);
  w.SetUint32(arch + ".context_length", static_cast<uint32_t>(c.max_position_embeddings));
  w.SetUint32(arch + ".embedding_length", static_cast<uint32_t>(c.hidden_size));
  w.SetUint32(arch + ".block_count", static_cast<uint32_t>(c.num_layers));
  w.SetUint32(arch + ".feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
  w.SetUint32(arch + ".attention.head_count", static_cast<uint32_t>(c.num_heads));
  w.SetUint32(arch + ".attention.head_count_kv", static_cast<uint32_t>(c.num_kv_heads));
  w.SetUint32(arch + ".attention.key_length", static_cast<uint32_t>(c.head_dim));
  w.SetUint32(arch + ".attention.value_length", static_cast<uint32_t>(c.head_dim));
  w.SetFloat32(arch + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  w.SetFloat32(arch + ".rope.freq_base", static_cast<float>(c.rope_theta));
  if (c.rope_scaling.type == RopeScaling::Type::kLinear) {
    w.SetString(arch + ".rope.scaling.type", "linear");
    w.SetFloat32(arch + ".rope.scaling.factor", static_cast<float>(c.rope_scaling.factor));
  }
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetString("tokenizer.ggml.pre", "gpt-2");
  w.SetStringArray("tokenizer.ggml.tokens", vocab.tokens);
  std::vector<int32_t> types(vocab.tokens.size(), 1);
  types[0] = types[1] = 3;  // control
  w.SetInt32Array("tokenizer.ggml.token_type", types);
  w.SetStringArray("tokenizer.ggml.merges", vocab.merges);
  w.SetUint32("tokenizer.ggml.bos_token_id", 0);
  w.SetUint32("tokenizer.ggml.eos_token_id", 1);
  w.SetBool("tokenizer.ggml.add_bos_token", true);

  if (c.rope_scaling.type == RopeScaling::Type::kLlama3) {
    // llama.cpp keeps llama3 scaling as per-pair divisors of the base
    // frequencies in a `rope_freqs.weight` tensor.
    ModelConfig base = c;
    base.rope_scaling = RopeScaling();
    const std::vector<float> f0 = base.RopeInvFreq(), f1 = c.RopeInvFreq();
    std::vector<float> div(f0.size());
    for (size_t i = 0; i < div.size(); ++i) div[i] = f0[i] / f1[i];
    w.AddTensor("rope_freqs.weight", {div.size()}, DType::kF32, Encode(div, 1, static_cast<int64_t>(div.size()), DType::kF32));
  }
  for (Tensor& t : tensors) {
    if (t.cols == 0) {
      w.AddTensor(t.gguf_name, {static_cast<uint64_t>(t.rows)}, DType::kF32,
                  Encode(t.values, 1, t.rows, DType::kF32));
      continue;
    }
    if (t.is_qk && sp.arch == Architecture::kLlama) {
      t.values = PermuteForGguf(t.values, t.heads, c.head_dim, t.cols);
    }
    const DType type = sp.output_dtype && t.gguf_name == "output.weight" ? *sp.output_dtype : sp.dtype;
    w.AddTensor(t.gguf_name, {static_cast<uint64_t>(t.cols), static_cast<uint64_t>(t.rows)},
                type, Encode(t.values, t.rows, t.cols, type));
    std::vector<float>().swap(t.values);  // keep peak memory near one copy
  }
  return w.WriteTo(path);
}

Status WriteRandomHf(const RandomModelSpec& sp, const std::string& dir) {
  if (sp.output_dtype) return InvalidArgument("mkmodel: Hugging Face folders keep one weight type");
  if (sp.dtype != DType::kF32 && sp.dtype != DType::kF16 && sp.dtype != DType::kBF16) {
    return InvalidArgument("mkmodel: Hugging Face folders hold f32, f16 or bf16 weights");
  }
  ASSIGN_OR_RETURN(ModelConfig c, SpecConfig(sp));
  ASSIGN_OR_RETURN(Vocab vocab, MakeVocab(sp.vocab_size, sp.seed));
  ASSIGN_OR_RETURN(std::vector<Tensor> tensors, MakeTensors(sp, c));
  ::mkdir(dir.c_str(), 0755);

  const char* model_type = sp.arch == Architecture::kLlama ? "llama"
                           : sp.arch == Architecture::kQwen2 ? "qwen2" : "qwen3";
  const char* arch_class = sp.arch == Architecture::kLlama ? "LlamaForCausalLM"
                           : sp.arch == Architecture::kQwen2 ? "Qwen2ForCausalLM" : "Qwen3ForCausalLM";
  nlohmann::json cfg = {
      {"architectures", {arch_class}}, {"model_type", model_type},
      {"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size}, {"num_hidden_layers", c.num_layers},
      {"num_attention_heads", c.num_heads}, {"num_key_value_heads", c.num_kv_heads},
      {"head_dim", c.head_dim}, {"rms_norm_eps", c.rms_norm_eps}, {"rope_theta", c.rope_theta},
      {"max_position_embeddings", c.max_position_embeddings},
      {"tie_word_embeddings", c.tie_word_embeddings}, {"bos_token_id", 0}, {"eos_token_id", 1},
      {"torch_dtype", sp.dtype == DType::kF32 ? "float32" : sp.dtype == DType::kF16 ? "float16" : "bfloat16"},
      {"hidden_act", "silu"}};
  if (sp.arch == Architecture::kLlama) cfg["attention_bias"] = false;
  switch (c.rope_scaling.type) {
    case RopeScaling::Type::kNone: cfg["rope_scaling"] = nullptr; break;
    case RopeScaling::Type::kLinear:
      cfg["rope_scaling"] = {{"rope_type", "linear"}, {"factor", c.rope_scaling.factor}};
      break;
    case RopeScaling::Type::kLlama3:
      cfg["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", c.rope_scaling.factor},
                             {"low_freq_factor", c.rope_scaling.low_freq_factor},
                             {"high_freq_factor", c.rope_scaling.high_freq_factor},
                             {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings}};
      break;
  }
  RETURN_IF_ERROR(WriteText(dir + "/config.json", cfg.dump(2)));
  RETURN_IF_ERROR(WriteText(dir + "/generation_config.json",
                            nlohmann::json({{"bos_token_id", 0}, {"eos_token_id", 1}}).dump(2)));

  nlohmann::json vocab_map = nlohmann::json::object();
  for (size_t i = 0; i < vocab.tokens.size(); ++i) vocab_map[vocab.tokens[i]] = i;
  auto added = [](int id, const char* content) {
    return nlohmann::json{{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
                          {"rstrip", false}, {"normalized", false}, {"special", true}};
  };
  nlohmann::json tok = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", {added(0, "<s>"), added(1, "</s>")}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                  {{"SpecialToken", {{"id", "<s>"}, {"type_id", 1}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {0}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                 {"vocab", vocab_map}, {"merges", vocab.merges}}}};
  RETURN_IF_ERROR(WriteText(dir + "/tokenizer.json", tok.dump()));
  RETURN_IF_ERROR(WriteText(dir + "/tokenizer_config.json",
                            nlohmann::json({{"bos_token", "<s>"}, {"eos_token", "</s>"},
                                            {"add_bos_token", true}, {"add_eos_token", false},
                                            {"model_max_length", c.max_position_embeddings}}).dump(2)));

  SafetensorsWriter st;
  st.SetMetadata("format", "pt");
  for (Tensor& t : tensors) {
    if (t.cols == 0) {
      st.Add(t.hf_name, sp.dtype, {static_cast<uint64_t>(t.rows)}, Encode(t.values, 1, t.rows, sp.dtype));
    } else {
      st.Add(t.hf_name, sp.dtype, {static_cast<uint64_t>(t.rows), static_cast<uint64_t>(t.cols)},
             Encode(t.values, t.rows, t.cols, sp.dtype));
    }
    std::vector<float>().swap(t.values);
  }
  return st.WriteTo(dir + "/model.safetensors");
}

}  // namespace pagoda
