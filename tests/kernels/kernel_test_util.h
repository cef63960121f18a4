// Helpers for the kernel tests: seeded random data (never zeros) and owned
// weight matrices in any stored format. Not thread-safe (plain test code).
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "kernels/cpu/isa.h"
#include "kernels/ops.h"

namespace pagoda::testing {

inline std::vector<float> RandomFloats(uint32_t seed, int64_t n, float lo = -1.0f,
                                       float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) {
    do {
      f = dist(rng);
    } while (f == 0.0f);
  }
  return v;
}

struct OwnedWeight {
  std::vector<uint8_t> bytes;
  WeightMatrix view;
};

// Random weights: float formats and Q8_0/Q4_0 go through QuantizeRow; the
// K-quants get random bytes with small, finite fp16 super-block scales.
inline OwnedWeight MakeWeight(DType dtype, int64_t rows, int64_t cols, uint32_t seed) {
  OwnedWeight w;
  const DTypeInfo& info = GetDTypeInfo(dtype);
  const size_t row_bytes = static_cast<size_t>(cols / info.block_size * info.block_bytes);
  w.bytes.resize(row_bytes * static_cast<size_t>(rows));
  std::mt19937 rng(seed);
  if (dtype == DType::kQ4_K || dtype == DType::kQ5_K || dtype == DType::kQ6_K) {
    for (uint8_t& b : w.bytes) b = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> scale(0.001f, 0.02f);
    const int64_t blocks = rows * cols / info.block_size;
    for (int64_t b = 0; b < blocks; ++b) {
      uint8_t* blk = w.bytes.data() + b * info.block_bytes;
      const uint16_t d = F32ToFp16(scale(rng));
      const uint16_t dmin = F32ToFp16(scale(rng));
      if (dtype == DType::kQ6_K) {
        std::memcpy(blk + 208, &d, 2);
      } else {
        std::memcpy(blk, &d, 2);
        std::memcpy(blk + 2, &dmin, 2);
      }
    }
  } else {
    const std::vector<float> f = RandomFloats(seed, rows * cols);
    for (int64_t r = 0; r < rows; ++r) {
      QuantizeRow(dtype, f.data() + r * cols, w.bytes.data() + r * row_bytes, cols);
    }
  }
  w.view = WeightMatrix{dtype, rows, cols, w.bytes.data(), row_bytes};
  return w;
}

// The instruction sets this machine can test.
inline std::vector<cpu::Isa> TestableIsas() {
  std::vector<cpu::Isa> isas = {cpu::Isa::kPortable};
  if (cpu::CpuSupportsAvx2()) isas.push_back(cpu::Isa::kAvx2);
  return isas;
}

}  // namespace pagoda::testing
