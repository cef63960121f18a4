// Small vector primitives shared by the CPU kernels, one set per instruction
// set. Each has a fixed summation order that depends only on n, which is what
// keeps the ops batch invariant. Pure functions: thread-safe.
#pragma once

#include <cstdint>

#include "kernels/cpu/isa.h"

namespace pagoda::cpu {

// sum_i a[i] * b[i]: eight interleaved partial sums over the first n & ~7
// elements, a fixed pairwise reduction, then the tail in order.
float DotPortable(const float* a, const float* b, int64_t n);
// y[i] += alpha * x[i]
void AxpyPortable(float alpha, const float* x, float* y, int64_t n);
// out[i] = g[i] / (1 + Exp(-g[i])) * u[i] (Exp of kernels/cpu/exp.h): the
// gated activation of the MLP, bit-identical on both paths.
void SiluMulPortable(const float* g, const float* u, float* out, int64_t n);

}  // namespace pagoda::cpu

namespace pagoda::avx2 {

// Same contracts, for CPUs with AVX2+FMA+F16C (defined in *_avx2.cc files).
float Dot(const float* a, const float* b, int64_t n);
void Axpy(float alpha, const float* x, float* y, int64_t n);
void SiluMul(const float* g, const float* u, float* out, int64_t n);

}  // namespace pagoda::avx2
