// MatMul driver: checks the weights, quantizes x once per call for the
// block-quantized types (kernels/cpu/qmatmul.h), splits the output features
// across the pool and runs one kernel per slice (whole groups of eight rows
// for Q4_0, Q8_0 and the float types repacked by eight,
// kernels/cpu/repack.h). Every y[m, n] is computed entirely by one thread
// with an order that depends only on k and on row m of x (see the kernels),
// so the split — and the thread count — never changes a bit of the result.
//
// F32 does not go through OpenBLAS: 0.3.21's sgemm is not batch invariant
// (measured: the same output element differs in its last bits between a
// 1-row and a 17-row call, and between column slices of different widths,
// because the library picks different micro-kernels by shape). F32 therefore
// uses pagoda's own kernels like every other dtype; MatMulF32Blas stays for
// the benchmarks, as the yardstick.
#include "kernels/cpu/matmul.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <vector>

#include "base/check.h"
#include "kernels/cpu/qmatmul.h"
#include "kernels/cpu/quant.h"
#include "kernels/cpu/repack.h"
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

// x as one weight type's kernels read it: float rows, or quantized rows.
struct Operand {
  ActFormat format = ActFormat::kFloat;
  QuantizedActs qa;
};

// Quantized x lives in the calling thread's buffers until its next MatMul;
// the pool's workers only read it during the call.
ActBuffer& BufferFor(ActFormat f) {
  thread_local ActBuffer block32, block256;
  return f == ActFormat::kBlock32 ? block32 : block256;
}

QuantizedActs Quantize(Isa isa, ActFormat f, const float* x, int64_t rows, int64_t cols,
                       ThreadPool* pool) {
  const QuantizedActs qa = BufferFor(f).Reset(f, rows, cols);
  auto run = [&](int64_t b, int64_t e) {
    if (UsesAvx2(isa)) {
      avx2::QuantizeActs(x, qa, b, e);
    } else {
      QuantizeActsPortable(x, qa, b, e);
    }
  };
  if (pool != nullptr && pool->num_threads() > 1 && rows >= 8) {
    pool->ParallelFor(rows, run);
  } else {
    run(0, rows);
  }
  return qa;
}

void CheckWeight(const WeightMatrix& w) {
  CHECK(CanDequantize(w.dtype)) << "MatMul: unsupported weight dtype " << DTypeName(w.dtype);
  CHECK_EQ(w.cols % GetDTypeInfo(w.dtype).block_size, 0);
  if (w.layout == WeightLayout::kQ4_0x8) {
    CHECK(w.dtype == DType::kQ4_0 && w.rows % kQ4_0x8Rows == 0) << "MatMul: bad kQ4_0x8 weight";
  }
  if (w.layout == WeightLayout::kQ8_0x8) {
    CHECK(w.dtype == DType::kQ8_0 && w.rows % kQ8_0x8Rows == 0) << "MatMul: bad kQ8_0x8 weight";
  }
  if (w.layout == WeightLayout::kFloatX8) {
    CHECK(IsFloatX8Type(w.dtype) && w.rows % kFloatX8Rows == 0 && w.cols % 8 == 0)
        << "MatMul: bad kFloatX8 weight";
  }
}

// Operands for `count` weights sharing x: each activation format is made
// once, whatever the number of weights that read it.
void Prepare(Isa isa, const WeightMatrix* ws, int count, const float* x, int64_t rows,
             ThreadPool* pool, Operand* ops) {
  for (int i = 0; i < count; ++i) {
    ops[i].format = ActFormatFor(ws[i].dtype);
    if (ops[i].format == ActFormat::kFloat) continue;
    bool reused = false;
    for (int j = 0; j < i && !reused; ++j) {
      if (ops[j].format == ops[i].format) {
        ops[i].qa = ops[j].qa;
        reused = true;
      }
    }
    if (!reused) ops[i].qa = Quantize(isa, ops[i].format, x, rows, ws[i].cols, pool);
  }
}

