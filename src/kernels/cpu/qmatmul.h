// Quantized-activation MatMul for the block-quantized weight types (Q8_0,
// Q4_0, Q4_K, Q5_K, Q6_K): each row of x is quantized once to 8-bit blocks
// and reused for every weight row, and the products are integer dot
// products. This is where quantized decode gets its speed: unpacking a
// weight block into int8 and multiplying in the integer domain takes a
// fraction of the instructions of converting it to float.
//
// The arithmetic is defined exactly (below), so the AVX2 kernels, the
// portable ones and the plain reference give the same bits, and every
// output element depends only on its own x row: the products are batch
// invariant by construction.
//
// Activation quantization of one row, in blocks of B = 32 (kBlock32, for
// Q8_0 / Q4_0) or B = 256 (kBlock256, for the K-quants):
//   amax = max |x_i|, d = amax / 127, id = amax ? 127 / amax : 0,
//   q_i = round-half-even(x_i * id) (float ops, each rounded);
//   kBlock256 also keeps bsum_j = sum of q over each 16 elements.
//
// Dot product of a weight row with a quantized x row. "Lane" l (0..7) of a
// 32-element unit covers its elements 4l .. 4l+3 (what one int32 of an AVX2
// maddubs + madd holds).
//   Q8_0 / Q4_0, block b: L_l = sum over the lane of w_i * q_i (signed
//     weight ints), then acc_l = fma(float(L_l), d_w * d_x, acc_l).
//   K-quants, super-block b of 8 units: L_l = sum over units u of
//     s_u(l) * sum over the lane of w_i * q_i, with w_i the unsigned weight
//     int and s_u(l) the lane's integer sub-block scale;
//     M = Q4_K/Q5_K: sum_j min_j * (q sum of sub-block j),
//         Q6_K: 32 * sum_j scale_j * bsum_j (its offset of 32);
//     acc_l = fma(float(L_l), d_w * d_x, acc_l),
//     accm = fma(float(M), m_w * d_x, accm) with m_w = dmin (Q4_K/Q5_K) or
//     d (Q6_K).
//   y = ((acc_0 + acc_4) + (acc_2 + acc_6)) + ((acc_1 + acc_5) + (acc_3 + acc_7))
//       (- accm for the K-quants).
//
// Q4_0 repacked by eight (WeightLayout::kQ4_0x8, kernels/cpu/repack.h) has
// its own, lane-free definition, so eight weight rows fill one vector and no
// horizontal sum is needed: per weight row, per block b in order from 0,
//   D_b = sum over the 32 elements of (nibble_i - 8) * q_i (exact),
//   acc = fma(float(D_b), d_w * d_x, acc)   (acc starts at +0),
//   y = acc.
// It therefore differs from file-order Q4_0 in the last bits; the loader
// repacks on every path, so all paths read the same layout and agree.
// Q8_0 repacked by eight (WeightLayout::kQ8_0x8) is defined the same way,
// with the signed weight bytes w_i (-128 included: files may hold it):
//   D_b = sum over the 32 elements of w_i * q_i (exact),
//   acc = fma(float(D_b), d_w * d_x, acc)   (acc starts at +0),
//   y = acc,
// which may likewise differ from file-order Q8_0 in the last bits.
// Every integer above is exact in int32.
//
// Pure functions over caller-owned memory: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/ops.h"

namespace pagoda::cpu {

enum class ActFormat {
  kFloat,     // no activation quantization (float weight types)
  kBlock32,   // Q8_0 / Q4_0
  kBlock256,  // Q4_K / Q5_K / Q6_K
};

// The activation format MatMul uses for a weight type.
ActFormat ActFormatFor(DType dtype);
inline int ActBlock(ActFormat f) {
  return f == ActFormat::kBlock32 ? 32 : (f == ActFormat::kBlock256 ? 256 : 1);
}

// num_rows rows of x quantized in one format. Row m's ints start at
// q + m * cols, its scales at d + m * (cols / block), its 16-element sums
// (kBlock256 only) at bsums + m * (cols / 16).
//
// kBlock32 also keeps, per block, two derived vectors that let the AVX2
// tiles take every x operand straight from memory (their registers are all
// taken by accumulators and weights): d8, the scale repeated 8 times, and
// corr8, 8 * (the lane sums of q), which undoes Q4_0's + 8 on its nibbles;
// and corr32, 8 * (the sum of q over the block), the same for kQ4_0x8.
struct QuantizedActs {
  ActFormat format = ActFormat::kBlock32;
  int64_t num_rows = 0;
  int64_t cols = 0;
  const int8_t* q = nullptr;
  const float* d = nullptr;
  const int16_t* bsums = nullptr;
  const float* d8 = nullptr;       // kBlock32: [rows, blocks, 8]
  const int32_t* corr8 = nullptr;  // kBlock32: [rows, blocks, 8]
  const int32_t* corr32 = nullptr; // kBlock32: [rows, blocks]

