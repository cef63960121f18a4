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

// Runs fn(begin, end) over token rows, split across the pool when there are
// enough of them to pay for a parallel region. The row ops (norms, rope,
// residual adds) compute each row alone, so the split changes no bits.
template <class Fn>
void OverRows(ThreadPool* pool, int64_t rows, Fn&& fn) {
  if (pool != nullptr && rows >= 8) {
    pool->ParallelFor(rows, fn);
  } else {
    fn(0, rows);
  }
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

  // Attention block. Q, K and V read the same normed rows: one pass (one
  // parallel region, one activation quantization) for all three.
  OverRows(pool, T, [&](int64_t b, int64_t e) {
    RmsNorm(ws.hidden.data() + b * H, L.input_norm.data(), e - b, H, eps, ws.normed.data() + b * H);
  });
  const WeightMatrix qkv[3] = {L.q_proj, L.k_proj, L.v_proj};
  float* const qkv_out[3] = {ws.q.data(), ws.k.data(), ws.v.data()};
  MatMulMany(qkv, 3, ws.normed.data(), T, qkv_out, pool);
  AddBias(ws.q.data(), L.q_bias, T);
  AddBias(ws.k.data(), L.k_bias, T);
  AddBias(ws.v.data(), L.v_bias, T);
  const int hd = static_cast<int>(c.head_dim);
  const int nh = static_cast<int>(c.num_heads), nkv = static_cast<int>(c.num_kv_heads);
  OverRows(pool, T, [&](int64_t b, int64_t e) {
    float* q = ws.q.data() + b * Q;
    float* k = ws.k.data() + b * KV;
    if (c.qk_norm) {
      RmsNorm(q, L.q_norm.data(), (e - b) * nh, c.head_dim, eps, q);
      RmsNorm(k, L.k_norm.data(), (e - b) * nkv, c.head_dim, eps, k);
    }
    Rope(q, in.positions.data() + b, e - b, nh, hd, hd, inv_freq_.data(), c.rope_interleaved);
    Rope(k, in.positions.data() + b, e - b, nkv, hd, hd, inv_freq_.data(), c.rope_interleaved);
  });
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // The same two ops for either cache element type (KvCache::dtype()).
  auto attend = [&](auto* k_cache, auto* v_cache) {
    WriteKvCache(ws.k.data(), ws.v.data(), in.slot_mapping.data(), T, nkv, hd, meta.block_size,
                 k_cache, v_cache);
    PagedAttention(ws.q.data(), k_cache, v_cache, meta, nh, nkv, hd, scale, ws.attn.data(), pool);
  };
  if (cache.dtype() == DType::kF16) {
    attend(cache.k<uint16_t>(l), cache.v<uint16_t>(l));
  } else {
    attend(cache.k<float>(l), cache.v<float>(l));
  }
  MatMul(L.o_proj, ws.attn.data(), T, ws.normed.data(), pool);
  // MLP block: down(silu(gate(x)) * up(x)), with gate and up in one pass
  // that applies silu * up on the way out. The residual add and the next
  // norm run per row, together.
  Grow(ws.gate, T * F);
  OverRows(pool, T, [&](int64_t b, int64_t e) {
    Add(ws.hidden.data() + b * H, ws.normed.data() + b * H, (e - b) * H);
    RmsNorm(ws.hidden.data() + b * H, L.post_attention_norm.data(), e - b, H, eps,
            ws.normed.data() + b * H);
  });
  MatMulSiluMul(L.gate_proj, L.up_proj, ws.normed.data(), T, ws.gate.data(), pool);
  MatMul(L.down_proj, ws.gate.data(), T, ws.normed.data(), pool);
  OverRows(pool, T, [&](int64_t b, int64_t e) {
    Add(ws.hidden.data() + b * H, ws.normed.data() + b * H, (e - b) * H);
  });
}

}  // namespace pagoda
