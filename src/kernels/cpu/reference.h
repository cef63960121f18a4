// Plain-loop reference versions of the ops in kernels/ops.h: the ground truth
// for the parity tests of the fast kernels, written to be obviously correct
// rather than fast (double accumulation, no tiling, one thread). Same
// contracts as the ops they mirror. Reentrant: thread-safe.
#pragma once

#include <cstdint>

#include "kernels/ops.h"

namespace pagoda::ref {

// Dequantizes each weight row with DequantizeRow and accumulates in double.
void MatMul(const WeightMatrix& w, const float* x, int64_t num_rows, float* y);

// The activation quantization of kernels/cpu/qmatmul.h, written out
// element by element: blocks of `block` (32 or 256) elements of x[n] to
// int8 q[n] and float scales d[n / block]; bsums[n / 16] (may be null)
// receives the sums of 16.
void QuantizeActivationRow(int block, const float* x, int64_t n, int8_t* q, float* d,
                           int16_t* bsums);

// What MatMul computes for a block-quantized weight: each x row quantized
// as above, then sum_k DequantizeRow(w)[n, k] * (q[m, k] * d[m, k / block])
// in double — the exact product of the two quantized operands.
void MatMulQuantizedActs(const WeightMatrix& w, const float* x, int64_t num_rows, float* y);

void RmsNorm(const float* x, const float* weight, int64_t num_rows, int64_t n, float eps,
             float* out);

void Rope(float* x, const int32_t* positions, int64_t num_tokens, int num_heads, int head_dim,
          int rotary_dim, const float* inv_freq, bool interleaved);

void SiluMul(const float* gate_up, int64_t num_rows, int64_t n, float* out);

void Add(float* a, const float* b, int64_t n);

// The cache layout of kernels/ops.h, each element placed by its index
// formula (no code shared with the kernels' scatter).
void WriteKvCache(const float* k, const float* v, const int64_t* slot_mapping, int64_t num_tokens,
                  int num_kv_heads, int head_dim, int block_size, float* k_cache, float* v_cache);
// float16 cache: each element converted by the compiler's own _Float16
// (round to nearest-even; no code shared with base/fp16.h or F16C).
void WriteKvCache(const float* k, const float* v, const int64_t* slot_mapping, int64_t num_tokens,
                  int num_kv_heads, int head_dim, int block_size, uint16_t* k_cache,
                  uint16_t* v_cache);

// The compiler's _Float16 conversions, as bits: the independent yardstick
// for the float16 cache.
uint16_t HalfBits(float x);
float HalfValue(uint16_t bits);

// Gathers each position's K/V through the block table and the cache
// layout's index formulas (a float16 cache widened by HalfValue) and runs
// textbook softmax attention in double.
void PagedAttention(const float* q, const float* k_cache, const float* v_cache,
                    const AttentionMetadata& meta, int num_heads, int num_kv_heads, int head_dim,
                    float scale, float* out);
void PagedAttention(const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                    const AttentionMetadata& meta, int num_heads, int num_kv_heads, int head_dim,
                    float scale, float* out);

}  // namespace pagoda::ref