void RunRange(Isa isa, const WeightMatrix& w, const Operand& op, const float* x, int64_t rows,
              float* y, int64_t y_stride, int64_t n_begin, int64_t n_end) {
  if (w.layout == WeightLayout::kQ4_0x8 || w.layout == WeightLayout::kQ8_0x8) {
    const auto kernel = isa == Isa::kAvx512Vnni ? vnni::QMatMulX8Range
                        : isa == Isa::kAvx2     ? avx2::QMatMulX8Range
                                                : QMatMulX8RangePortable;
    kernel(w, op.qa, y, y_stride, n_begin, n_end);
  } else if (op.format != ActFormat::kFloat) {
    if (UsesAvx2(isa)) {
      avx2::QMatMulRange(w, op.qa, y, y_stride, n_begin, n_end);
    } else {
      QMatMulRangePortable(w, op.qa, y, y_stride, n_begin, n_end);
    }
  } else if (!UsesAvx2(isa) || !avx2::MatMulRange(w, x, rows, y, y_stride, n_begin, n_end)) {
    MatMulRangePortable(w, x, rows, y, y_stride, n_begin, n_end);
  }
}

// A parallel region costs a few microseconds: not worth it for tiny products.
bool WorthParallel(ThreadPool* pool, int64_t rows, int64_t n, int64_t k) {
  const double work = static_cast<double>(rows) * static_cast<double>(n) * static_cast<double>(k);
  return pool != nullptr && pool->num_threads() > 1 && work >= 65536.0;
}

// Slices in multiples of 16 output features keep the kernels' column tiles
// (and kQ4_0x8's, kQ8_0x8's and kFloatX8's groups of eight rows) whole.
constexpr int64_t kGrain = 16;
static_assert(kGrain % kQ4_0x8Rows == 0 && kGrain % kQ8_0x8Rows == 0 && kGrain % kFloatX8Rows == 0);

// The pool's grain for `n` output features. With one x row (decode) the
// product streams its weights from memory, and every slice a thread takes
// is a stream the hardware prefetcher has to pick up again: one slice per
// thread. Measured in fast-memory windows over the benchmark model's 24
// layers of products, paired in one process: 86% of the read probe against
// 83% with the pool's usual four slices per thread (96.5% against 95.7%
// when memory is slow). The price: a thread that loses its core holds up
// the product, where smaller slices would let the other take over its rest.
int64_t GrainFor(ThreadPool* pool, int64_t num_rows, int64_t n) {
  if (num_rows != 1) return kGrain;
  const int64_t threads = pool->num_threads();
  return std::max(kGrain, (n + threads * kGrain - 1) / (threads * kGrain) * kGrain);
}

// A weight's extent in MatMulMany's joint index space: its rows rounded up
// to the grain, so every weight starts at a multiple of the grain and a
// slice boundary never splits a group of eight (the padding indices
// compute nothing).
int64_t Padded(int64_t rows) { return (rows + kGrain - 1) / kGrain * kGrain; }

}  // namespace

void MatMulRangePortable(const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
                         int64_t y_stride, int64_t n_begin, int64_t n_end) {
  const int64_t k = w.cols;
  const bool direct = w.dtype == DType::kF32 && w.layout == WeightLayout::kRows;
  float* row = direct ? nullptr : ScratchRow(k);
  for (int64_t n = n_begin; n < n_end; ++n) {
    const float* wr;
    if (direct) {
      wr = reinterpret_cast<const float*>(w.data + n * w.row_bytes);
    } else {
      GetRow(w, n, row);  // file order or kFloatX8
      wr = row;
    }
    // Dequantize once, reuse for every row of x.
    for (int64_t m = 0; m < num_rows; ++m) {
      y[m * y_stride + (n - n_begin)] = DotPortable(x + m * k, wr, k);
    }
  }
}

