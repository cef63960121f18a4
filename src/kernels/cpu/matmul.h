// MatMul internals exposed for tests and benchmarks: the ops with an
// explicit instruction set, and the per-ISA single-threaded kernels that
// compute a slice of output features. Reentrant: thread-safe.
#pragma once

#include <cstdint>

#include "kernels/cpu/isa.h"
#include "kernels/ops.h"

namespace pagoda::cpu {

// The ops of kernels/ops.h on the given path (kAvx2 only where
// CpuSupportsAvx2(), kAvx512Vnni only where CpuSupportsAvx512Vnni()).
void MatMulOn(Isa isa, const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
              ThreadPool* pool);
void MatMulManyOn(Isa isa, const WeightMatrix* ws, int count, const float* x, int64_t num_rows,
                  float* const* ys, ThreadPool* pool);
void MatMulSiluMulOn(Isa isa, const WeightMatrix& gate, const WeightMatrix& up, const float* x,
                     int64_t num_rows, float* out, ThreadPool* pool);

// Float weight types (F32/F16/BF16): y[m * y_stride + (n - n_begin)] for
// all m and n in [n_begin, n_end), on one thread.
void MatMulRangePortable(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                         int64_t y_stride, int64_t n_begin, int64_t n_end);

// F32 through OpenBLAS sgemm (single-threaded BLAS) on columns
// [n_begin, n_end) of y (row stride w.rows): not batch invariant, so MatMul
// does not use it; kept as the benchmarks' yardstick.
void MatMulF32Blas(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                   int64_t n_begin, int64_t n_end);

}  // namespace pagoda::cpu

namespace pagoda::avx2 {

// Same contract as cpu::MatMulRangePortable (defined in matmul_avx2.cc).
// Returns false for dtypes it has no kernel for.
bool MatMulRange(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                 int64_t y_stride, int64_t n_begin, int64_t n_end);

}  // namespace pagoda::avx2