  int64_t blocks_per_row() const { return cols / ActBlock(format); }
  const int8_t* q_row(int64_t m) const { return q + m * cols; }
  const float* d_row(int64_t m) const { return d + m * blocks_per_row(); }
  const int16_t* bsums_row(int64_t m) const { return bsums + m * (cols / 16); }
  const float* d8_row(int64_t m) const { return d8 + m * blocks_per_row() * 8; }
  const int32_t* corr8_row(int64_t m) const { return corr8 + m * blocks_per_row() * 8; }
  const int32_t* corr32_row(int64_t m) const { return corr32 + m * blocks_per_row(); }
};

// Owns the storage of a QuantizedActs; grows on demand and is reused.
class ActBuffer {
 public:
  // Sizes the buffer for num_rows x cols and returns a view whose arrays
  // the quantizers fill.
  QuantizedActs Reset(ActFormat format, int64_t num_rows, int64_t cols);

 private:
  std::vector<int8_t> q_;
  std::vector<float> d_;
  std::vector<int16_t> bsums_;
  std::vector<float> d8_;
  std::vector<int32_t> corr8_;
  std::vector<int32_t> corr32_;
};

// Quantizes rows [m_begin, m_end) of x (row stride qa.cols) into qa's
// arrays (d8, corr8 and corr32 included), which must come from an ActBuffer (they
// are written through).
void QuantizeActsPortable(const float* x, const QuantizedActs& qa, int64_t m_begin, int64_t m_end);

// y[m * y_stride + (n - n_begin)] for every row m of qa and every weight row
// n in [n_begin, n_end), on one thread. w.dtype must have a block format.
void QMatMulRangePortable(const WeightMatrix& w, const QuantizedActs& qa, float* y,
                          int64_t y_stride, int64_t n_begin, int64_t n_end);

// The same for a kQ4_0x8 or kQ8_0x8 weight (qmatmul_x8.cc); n_begin and
// n_end must be multiples of 8 (whole groups).
void QMatMulX8RangePortable(const WeightMatrix& w, const QuantizedActs& qa, float* y, int64_t y_stride,
                            int64_t n_begin, int64_t n_end);

}  // namespace pagoda::cpu

namespace pagoda::avx2 {

// Same contracts, for CPUs with AVX2+FMA+F16C (qmatmul_avx2.cc and
// qmatmul_kquant_avx2.cc).
void QuantizeActs(const float* x, const cpu::QuantizedActs& qa, int64_t m_begin, int64_t m_end);
void QMatMulRange(const WeightMatrix& w, const cpu::QuantizedActs& qa, float* y, int64_t y_stride,
                  int64_t n_begin, int64_t n_end);
// kQ4_0x8 and kQ8_0x8 weights (qmatmul_x8_avx2.cc).
void QMatMulX8Range(const WeightMatrix& w, const cpu::QuantizedActs& qa, float* y, int64_t y_stride,
                    int64_t n_begin, int64_t n_end);
// The K-quant part of QMatMulRange.
void QMatMulRangeKQuant(const WeightMatrix& w, const cpu::QuantizedActs& qa, float* y,
                        int64_t y_stride, int64_t n_begin, int64_t n_end);

}  // namespace pagoda::avx2

namespace pagoda::vnni {

// kQ4_0x8 and kQ8_0x8 weights with AVX-512 VNNI integer dots, for CPUs where
// cpu::CpuSupportsAvx512Vnni() (qmatmul_x8_vnni.cc): the same contract and
// the same bits as avx2's.
void QMatMulX8Range(const WeightMatrix& w, const cpu::QuantizedActs& qa, float* y, int64_t y_stride,
                    int64_t n_begin, int64_t n_end);

}  // namespace pagoda::vnni
