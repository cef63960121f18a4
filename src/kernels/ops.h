// The CPU op interface the model code calls. Every op has a plain reference
// version (kernels/cpu/reference.h) and, where it matters, an AVX2/FMA/F16C
// version chosen once at run time from CPUID; PAGODA_FORCE_PORTABLE=1 (read in
// kernels/cpu/isa.cc) forces the portable path. All tensors are row-major float32
// unless said otherwise.
//
// Batch invariance: every op computes each output row with the same
// arithmetic, in the same order, whatever the number of rows in the call and
// whatever the thread count. A request's logits therefore never depend on
// what else is in the batch (tests/kernels checks this bit for bit).
//
// Thread-safety: ops are reentrant; `pool` may be null (single-threaded).
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/thread_pool.h"
#include "tensor/dtype.h"

namespace pagoda {

// A 2-D weight matrix [rows = out features, cols = in features] stored
// row-major in its file format: each row is cols elements (F32/F16/BF16) or
// cols / block_size quantized blocks; rows are row_bytes apart.
// How a WeightMatrix's rows sit in memory. kRows: row n starts at data +
// n * row_bytes (every file format's layout). kQ4_0x8, kQ8_0x8: Q4_0 or
// Q8_0 rows repacked at load time in groups of eight, block by block, so
// one vector load feeds eight rows. kFloatX8: F32/F16/BF16 rows repacked
// at load time in groups of eight, eight elements at a time, so batch-1
// decode reads one contiguous stream. All in kernels/cpu/repack.h; only the MatMul ops read them.
enum class WeightLayout : uint8_t { kRows, kQ4_0x8, kFloatX8, kQ8_0x8 };

struct WeightMatrix {
  DType dtype = DType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  const uint8_t* data = nullptr;
  size_t row_bytes = 0;  // kQ4_0x8, kQ8_0x8, kFloatX8: still one row's size (rows * row_bytes = the matrix), not a stride
  WeightLayout layout = WeightLayout::kRows;
};

// y[m, n] = sum_k x[m, k] * w[n, k] for m in [0, num_rows). x is
// [num_rows, w.cols], y is [num_rows, w.rows]. Supported dtypes: F32, F16,
// BF16 (read in their stored format, widened in registers), and the block
// types Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, for which each row of x is first
// quantized to 8-bit blocks (once per call, reused for every weight row) and
// the products are integer dot products — exactly defined in
// kernels/cpu/qmatmul.h; against float x they differ by the activation
// rounding, about 1e-3 relative. Parallel over output features in pagoda's
// pool. F32 uses pagoda's own kernel, not OpenBLAS: sgemm's result depends
// on the batch shape (see kernels/cpu/matmul.cc).
void MatMul(const WeightMatrix& w, const float* x, int64_t num_rows, float* y, ThreadPool* pool);

// ys[i] = MatMul(ws[i], x) for `count` (<= kMaxMatMulMany) weights with the
// same cols, in one parallel region and with x quantized once: the fused
// Q/K/V projection. Each ys[i] is bit-identical to a separate MatMul.
constexpr int kMaxMatMulMany = 4;
void MatMulMany(const WeightMatrix* ws, int count, const float* x, int64_t num_rows,
                float* const* ys, ThreadPool* pool);

// out[m, n] = silu(g) * u = g / (1 + exp(-g)) * u with g = MatMul(gate,
// x)[m, n], u = MatMul(up, x)[m, n] (bit-identical to them) and the
// kernels' own exp (kernels/cpu/exp.h, same bits on every path), computed
// chunk by chunk so the gate and up products are never stored whole: the
// fused MLP input. gate and up have the same shape; out is [num_rows,
// gate.rows].
void MatMulSiluMul(const WeightMatrix& gate, const WeightMatrix& up, const float* x,
                   int64_t num_rows, float* out, ThreadPool* pool);

// Copies row `row` of w, converted to float, into out[w.cols] (embedding look-up).
void GetRow(const WeightMatrix& w, int64_t row, float* out);

// Element conversion for a whole row of n elements (n a multiple of the block size).
void DequantizeRow(DType dtype, const void* src, float* dst, int64_t n);
// Reference quantizers (ggml's round-to-nearest definitions) for F16, BF16,
// Q8_0, Q4_0; used by `pagoda mkmodel` and tests.
void QuantizeRow(DType dtype, const float* src, void* dst, int64_t n);

// out[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight, for num_rows rows of n.
// In place is allowed (out == x).
void RmsNorm(const float* x, const float* weight, int64_t num_rows, int64_t n, float eps,
             float* out);

// Rotary embedding in place on x[num_tokens, num_heads, head_dim]; only the
// first rotary_dim dims of each head rotate. inv_freq[rotary_dim / 2] holds
// the per-pair frequencies (rope scaling already applied). interleaved=true
// rotates pairs (2i, 2i+1) (GGUF llama layout); false rotates (i, i + rotary_dim/2)
// (Hugging Face / NeoX layout).
void Rope(float* x, const int32_t* positions, int64_t num_tokens, int num_heads, int head_dim,
          int rotary_dim, const float* inv_freq, bool interleaved);

// out[i] = silu(gate[i]) * up[i] over num_rows rows of n; gate_up holds each
// row as [gate(n) | up(n)]. Same arithmetic as MatMulSiluMul's activation.
void SiluMul(const float* gate_up, int64_t num_rows, int64_t n, float* out);

// a[i] += b[i]
void Add(float* a, const float* b, int64_t n);

// Paged attention metadata for one forward pass (all layers share it).
// Sequence s owns query rows [query_start_loc[s], query_start_loc[s + 1]);
// its context is seq_lens[s] tokens, the last q_len of which are its queries,
// so query row j of s sits at position seq_lens[s] - q_len + j and attends
// causally to positions [0, that position]. Position p of s lives in cache
// block block_tables[s * max_blocks_per_seq + p / block_size], slot p % block_size.
struct AttentionMetadata {
  int num_seqs = 0;
  const int32_t* query_start_loc = nullptr;  // [num_seqs + 1]
  const int32_t* seq_lens = nullptr;         // [num_seqs]
  const int32_t* block_tables = nullptr;     // [num_seqs, max_blocks_per_seq]
  int max_blocks_per_seq = 0;
  int block_size = 16;
};

// Writes k, v rows [num_tokens, num_kv_heads * head_dim] into the cache at
// slot_mapping[t] (a flat slot = block * block_size + offset; -1 skips).
// Cache layout, per layer (dimensions outermost first):
//   K: [num_blocks][num_kv_heads][head_dim][block_size]: K of slot (b, o),
//      kv head h, dim d at ((b * num_kv_heads + h) * head_dim + d)
//      * block_size + o (one kv head's keys of a block transposed,
//      positions fastest, so attention loads eight positions' element d at
//      once, with no transpose);
//   V: [num_blocks][num_kv_heads][block_size][head_dim]: V of slot (b, o),
//      head h, dim d at ((b * num_kv_heads + h) * block_size + o) * head_dim
//      + d (a row per position, as the weighted sum over positions reads
//      it).
// Either way one kv head's part of a block is head_dim * block_size
// contiguous elements, which attention prefetches whole.
// Both hold num_blocks * block_size * num_kv_heads * head_dim elements,
// float32 (values copied) or float16 (IEEE half as uint16_t bits: each
// value rounded to nearest-even, overflow to inf, subnormals kept, NaN quiet
// with its top payload bits; F16C on the AVX2 path, base/fp16.h's
// conversion otherwise, the same bits either way).
void WriteKvCache(const float* k, const float* v, const int64_t* slot_mapping, int64_t num_tokens,
                  int num_kv_heads, int head_dim, int block_size, float* k_cache, float* v_cache);
void WriteKvCache(const float* k, const float* v, const int64_t* slot_mapping, int64_t num_tokens,
                  int num_kv_heads, int head_dim, int block_size, uint16_t* k_cache,
                  uint16_t* v_cache);

// out[t, h * head_dim ...] = softmax(q . K^T * scale) V over the paged cache,
// grouped-query (query head h reads kv head h / (num_heads / num_kv_heads)).
// q: [num_tokens, num_heads, head_dim]; the cache in WriteKvCache's layout
// with meta.block_size. Parallel over (sequence, query, head).
// A float16 cache is read in place and widened exactly to float; the
// arithmetic is then the float32 cache's (kernels/cpu/attention.h).
void PagedAttention(const float* q, const float* k_cache, const float* v_cache,
                    const AttentionMetadata& meta, int num_heads, int num_kv_heads, int head_dim,
                    float scale, float* out, ThreadPool* pool);
void PagedAttention(const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                    const AttentionMetadata& meta, int num_heads, int num_kv_heads, int head_dim,
                    float scale, float* out, ThreadPool* pool);

// Which instruction set the dispatcher picked ("avx2" or "portable").
const char* KernelIsa();

}  // namespace pagoda
