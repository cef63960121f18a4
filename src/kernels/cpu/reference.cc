#include "kernels/cpu/reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/check.h"

namespace pagoda::ref {

void MatMul(const WeightMatrix& w, const float* x, int64_t num_rows, float* y) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t n = 0; n < w.rows; ++n) {
    DequantizeRow(w.dtype, w.data + n * w.row_bytes, row.data(), w.cols);
    for (int64_t m = 0; m < num_rows; ++m) {
      double sum = 0.0;
      for (int64_t k = 0; k < w.cols; ++k) sum += static_cast<double>(x[m * w.cols + k]) * row[k];
      y[m * w.rows + n] = static_cast<float>(sum);
    }
  }
}

void QuantizeActivationRow(int block, const float* x, int64_t n, int8_t* q, float* d,
                           int16_t* bsums) {
  for (int64_t b = 0; b < n / block; ++b) {
    float amax = 0.0f;
    for (int i = 0; i < block; ++i) amax = std::max(amax, std::fabs(x[b * block + i]));
    d[b] = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int i = 0; i < block; ++i) {
      const float scaled = x[b * block + i] * id;
      // Round half to even, spelled out.
      float r = std::floor(scaled);
      const float frac = scaled - r;
      if (frac > 0.5f || (frac == 0.5f && std::fmod(r, 2.0f) != 0.0f)) r += 1.0f;
      q[b * block + i] = static_cast<int8_t>(r);
    }
  }
  if (bsums != nullptr) {
    for (int64_t j = 0; j < n / 16; ++j) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += q[j * 16 + i];
      bsums[j] = static_cast<int16_t>(sum);
    }
  }
}

void MatMulQuantizedActs(const WeightMatrix& w, const float* x, int64_t num_rows, float* y) {
  const int block = GetDTypeInfo(w.dtype).block_size;
  CHECK(block == 32 || block == 256) << "MatMulQuantizedActs: " << DTypeName(w.dtype);
  std::vector<int8_t> q(static_cast<size_t>(w.cols));
  std::vector<float> d(static_cast<size_t>(w.cols / block));
  std::vector<double> xq(static_cast<size_t>(num_rows * w.cols));
  for (int64_t m = 0; m < num_rows; ++m) {
    QuantizeActivationRow(block, x + m * w.cols, w.cols, q.data(), d.data(), nullptr);
    for (int64_t k = 0; k < w.cols; ++k) xq[m * w.cols + k] = static_cast<double>(q[k]) * d[k / block];
  }
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t n = 0; n < w.rows; ++n) {
    DequantizeRow(w.dtype, w.data + n * w.row_bytes, row.data(), w.cols);
    for (int64_t m = 0; m < num_rows; ++m) {
      double sum = 0.0;
      for (int64_t k = 0; k < w.cols; ++k) sum += xq[m * w.cols + k] * row[k];
      y[m * w.rows + n] = static_cast<float>(sum);
    }
  }
}

void RmsNorm(const float* x, const float* weight, int64_t num_rows, int64_t n, float eps,
             float* out) {
  for (int64_t r = 0; r < num_rows; ++r) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[r * n + i]) * x[r * n + i];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
    for (int64_t i = 0; i < n; ++i) {
      out[r * n + i] = static_cast<float>(x[r * n + i] * inv * weight[i]);
    }
  }
}

void Rope(float* x, const int32_t* positions, int64_t num_tokens, int num_heads, int head_dim,
          int rotary_dim, const float* inv_freq, bool interleaved) {
  const int half = rotary_dim / 2;
  for (int64_t t = 0; t < num_tokens; ++t) {
    for (int h = 0; h < num_heads; ++h) {
      float* v = x + (t * num_heads + h) * head_dim;
      for (int i = 0; i < half; ++i) {
        const double angle = static_cast<double>(positions[t]) * inv_freq[i];
        const double c = std::cos(angle), s = std::sin(angle);
        const int i0 = interleaved ? 2 * i : i;
        const int i1 = interleaved ? 2 * i + 1 : i + half;
        const double a = v[i0], b = v[i1];
        v[i0] = static_cast<float>(a * c - b * s);
        v[i1] = static_cast<float>(a * s + b * c);
      }
    }
  }
}

void SiluMul(const float* gate_up, int64_t num_rows, int64_t n, float* out) {
  for (int64_t r = 0; r < num_rows; ++r) {
    for (int64_t i = 0; i < n; ++i) {
      const double g = gate_up[r * 2 * n + i];
      const double u = gate_up[r * 2 * n + n + i];
      out[r * n + i] = static_cast<float>(g / (1.0 + std::exp(-g)) * u);
    }
  }
}

void Add(float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] += b[i];
}

uint16_t HalfBits(float x) {
  const _Float16 h = static_cast<_Float16>(x);
  uint16_t bits;
  std::memcpy(&bits, &h, sizeof bits);
  return bits;
}

float HalfValue(uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, sizeof h);
  return static_cast<float>(h);
}

