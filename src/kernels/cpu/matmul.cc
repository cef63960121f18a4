// MatMul driver: checks the weight, splits the output features across the
// pool and runs one kernel per slice. Every y[m, n] is computed entirely by
// one thread with an order that depends only on k (see the kernels), so the
// split — and the thread count — never changes a bit of the result.
//
// F32 does not go through OpenBLAS: 0.3.21's sgemm is not batch invariant
// (measured: the same output element differs in its last bits between a
// 1-row and a 17-row call, and between column slices of different widths,
// because the library picks different micro-kernels by shape). F32 therefore
// uses pagoda's own kernels like every other dtype; MatMulF32Blas stays for
// the benchmarks, as the yardstick.
#include "kernels/cpu/matmul.h"

#include <cblas.h>

#include <mutex>
#include <vector>

#include "base/check.h"
#include "kernels/cpu/quant.h"
#include "kernels/cpu/vec.h"

extern "C" void openblas_set_num_threads(int num_threads);

namespace pagoda::cpu {

namespace {

// pagoda's pool owns the cores; OpenBLAS running its own threads inside it
// would oversubscribe them (docs/architecture.md, "Known traps").
void EnsureBlasSingleThreaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

}  // namespace

void MatMulF32Blas(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                   int64_t n_begin, int64_t n_end) {
  EnsureBlasSingleThreaded();
  const float* wp = reinterpret_cast<const float*>(w.data + n_begin * w.row_bytes);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(num_rows),
              static_cast<int>(n_end - n_begin), static_cast<int>(w.cols), 1.0f, x,
              static_cast<int>(w.cols), wp, static_cast<int>(w.row_bytes / sizeof(float)), 0.0f,
              y + n_begin, static_cast<int>(w.rows));
}

namespace {

// Scratch row for dequantized weights, one per thread, grown on demand.
float* ScratchRow(int64_t n) {
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

}  // namespace

void MatMulRangePortable(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                         int64_t n_begin, int64_t n_end) {
  const int64_t k = w.cols;
  float* row = w.dtype == DType::kF32 ? nullptr : ScratchRow(k);
  for (int64_t n = n_begin; n < n_end; ++n) {
    const float* wr;
    if (row == nullptr) {
      wr = reinterpret_cast<const float*>(w.data + n * w.row_bytes);
    } else {
      DequantizeRow(w.dtype, w.data + n * w.row_bytes, row, k);
      wr = row;
    }
    // Dequantize once, reuse for every row of x.
    for (int64_t m = 0; m < num_rows; ++m) y[m * w.rows + n] = DotPortable(x + m * k, wr, k);
  }
}

void MatMulOn(Isa isa, const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
              ThreadPool* pool) {
  CHECK(CanDequantize(w.dtype)) << "MatMul: unsupported weight dtype " << DTypeName(w.dtype);
  CHECK_EQ(w.cols % GetDTypeInfo(w.dtype).block_size, 0);
  if (num_rows <= 0 || w.rows <= 0) return;
  auto run = [&](int64_t n_begin, int64_t n_end) {
    if (isa != Isa::kAvx2 || !avx2::MatMulRange(w, x, num_rows, y, n_begin, n_end)) {
      MatMulRangePortable(w, x, num_rows, y, n_begin, n_end);
    }
  };
  // A parallel region costs a few microseconds: not worth it for tiny products.
  const double work = static_cast<double>(num_rows) * static_cast<double>(w.rows) *
                      static_cast<double>(w.cols);
  if (pool == nullptr || pool->num_threads() == 1 || work < 65536.0) {
    run(0, w.rows);
    return;
  }
  // Slices in multiples of 16 output features keep the kernels' column tiles
  // whole.
  pool->ParallelFor(w.rows, run, 16);
}

}  // namespace pagoda::cpu
