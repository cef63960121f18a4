#include "tensor/dtype.h"

#include <array>
#include <cctype>
#include <limits>
#include <string>

namespace pagoda {

namespace {
// Indexed by DType's underlying value.
constexpr std::array<DTypeInfo, 19> kInfos = {{
    {"f32", 1, 4, 0},
    {"f16", 1, 2, 1},
    {"bf16", 1, 2, 30},
    {"q8_0", 32, 34, 8},
    {"q4_0", 32, 18, 2},
    {"q4_1", 32, 20, 3},
    {"q5_0", 32, 22, 6},
    {"q5_1", 32, 24, 7},
    {"q2_k", 256, 84, 10},
    {"q3_k", 256, 110, 11},
    {"q4_k", 256, 144, 12},
    {"q5_k", 256, 176, 13},
    {"q6_k", 256, 210, 14},
    {"q8_k", 256, 292, 15},
    {"i8", 1, 1, 24},
    {"i16", 1, 2, 25},
    {"i32", 1, 4, 26},
    {"i64", 1, 8, 27},
    {"f64", 1, 8, 28},
}};
}  // namespace

const DTypeInfo& GetDTypeInfo(DType t) { return kInfos[static_cast<size_t>(t)]; }

std::optional<size_t> RowBytes(DType t, uint64_t n) {
  const DTypeInfo& info = GetDTypeInfo(t);
  if (n % static_cast<uint64_t>(info.block_size) != 0) return std::nullopt;
  const uint64_t blocks = n / static_cast<uint64_t>(info.block_size);
  if (blocks > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(info.block_bytes)) {
    return std::nullopt;
  }
  const uint64_t bytes = blocks * static_cast<uint64_t>(info.block_bytes);
  if (bytes > std::numeric_limits<size_t>::max()) return std::nullopt;
  return static_cast<size_t>(bytes);
}

std::optional<DType> DTypeFromGgml(uint32_t ggml_type) {
  for (size_t i = 0; i < kInfos.size(); ++i) {
    if (static_cast<uint32_t>(kInfos[i].ggml_type) == ggml_type) return static_cast<DType>(i);
  }
  return std::nullopt;
}

std::optional<DType> DTypeFromName(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t i = 0; i < kInfos.size(); ++i) {
    if (kInfos[i].name == lower) return static_cast<DType>(i);
  }
  return std::nullopt;
}

}  // namespace pagoda
