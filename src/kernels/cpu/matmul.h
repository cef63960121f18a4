// MatMul internals exposed for tests and benchmarks: the op with an explicit
// instruction set, and the per-ISA single-threaded kernels that compute a
// slice of output features. Reentrant: thread-safe.
#pragma once

#include <cstdint>

#include "kernels/cpu/isa.h"
#include "kernels/ops.h"

namespace pagoda::cpu {

// MatMul on the given path (kAvx2 only where CpuSupportsAvx2()).
void MatMulOn(Isa isa, const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
              ThreadPool* pool);

// y[m, n] for all m and n in [n_begin, n_end), on one thread. y's row stride
// is w.rows.
void MatMulRangePortable(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                         int64_t n_begin, int64_t n_end);

// F32 through OpenBLAS sgemm (single-threaded BLAS) on columns
// [n_begin, n_end): not batch invariant, so MatMul does not use it; kept as
// the benchmarks' yardstick.
void MatMulF32Blas(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                   int64_t n_begin, int64_t n_end);

}  // namespace pagoda::cpu

namespace pagoda::avx2 {

// Same contract as cpu::MatMulRangePortable (defined in matmul_avx2.cc).
// Returns false for dtypes it has no kernel for.
bool MatMulRange(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                 int64_t n_begin, int64_t n_end);
// The Q4_K / Q5_K / Q6_K part of it (matmul_kquant_avx2.cc).
bool MatMulRangeKQuant(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                       int64_t n_begin, int64_t n_end);

}  // namespace pagoda::avx2