void MatMulOn(Isa isa, const WeightMatrix& w, const float* x, int64_t num_rows, float* y,
              ThreadPool* pool) {
  MatMulManyOn(isa, &w, 1, x, num_rows, &y, pool);
}

void MatMulManyOn(Isa isa, const WeightMatrix* ws, int count, const float* x, int64_t num_rows,
                  float* const* ys, ThreadPool* pool) {
  CHECK(count >= 1 && count <= kMaxMatMulMany) << "MatMulMany: " << count << " weights";
  int64_t total = 0;
  for (int i = 0; i < count; ++i) {
    CheckWeight(ws[i]);
    CHECK_EQ(ws[i].cols, ws[0].cols);
    total += Padded(ws[i].rows);
  }
  if (num_rows <= 0 || total <= 0) return;
  Operand ops[kMaxMatMulMany];
  Prepare(isa, ws, count, x, num_rows, pool, ops);
  // The weights' output features, one after another (each padded to the
  // grain), form one index space that the pool splits.
  auto run = [&](int64_t b, int64_t e) {
    int64_t base = 0;
    for (int i = 0; i < count; ++i) {
      const int64_t nb = std::max(b, base) - base;
      const int64_t ne = std::min(e, base + ws[i].rows) - base;
      if (nb < ne) RunRange(isa, ws[i], ops[i], x, num_rows, ys[i] + nb, ws[i].rows, nb, ne);
      base += Padded(ws[i].rows);
    }
  };
  if (WorthParallel(pool, num_rows, total, ws[0].cols)) {
    pool->ParallelFor(total, run, GrainFor(pool, num_rows, total));
  } else {
    run(0, total);
  }
}

void MatMulSiluMulOn(Isa isa, const WeightMatrix& gate, const WeightMatrix& up, const float* x,
                     int64_t num_rows, float* out, ThreadPool* pool) {
  CheckWeight(gate);
  CheckWeight(up);
  CHECK(gate.rows == up.rows && gate.cols == up.cols) << "MatMulSiluMul: gate and up differ";
  if (num_rows <= 0 || gate.rows <= 0) return;
  const WeightMatrix ws[2] = {gate, up};
  Operand ops[2];
  Prepare(isa, ws, 2, x, num_rows, pool, ops);
  const int64_t f = gate.rows;
  // Gate and up for a chunk of features land in per-thread scratch and
  // leave it as silu(gate) * up: the two products are never written out
  // whole, and the activation runs on every thread. A chunk holds ~16K
  // outputs of each: with few rows (decode) that is a long run of weight
  // rows, which the decode tiles' prefetching needs (every switch between
  // gate and up restarts it).
  const int64_t chunk = std::max<int64_t>(64, (int64_t{16384} / num_rows) / kGrain * kGrain);
  auto run = [&](int64_t b, int64_t e) {
    thread_local std::vector<float> g, u;
    const size_t need = static_cast<size_t>(num_rows * chunk);
    if (g.size() < need) {
      g.resize(need);
      u.resize(need);
    }
    for (int64_t c0 = b; c0 < e; c0 += chunk) {
      const int64_t c1 = std::min(e, c0 + chunk), cw = c1 - c0;
      RunRange(isa, gate, ops[0], x, num_rows, g.data(), cw, c0, c1);
      RunRange(isa, up, ops[1], x, num_rows, u.data(), cw, c0, c1);
      for (int64_t m = 0; m < num_rows; ++m) {
        const float* gm = g.data() + m * cw;
        const float* um = u.data() + m * cw;
        float* o = out + m * f + c0;
        if (UsesAvx2(isa)) {
          avx2::SiluMul(gm, um, o, cw);
        } else {
          SiluMulPortable(gm, um, o, cw);
        }
      }
    }
  };
  if (WorthParallel(pool, num_rows, 2 * f, gate.cols)) {
    pool->ParallelFor(f, run, GrainFor(pool, num_rows, f));
  } else {
    run(0, f);
  }
}

}  // namespace pagoda::cpu