namespace {

float Stored(float x) { return x; }
float Stored(uint16_t bits) { return HalfValue(bits); }
void Store(float x, float* dst) { *dst = x; }
void Store(float x, uint16_t* dst) { *dst = HalfBits(x); }

// Flat element indices of the cache layout (kernels/ops.h), spelled out.
int64_t KIndex(int64_t block, int64_t offset, int64_t head, int64_t d, int64_t num_kv_heads,
               int64_t head_dim, int64_t block_size) {
  return ((block * num_kv_heads + head) * head_dim + d) * block_size + offset;
}
int64_t VIndex(int64_t block, int64_t offset, int64_t head, int64_t d, int64_t num_kv_heads,
               int64_t head_dim, int64_t block_size) {
  return ((block * num_kv_heads + head) * block_size + offset) * head_dim + d;
}

template <class T>
void WriteKvCacheT(const float* k, const float* v, const int64_t* slot_mapping, int64_t num_tokens,
                   int num_kv_heads, int head_dim, int block_size, T* k_cache, T* v_cache) {
  for (int64_t t = 0; t < num_tokens; ++t) {
    if (slot_mapping[t] < 0) continue;
    const int64_t block = slot_mapping[t] / block_size, offset = slot_mapping[t] % block_size;
    for (int h = 0; h < num_kv_heads; ++h) {
      for (int d = 0; d < head_dim; ++d) {
        const int64_t src = (t * num_kv_heads + h) * head_dim + d;
        Store(k[src], &k_cache[KIndex(block, offset, h, d, num_kv_heads, head_dim, block_size)]);
        Store(v[src], &v_cache[VIndex(block, offset, h, d, num_kv_heads, head_dim, block_size)]);
      }
    }
  }
}

template <class T>
void PagedAttentionT(const float* q, const T* k_cache, const T* v_cache,
                     const AttentionMetadata& meta, int num_heads, int num_kv_heads, int head_dim,
                     float scale, float* out) {
  CHECK_EQ(num_heads % num_kv_heads, 0);
  const int group = num_heads / num_kv_heads;
  const int64_t kv_width = static_cast<int64_t>(num_kv_heads) * head_dim;
  for (int s = 0; s < meta.num_seqs; ++s) {
    const int q_begin = meta.query_start_loc[s];
    const int q_len = meta.query_start_loc[s + 1] - q_begin;
    const int seq_len = meta.seq_lens[s];
    // Gather this sequence's context into dense [seq_len, kv_width] arrays.
    std::vector<float> keys(static_cast<size_t>(seq_len * kv_width));
    std::vector<float> values(keys.size());
    for (int p = 0; p < seq_len; ++p) {
      const int64_t block = meta.block_tables[s * meta.max_blocks_per_seq + p / meta.block_size];
      const int64_t offset = p % meta.block_size;
      for (int h = 0; h < num_kv_heads; ++h) {
        for (int d = 0; d < head_dim; ++d) {
          const int64_t i = p * kv_width + h * head_dim + d;
          keys[i] = Stored(k_cache[KIndex(block, offset, h, d, num_kv_heads, head_dim, meta.block_size)]);
          values[i] =
              Stored(v_cache[VIndex(block, offset, h, d, num_kv_heads, head_dim, meta.block_size)]);
        }
      }
    }
    for (int j = 0; j < q_len; ++j) {
      const int pos = seq_len - q_len + j;
      const int64_t t = q_begin + j;
      for (int h = 0; h < num_heads; ++h) {
        const int kvh = h / group;
        const float* qv = q + (t * num_heads + h) * head_dim;
        std::vector<double> scores(static_cast<size_t>(pos + 1));
        double max_score = -INFINITY;
        for (int p = 0; p <= pos; ++p) {
          double dot = 0.0;
          for (int d = 0; d < head_dim; ++d) {
            dot += static_cast<double>(qv[d]) * keys[p * kv_width + kvh * head_dim + d];
          }
          scores[p] = dot * scale;
          max_score = std::max(max_score, scores[p]);
        }
        double denom = 0.0;
        for (int p = 0; p <= pos; ++p) {
          scores[p] = std::exp(scores[p] - max_score);
          denom += scores[p];
        }
        for (int d = 0; d < head_dim; ++d) {
          double acc = 0.0;
          for (int p = 0; p <= pos; ++p) acc += scores[p] * values[p * kv_width + kvh * head_dim + d];
          out[(t * num_heads + h) * head_dim + d] = static_cast<float>(acc / denom);
        }
      }
    }
  }
}

}  // namespace

void WriteKvCache(const float* k, const float* v, const int64_t* slot_mapping, int64_t num_tokens,
                  int num_kv_heads, int head_dim, int block_size, float* k_cache, float* v_cache) {
  WriteKvCacheT(k, v, slot_mapping, num_tokens, num_kv_heads, head_dim, block_size, k_cache,
                v_cache);
}

void WriteKvCache(const float* k, const float* v, const int64_t* slot_mapping, int64_t num_tokens,
                  int num_kv_heads, int head_dim, int block_size, uint16_t* k_cache, uint16_t* v_cache) {
  WriteKvCacheT(k, v, slot_mapping, num_tokens, num_kv_heads, head_dim, block_size, k_cache,
                v_cache);
}

void PagedAttention(const float* q, const float* k_cache, const float* v_cache,
                    const AttentionMetadata& meta, int num_heads, int num_kv_heads, int head_dim,
                    float scale, float* out) {
  PagedAttentionT(q, k_cache, v_cache, meta, num_heads, num_kv_heads, head_dim, scale, out);
}

void PagedAttention(const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                    const AttentionMetadata& meta, int num_heads, int num_kv_heads, int head_dim,
                    float scale, float* out) {
  PagedAttentionT(q, k_cache, v_cache, meta, num_heads, num_kv_heads, head_dim, scale, out);
}

}  // namespace pagoda::ref
