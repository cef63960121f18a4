// The public ops of kernels/ops.h: dispatch to the selected instruction set,
// plus the element-wise ops, which are memory-bound and share one portable
// implementation on every path.
#include "kernels/ops.h"

#include <cmath>
#include <vector>

#include "base/check.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/repack.h"
#include "kernels/cpu/vec.h"

namespace pagoda {

void MatMul(const WeightMatrix& w, const float* x, int64_t num_rows, float* y, ThreadPool* pool) {
  cpu::MatMulOn(cpu::SelectedIsa(), w, x, num_rows, y, pool);
}

void MatMulMany(const WeightMatrix* ws, int count, const float* x, int64_t num_rows,
                float* const* ys, ThreadPool* pool) {
  cpu::MatMulManyOn(cpu::SelectedIsa(), ws, count, x, num_rows, ys, pool);
}

void MatMulSiluMul(const WeightMatrix& gate, const WeightMatrix& up, const float* x,
                   int64_t num_rows, float* out, ThreadPool* pool) {
  cpu::MatMulSiluMulOn(cpu::SelectedIsa(), gate, up, x, num_rows, out, pool);
}

void GetRow(const WeightMatrix& w, int64_t row, float* out) {
  CHECK(row >= 0 && row < w.rows) << "GetRow: row " << row << " of " << w.rows;
  // Repacked rows (a tied embedding table is repacked with its output
  // matrix) are gathered back into the file's bytes or floats first: the
  // same values as reading the file.
  if (w.layout == WeightLayout::kQ4_0x8 || w.layout == WeightLayout::kQ8_0x8) {
    thread_local std::vector<uint8_t> bytes;
    bytes.resize(w.row_bytes);
    cpu::X8RowBytes(w, row, bytes.data());
    DequantizeRow(w.dtype, bytes.data(), out, w.cols);
    return;
  }
  if (w.layout == WeightLayout::kFloatX8) {
    for (int64_t j = 0; j < w.cols / 8; ++j) DequantizeRow(w.dtype, cpu::FloatX8Chunk(w, row, j), out + 8 * j, 8);
    return;
  }
  DequantizeRow(w.dtype, w.data + row * w.row_bytes, out, w.cols);
}

void RmsNorm(const float* x, const float* weight, int64_t num_rows, int64_t n, float eps,
             float* out) {
  for (int64_t r = 0; r < num_rows; ++r) {
    const float* xr = x + r * n;
    float* o = out + r * n;
    // Double accumulation in index order: accurate, and independent of
    // anything but the row itself.
    double ss = 0.0;
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
    for (int64_t i = 0; i < n; ++i) o[i] = static_cast<float>(xr[i] * inv * weight[i]);
  }
}

void Rope(float* x, const int32_t* positions, int64_t num_tokens, int num_heads, int head_dim,
          int rotary_dim, const float* inv_freq, bool interleaved) {
  CHECK(rotary_dim % 2 == 0 && rotary_dim <= head_dim) << "Rope: rotary_dim " << rotary_dim;
  const int half = rotary_dim / 2;
  // cos/sin once per token (in double: positions reach 1e5 and more, where
  // float angles lose the low bits), shared by all heads.
  std::vector<double> cs(static_cast<size_t>(2 * half));
  for (int64_t t = 0; t < num_tokens; ++t) {
    for (int i = 0; i < half; ++i) {
      const double angle = static_cast<double>(positions[t]) * inv_freq[i];
      cs[2 * i] = std::cos(angle);
      cs[2 * i + 1] = std::sin(angle);
    }
    for (int h = 0; h < num_heads; ++h) {
      float* v = x + (t * num_heads + h) * head_dim;
      for (int i = 0; i < half; ++i) {
        const int i0 = interleaved ? 2 * i : i;
        const int i1 = interleaved ? 2 * i + 1 : i + half;
        const double a = v[i0], b = v[i1];
        v[i0] = static_cast<float>(a * cs[2 * i] - b * cs[2 * i + 1]);
        v[i1] = static_cast<float>(a * cs[2 * i + 1] + b * cs[2 * i]);
      }
    }
  }
}

void SiluMul(const float* gate_up, int64_t num_rows, int64_t n, float* out) {
  const bool avx2 = cpu::UsesAvx2(cpu::SelectedIsa());
  for (int64_t r = 0; r < num_rows; ++r) {
    const float* g = gate_up + r * 2 * n;
    if (avx2) {
      avx2::SiluMul(g, g + n, out + r * n, n);
    } else {
      cpu::SiluMulPortable(g, g + n, out + r * n, n);
    }
  }
}

void Add(float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] += b[i];
}

void WriteKvCache(const float* k, const float* v, const int64_t* slot_mapping, int64_t num_tokens,
                  int num_kv_heads, int head_dim, int block_size, float* k_cache, float* v_cache) {
  cpu::WriteKvCacheOn(cpu::SelectedIsa(), k, v, slot_mapping, num_tokens, num_kv_heads, head_dim,
                      block_size, k_cache, v_cache);
}

void WriteKvCache(const float* k, const float* v, const int64_t* slot_mapping, int64_t num_tokens,
                  int num_kv_heads, int head_dim, int block_size, uint16_t* k_cache, uint16_t* v_cache) {
  cpu::WriteKvCacheOn(cpu::SelectedIsa(), k, v, slot_mapping, num_tokens, num_kv_heads, head_dim,
                      block_size, k_cache, v_cache);
}

void PagedAttention(const float* q, const float* k_cache, const float* v_cache,
                    const AttentionMetadata& meta, int num_heads, int num_kv_heads, int head_dim,
                    float scale, float* out, ThreadPool* pool) {
  cpu::PagedAttentionOn(cpu::SelectedIsa(), q, k_cache, v_cache, meta, num_heads, num_kv_heads,
                        head_dim, scale, out, pool);
}

void PagedAttention(const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                    const AttentionMetadata& meta, int num_heads, int num_kv_heads, int head_dim,
                    float scale, float* out, ThreadPool* pool) {
  cpu::PagedAttentionOn(cpu::SelectedIsa(), q, k_cache, v_cache, meta, num_heads, num_kv_heads,
                        head_dim, scale, out, pool);
}

const char* KernelIsa() { return cpu::IsaName(cpu::SelectedIsa()); }

}  // namespace pagoda
