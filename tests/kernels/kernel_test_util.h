// Helpers for the kernel tests: seeded random data (never zeros) and owned
// weight matrices in any stored format. Not thread-safe (plain test code).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/repack.h"
#include "kernels/cpu/reference.h"
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

// w (file order, cpu::CanRepack) repacked by eight into owned bytes
// (kernels/cpu/repack.h): kQ4_0x8 for Q4_0, kQ8_0x8 for Q8_0, kFloatX8 for
// F32/F16/BF16.
inline OwnedWeight Repacked(const OwnedWeight& w) {
  OwnedWeight out;
  out.bytes.resize(w.bytes.size());
  out.view = cpu::Repack(w.view, out.bytes.data());
  return out;
}

// A MatMul shape for weights repacked by eight: n weight rows (a multiple
// of 8), `rows` rows of x, `cols` columns.
struct GroupedShape {
  int64_t n, rows, cols;
};

// `fixed`, then `count` random shapes: 1..max_groups groups of eight weight
// rows (odd counts too), x rows 1..70 one time in three (past the tiles and
// the 64-row x blocks) or else 1..9, cols 1..max_col_steps times col_step.
inline std::vector<GroupedShape> RandomGroupedShapes(uint32_t seed, int count, int64_t max_groups,
                                                     int64_t col_step, int64_t max_col_steps,
                                                     std::vector<GroupedShape> fixed) {
  std::mt19937 rng(seed);
  for (int i = 0; i < count; ++i) {
    const int64_t n = 8 * (1 + static_cast<int64_t>(rng() % max_groups));
    const int64_t rows = rng() % 3 == 0 ? 1 + static_cast<int64_t>(rng() % 70)
                                         : 1 + static_cast<int64_t>(rng() % 9);
    const int64_t cols = col_step * (1 + static_cast<int64_t>(rng() % max_col_steps));
    fixed.push_back({n, rows, cols});
  }
  return fixed;
}

// Bit-for-bit equality of two float arrays.
inline ::testing::AssertionResult SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << "sizes differ";
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
      return ::testing::AssertionFailure() << "element " << i << ": " << a[i] << " vs " << b[i];
    }
  }
  return ::testing::AssertionSuccess();
}

// x as MatMul's block-quantized kernels see it: each row quantized as
// ref::QuantizeActivationRow does, then q * d as float (exact).
inline std::vector<float> QuantizedActivations(DType weight_type, const std::vector<float>& x,
                                               int64_t rows, int64_t cols) {
  const int block = GetDTypeInfo(weight_type).block_size;
  std::vector<int8_t> q(static_cast<size_t>(cols));
  std::vector<float> d(static_cast<size_t>(cols / block));
  std::vector<float> out(x.size());
  for (int64_t m = 0; m < rows; ++m) {
    ref::QuantizeActivationRow(block, x.data() + m * cols, cols, q.data(), d.data(), nullptr);
    for (int64_t k = 0; k < cols; ++k) out[m * cols + k] = static_cast<float>(q[k]) * d[k / block];
  }
  return out;
}

// Per-element magnitudes that bound what the block-quantized kernels add up
// for one weight row: |w| for Q8_0/Q4_0; for the K-quants, which sum the
// scaled quants and the mins (or Q6_K's offset of 32) separately and
// subtract at the end, |scaled quant| + |min part|. Float rounding errors
// are relative to these, not to |w|.
inline std::vector<float> TermMagnitudes(DType t, const uint8_t* row, int64_t cols) {
  std::vector<float> w(static_cast<size_t>(cols));
  DequantizeRow(t, row, w.data(), cols);
  size_t quant_begin = 0, quant_end = 0;  // the quant bits of a K-quant block
  if (t == DType::kQ4_K) quant_begin = 16, quant_end = 144;
  if (t == DType::kQ5_K) quant_begin = 16, quant_end = 176;
  if (t == DType::kQ6_K) quant_begin = 0, quant_end = 192;
  if (quant_end == 0) {
    for (float& v : w) v = std::fabs(v);
    return w;
  }
  // With every quant zero, a block dequantizes to its min part alone.
  const size_t block_bytes = GetDTypeInfo(t).block_bytes;
  const int64_t blocks = cols / GetDTypeInfo(t).block_size;
  std::vector<uint8_t> zeroed(row, row + blocks * block_bytes);
  for (int64_t b = 0; b < blocks; ++b) {
    std::memset(zeroed.data() + b * block_bytes + quant_begin, 0, quant_end - quant_begin);
  }
  std::vector<float> mins(w.size());
  DequantizeRow(t, zeroed.data(), mins.data(), cols);
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::fabs(w[i] - mins[i]) + std::fabs(mins[i]);
  return w;
}

// The instruction sets this machine can test.
inline std::vector<cpu::Isa> TestableIsas() {
  std::vector<cpu::Isa> isas = {cpu::Isa::kPortable};
  if (cpu::CpuSupportsAvx2()) isas.push_back(cpu::Isa::kAvx2);
  // Only the repacked Q4_0 / Q8_0 products differ from kAvx2 here; every
  // test over the ISAs runs them too.
  if (cpu::CpuSupportsAvx512Vnni()) {
    isas.push_back(cpu::Isa::kAvx512Vnni);
  } else {
    static const bool noted = [] {
      std::fprintf(stderr, "[ note ] this CPU has no AVX-512 VNNI: those kernels are not tested here\n");
      return true;
    }();
    (void)noted;
  }
  return isas;
}

}  // namespace pagoda::testing
