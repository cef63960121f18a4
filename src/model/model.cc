#include "model/model.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>

#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "model/weight_binding.h"

namespace pagoda {

StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return NotFound(path + ": no such file or directory");
  if (S_ISDIR(st.st_mode)) {
    ASSIGN_OR_RETURN(auto ckpt, HfCheckpoint::Open(path));
    return FromHf(std::move(ckpt));
  }
  ASSIGN_OR_RETURN(auto gguf, GgufFile::Open(path));
  return FromGguf(std::move(gguf));
}

StatusOr<std::unique_ptr<Model>> Model::FromGguf(std::shared_ptr<GgufFile> gguf) {
  std::unique_ptr<Model> m(new Model());
  ASSIGN_OR_RETURN(m->config_, ModelConfigFromGguf(*gguf));
  ASSIGN_OR_RETURN(m->weights_, BindGgufWeights(m->config_, gguf));
  m->format_ = ModelFormat::kGguf;
  m->path_ = gguf->path();
  m->inv_freq_ = m->config_.RopeInvFreq();
  const auto& div = m->weights_.rope_freq_divisors;
  for (size_t i = 0; i < div.size() && i < m->inv_freq_.size(); ++i) {
    if (!(div[i] > 0)) return InvalidArgument(gguf->path() + ": rope_freqs.weight must be positive");
    m->inv_freq_[i] /= div[i];
  }
  m->gguf_ = std::move(gguf);
  return m;
}

StatusOr<std::unique_ptr<Model>> Model::FromHf(std::shared_ptr<HfCheckpoint> ckpt) {
  std::unique_ptr<Model> m(new Model());
  ASSIGN_OR_RETURN(m->config_, ModelConfigFromHf(ckpt->config(), ckpt->dir() + "/config.json"));
  ASSIGN_OR_RETURN(m->weights_, BindHfWeights(m->config_, ckpt));
  m->format_ = ModelFormat::kHuggingFace;
  m->path_ = ckpt->dir();
  m->generation_config_ = ckpt->generation_config();
  m->inv_freq_ = m->config_.RopeInvFreq();
  return m;
}

namespace {
void Grow(std::vector<float>& v, int64_t n) {
  if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
}
void AddBias(float* x, const std::vector<float>& bias, int64_t rows) {
  if (bias.empty()) return;
  const int64_t n = static_cast<int64_t>(bias.size());
  for (int64_t r = 0; r < rows; ++r) Add(x + r * n, bias.data(), n);
}
}  // namespace

void Model::Forward(const BatchInput& in, KvCache& cache, Workspace& ws, ThreadPool* pool,
                    float* logits) const {
  const ModelConfig& c = config_;
  const int64_t T = in.num_tokens();
  const int64_t H = c.hidden_size;
  Grow(ws.hidden, T * H);
  for (int64_t t = 0; t < T; ++t) {
    GetRow(weights_.embed_tokens, in.token_ids[static_cast<size_t>(t)], ws.hidden.data() + t * H);
  }
  AttentionMetadata meta;
  meta.num_seqs = in.num_seqs();
  meta.query_start_loc = in.query_start_loc.data();
  meta.seq_lens = in.seq_lens.data();
  meta.block_tables = in.block_tables.data();
  meta.max_blocks_per_seq = in.max_blocks_per_seq;
  meta.block_size = static_cast<int>(cache.block_size());
  for (int64_t l = 0; l < c.num_layers; ++l) Layer(l, in, meta, cache, ws, pool);

  // Only the rows that need logits go through the final norm and lm_head.
  const int64_t R = static_cast<int64_t>(in.logits_indices.size());
  if (R == 0) return;
  Grow(ws.last, R * H);
  for (int64_t r = 0; r < R; ++r) {
    const float* src = ws.hidden.data() + in.logits_indices[static_cast<size_t>(r)] * H;
    std::copy(src, src + H, ws.last.data() + r * H);
  }
  RmsNorm(ws.last.data(), weights_.final_norm.data(), R, H, static_cast<float>(c.rms_norm_eps),
          ws.last.data());
  MatMul(weights_.lm_head, ws.last.data(), R, logits, pool);
}

void Model::Layer(int64_t l, const BatchInput& in, const AttentionMetadata& meta, KvCache& cache,
                  Workspace& ws, ThreadPool* pool) const {
  const ModelConfig& c = config_;
  const LayerWeights& L = weights_.layers[static_cast<size_t>(l)];
  const int64_t T = in.num_tokens();
  const int64_t H = c.hidden_size, Q = c.q_size(), KV = c.kv_size(), F = c.intermediate_size;
  const float eps = static_cast<float>(c.rms_norm_eps);
  Grow(ws.normed, T * H);
  Grow(ws.q, T * Q);
  Grow(ws.k, T * KV);
  Grow(ws.v, T * KV);
  Grow(ws.attn, T * Q);

  // Attention block.
  RmsNorm(ws.hidden.data(), L.input_norm.data(), T, H, eps, ws.normed.data());
  MatMul(L.q_proj, ws.normed.data(), T, ws.q.data(), pool);
  MatMul(L.k_proj, ws.normed.data(), T, ws.k.data(), pool);
  MatMul(L.v_proj, ws.normed.data(), T, ws.v.data(), pool);
  AddBias(ws.q.data(), L.q_bias, T);
  AddBias(ws.k.data(), L.k_bias, T);
  AddBias(ws.v.data(), L.v_bias, T);
  if (c.qk_norm) {
    RmsNorm(ws.q.data(), L.q_norm.data(), T * c.num_heads, c.head_dim, eps, ws.q.data());
    RmsNorm(ws.k.data(), L.k_norm.data(), T * c.num_kv_heads, c.head_dim, eps, ws.k.data());
  }
  const int hd = static_cast<int>(c.head_dim);
  Rope(ws.q.data(), in.positions.data(), T, static_cast<int>(c.num_heads), hd, hd, inv_freq_.data(),
       c.rope_interleaved);
  Rope(ws.k.data(), in.positions.data(), T, static_cast<int>(c.num_kv_heads), hd, hd,
       inv_freq_.data(), c.rope_interleaved);
  WriteKvCache(ws.k.data(), ws.v.data(), in.slot_mapping.data(), T, static_cast<int>(c.num_kv_heads),
               hd, cache.k(l), cache.v(l));
  PagedAttention(ws.q.data(), cache.k(l), cache.v(l), meta, static_cast<int>(c.num_heads),
                 static_cast<int>(c.num_kv_heads), hd, 1.0f / std::sqrt(static_cast<float>(hd)),
                 ws.attn.data(), pool);
  MatMul(L.o_proj, ws.attn.data(), T, ws.normed.data(), pool);
  Add(ws.hidden.data(), ws.normed.data(), T * H);

  // MLP block: down(silu(gate(x)) * up(x)).
  Grow(ws.gate, T * F);
  Grow(ws.up, T * F);
  RmsNorm(ws.hidden.data(), L.post_attention_norm.data(), T, H, eps, ws.normed.data());
  MatMul(L.gate_proj, ws.normed.data(), T, ws.gate.data(), pool);
  MatMul(L.up_proj, ws.normed.data(), T, ws.up.data(), pool);
  float* g = ws.gate.data();
  const float* u = ws.up.data();
  for (int64_t i = 0; i < T * F; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  MatMul(L.down_proj, g, T, ws.normed.data(), pool);
  Add(ws.hidden.data(), ws.normed.data(), T * H);
}

}  // namespace pagoda
