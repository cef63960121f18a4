// Element conversions between float and pagoda's stored weight formats, one
// row at a time, bit-exact with ggml's reference definitions (these are the
// ground truth the matmul kernels are tested against). Also the K-quant block
// layouts, which only the dequantizers need. Pure functions: thread-safe.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace pagoda::cpu {

// ggml's super-block layouts for the K-quants (QK_K = 256 elements).
constexpr int kKScaleSize = 12;

struct BlockQ4K {
  uint16_t d;                   // fp16 scale of the 6-bit sub-block scales
  uint16_t dmin;                // fp16 scale of the 6-bit sub-block mins
  uint8_t scales[kKScaleSize];  // 8 scales + 8 mins, 6 bits each, packed
  uint8_t qs[kQK_K / 2];        // 4-bit quants
};
static_assert(sizeof(BlockQ4K) == 144);

struct BlockQ5K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK_K / 8];  // fifth bit of each quant
  uint8_t qs[kQK_K / 2];  // low 4 bits
};
static_assert(sizeof(BlockQ5K) == 176);

struct BlockQ6K {
  uint8_t ql[kQK_K / 2];      // low 4 bits
  uint8_t qh[kQK_K / 4];      // high 2 bits
  int8_t scales[kQK_K / 16];  // 8-bit sub-block scales
  uint16_t d;                 // fp16 super-block scale
};
static_assert(sizeof(BlockQ6K) == 210);

// Whether DequantizeRow / QuantizeRow handle the type.
bool CanDequantize(DType dtype);
bool CanQuantize(DType dtype);

void DequantizeQ4K(const BlockQ4K* src, float* dst, int64_t n);
void DequantizeQ5K(const BlockQ5K* src, float* dst, int64_t n);
void DequantizeQ6K(const BlockQ6K* src, float* dst, int64_t n);
void QuantizeQ6K(const float* src, BlockQ6K* dst, int64_t n);

}  // namespace pagoda::cpu
