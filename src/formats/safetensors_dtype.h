// Mapping between safetensors dtype names ("F32", "BF16", ...) and DType,
// shared by the safetensors reader and writer. Pure functions: thread-safe.
#pragma once

#include <optional>
#include <string_view>

#include "tensor/dtype.h"

namespace pagoda {

// nullopt for names pagoda cannot hold (U8, BOOL, F8_*, ...) and unknown ones.
std::optional<DType> SafetensorsDTypeFromName(std::string_view name);
// nullopt for DTypes safetensors has no name for (the GGUF block quants).
std::optional<std::string_view> SafetensorsDTypeName(DType t);

}  // namespace pagoda
