// DType: the element types pagoda stores weights and activations in, with
// GGUF's block-quantized formats. A quantized row of n elements is n /
// block_size blocks of block_bytes each, laid out as ggml defines them.
// Pure data and functions: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace pagoda {

enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kQ8_0,
  kQ4_0,
  kQ4_1,
  kQ5_0,
  kQ5_1,
  kQ2_K,
  kQ3_K,
  kQ4_K,
  kQ5_K,
  kQ6_K,
  kQ8_K,
  kI8,
  kI16,
  kI32,
  kI64,
  kF64,
};

struct DTypeInfo {
  std::string_view name;   // "f32", "q8_0", ... (ggml's names)
  int block_size;          // elements per block (1 for plain types)
  int block_bytes;         // bytes per block
  int ggml_type;           // ggml_type id in GGUF files
};

const DTypeInfo& GetDTypeInfo(DType t);
inline std::string_view DTypeName(DType t) { return GetDTypeInfo(t).name; }
inline bool IsQuantized(DType t) { return GetDTypeInfo(t).block_size > 1; }

// Bytes of one row of n elements; nullopt when n is not a whole number of
// blocks (a malformed tensor) or the size overflows.
std::optional<size_t> RowBytes(DType t, uint64_t n);

// GGUF ggml_type id -> DType; nullopt for ids pagoda does not know.
std::optional<DType> DTypeFromGgml(uint32_t ggml_type);
// Name ("f16", "q4_0", "bf16", ...) -> DType, case-insensitive.
std::optional<DType> DTypeFromName(std::string_view name);

// ggml block layouts (bit-exact with the GGUF format definition).
constexpr int kQK8_0 = 32;
constexpr int kQK4_0 = 32;
constexpr int kQK_K = 256;

struct BlockQ8_0 {
  uint16_t d;       // fp16 scale
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ4_0 {
  uint16_t d;              // fp16 scale
  uint8_t qs[kQK4_0 / 2];  // element j in low nibble of qs[j], j+16 in high
};
static_assert(sizeof(BlockQ4_0) == 18);

}  // namespace pagoda
