// DequantizeRow / QuantizeRow: ggml's round-to-nearest reference formats.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "base/fp16.h"
#include "kernels/cpu/quant.h"
#include "kernels/ops.h"

namespace pagoda {

namespace cpu {

bool CanDequantize(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}

bool CanQuantize(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}

}  // namespace cpu

namespace {

void DequantizeQ8_0(const BlockQ8_0* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK8_0; ++b) {
    const float d = Fp16ToF32(src[b].d);
    for (int j = 0; j < kQK8_0; ++j) dst[b * kQK8_0 + j] = static_cast<float>(src[b].qs[j]) * d;
  }
}

void DequantizeQ4_0(const BlockQ4_0* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const float d = Fp16ToF32(src[b].d);
    float* out = dst + b * kQK4_0;
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      out[j] = static_cast<float>((src[b].qs[j] & 0x0f) - 8) * d;
      out[j + kQK4_0 / 2] = static_cast<float>((src[b].qs[j] >> 4) - 8) * d;
    }
  }
}

// ggml quantize_row_q8_0_ref: d = amax / 127, q = round(x * (1 / d)).
void QuantizeQ8_0(const float* src, BlockQ8_0* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK8_0; ++b) {
    const float* x = src + b * kQK8_0;
    float amax = 0.0f;
    for (int j = 0; j < kQK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    dst[b].d = F32ToFp16(d);
    for (int j = 0; j < kQK8_0; ++j) {
      dst[b].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
    }
  }
}

// ggml quantize_row_q4_0_ref: the element of largest magnitude, sign kept,
// maps to -8; q = min(15, (int8)(x / d + 8.5)).
void QuantizeQ4_0(const float* src, BlockQ4_0* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const float* x = src + b * kQK4_0;
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < kQK4_0; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    dst[b].d = F32ToFp16(d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[j + kQK4_0 / 2] * id;
      const uint8_t q0 = static_cast<uint8_t>(std::min<int8_t>(15, static_cast<int8_t>(x0 + 8.5f)));
      const uint8_t q1 = static_cast<uint8_t>(std::min<int8_t>(15, static_cast<int8_t>(x1 + 8.5f)));
      dst[b].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

}  // namespace

void DequantizeRow(DType dtype, const void* src, float* dst, int64_t n) {
  CHECK_EQ(n % GetDTypeInfo(dtype).block_size, 0) << DTypeName(dtype) << " row of " << n;
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::kF16: {
      const uint16_t* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = Fp16ToF32(h[i]);
      return;
    }
    case DType::kBF16: {
      const uint16_t* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToF32(h[i]);
      return;
    }
    case DType::kQ8_0:
      DequantizeQ8_0(static_cast<const BlockQ8_0*>(src), dst, n);
      return;
    case DType::kQ4_0:
      DequantizeQ4_0(static_cast<const BlockQ4_0*>(src), dst, n);
      return;
    case DType::kQ4_K:
      cpu::DequantizeQ4K(static_cast<const cpu::BlockQ4K*>(src), dst, n);
      return;
    case DType::kQ5_K:
      cpu::DequantizeQ5K(static_cast<const cpu::BlockQ5K*>(src), dst, n);
      return;
    case DType::kQ6_K:
      cpu::DequantizeQ6K(static_cast<const cpu::BlockQ6K*>(src), dst, n);
      return;
    default:
      CHECK(false) << "DequantizeRow: unsupported dtype " << DTypeName(dtype);
  }
}

void QuantizeRow(DType dtype, const float* src, void* dst, int64_t n) {
  CHECK_EQ(n % GetDTypeInfo(dtype).block_size, 0) << DTypeName(dtype) << " row of " << n;
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::kF16: {
      uint16_t* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = F32ToFp16(src[i]);
      return;
    }
    case DType::kBF16: {
      uint16_t* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = F32ToBf16(src[i]);
      return;
    }
    case DType::kQ8_0:
      QuantizeQ8_0(src, static_cast<BlockQ8_0*>(dst), n);
      return;
    case DType::kQ4_0:
      QuantizeQ4_0(src, static_cast<BlockQ4_0*>(dst), n);
      return;
    case DType::kQ6_K:
      cpu::QuantizeQ6K(src, static_cast<cpu::BlockQ6K*>(dst), n);
      return;
    default:
      CHECK(false) << "QuantizeRow: unsupported dtype " << DTypeName(dtype);
  }
}

}  // namespace pagoda
