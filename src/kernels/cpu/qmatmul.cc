// Portable quantized-activation MatMul: the activation quantizer and the
// integer dot products of kernels/cpu/qmatmul.h in plain C++, lane by lane,
// so they give the same bits as the AVX2 kernels on any CPU.
#include "kernels/cpu/qmatmul.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "base/fp16.h"
#include "kernels/cpu/quant.h"

namespace pagoda::cpu {

ActFormat ActFormatFor(DType dtype) {
  switch (dtype) {
    case DType::kQ8_0:
    case DType::kQ4_0:
      return ActFormat::kBlock32;
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      return ActFormat::kBlock256;
    default:
      return ActFormat::kFloat;
  }
}

QuantizedActs ActBuffer::Reset(ActFormat format, int64_t num_rows, int64_t cols) {
  CHECK(format != ActFormat::kFloat);
  CHECK_EQ(cols % ActBlock(format), 0);
  const size_t n = static_cast<size_t>(num_rows * cols);
  // +32: the AVX2 kernels may load a whole vector at the last block.
  if (q_.size() < n + 32) q_.resize(n + 32);
  if (d_.size() < n / ActBlock(format)) d_.resize(n / ActBlock(format));
  if (format == ActFormat::kBlock256 && bsums_.size() < n / 16) bsums_.resize(n / 16);
  if (format == ActFormat::kBlock32 && d8_.size() < n / 4) {
    d8_.resize(n / 4);
    corr8_.resize(n / 4);
    corr32_.resize(n / 32);
  }
  QuantizedActs qa;
  qa.format = format;
  qa.num_rows = num_rows;
  qa.cols = cols;
  qa.q = q_.data();
  qa.d = d_.data();
  qa.bsums = format == ActFormat::kBlock256 ? bsums_.data() : nullptr;
  qa.d8 = format == ActFormat::kBlock32 ? d8_.data() : nullptr;
  qa.corr8 = format == ActFormat::kBlock32 ? corr8_.data() : nullptr;
  qa.corr32 = format == ActFormat::kBlock32 ? corr32_.data() : nullptr;
  return qa;
}

void QuantizeActsPortable(const float* x, const QuantizedActs& qa, int64_t m_begin, int64_t m_end) {
  const int block = ActBlock(qa.format);
  for (int64_t m = m_begin; m < m_end; ++m) {
    const float* xr = x + m * qa.cols;
    int8_t* q = const_cast<int8_t*>(qa.q_row(m));
    float* d = const_cast<float*>(qa.d_row(m));
    for (int64_t b = 0; b < qa.blocks_per_row(); ++b) {
      const float* xb = xr + b * block;
      float amax = 0.0f;
      for (int i = 0; i < block; ++i) amax = std::max(amax, std::fabs(xb[i]));
      d[b] = amax / 127.0f;
      const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
      for (int i = 0; i < block; ++i) {
        q[b * block + i] = static_cast<int8_t>(std::nearbyint(xb[i] * id));
      }
    }
    if (qa.format == ActFormat::kBlock32) {
      float* d8 = const_cast<float*>(qa.d8_row(m));
      int32_t* corr8 = const_cast<int32_t*>(qa.corr8_row(m));
      int32_t* corr32 = const_cast<int32_t*>(qa.corr32_row(m));
      for (int64_t b = 0; b < qa.blocks_per_row(); ++b) {
        corr32[b] = 0;
        for (int l = 0; l < 8; ++l) {
          const int8_t* lane = q + b * 32 + 4 * l;
          d8[b * 8 + l] = d[b];
          corr8[b * 8 + l] = 8 * (lane[0] + lane[1] + lane[2] + lane[3]);
          corr32[b] += corr8[b * 8 + l];
        }
      }
    }
    if (qa.format == ActFormat::kBlock256) {
      int16_t* bs = const_cast<int16_t*>(qa.bsums_row(m));
      for (int64_t j = 0; j < qa.cols / 16; ++j) {
        int sum = 0;
        for (int i = 0; i < 16; ++i) sum += q[j * 16 + i];
        bs[j] = static_cast<int16_t>(sum);
      }
    }
  }
}

namespace {

// The fixed horizontal sum of the eight lane accumulators.
float LaneSum(const float* a) {
  return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

// One weight block unpacked to ints in element order, plus what the dot
// product needs besides them.
struct UnpackedBlock {
  int w[kQK_K];       // signed (Q8_0/Q4_0) or unsigned (K-quants) weight ints
  int scale16[16];    // K-quants: integer scale of each 16 elements
  int min32[8];       // Q4_K/Q5_K: integer min of each 32 elements
  float d = 0.0f;     // d_w
  float m = 0.0f;     // m_w (K-quants)
};

void Unpack(DType dtype, const uint8_t* p, UnpackedBlock* u) {
  switch (dtype) {
    case DType::kQ8_0: {
      const auto* b = reinterpret_cast<const BlockQ8_0*>(p);
      for (int i = 0; i < 32; ++i) u->w[i] = b->qs[i];
      u->d = Fp16ToF32(b->d);
      return;
    }
    case DType::kQ4_0: {
      const auto* b = reinterpret_cast<const BlockQ4_0*>(p);
      for (int i = 0; i < 16; ++i) {
        u->w[i] = (b->qs[i] & 0x0f) - 8;
        u->w[i + 16] = (b->qs[i] >> 4) - 8;
      }
      u->d = Fp16ToF32(b->d);
      return;
    }
    case DType::kQ4_K:
    case DType::kQ5_K: {
      const bool five = dtype == DType::kQ5_K;
      const uint8_t* scales = five ? reinterpret_cast<const BlockQ5K*>(p)->scales
                                   : reinterpret_cast<const BlockQ4K*>(p)->scales;
      const uint8_t* qs = five ? reinterpret_cast<const BlockQ5K*>(p)->qs
                               : reinterpret_cast<const BlockQ4K*>(p)->qs;
      const uint16_t d = five ? reinterpret_cast<const BlockQ5K*>(p)->d
                              : reinterpret_cast<const BlockQ4K*>(p)->d;
      const uint16_t dmin = five ? reinterpret_cast<const BlockQ5K*>(p)->dmin
                                 : reinterpret_cast<const BlockQ4K*>(p)->dmin;
      for (int j = 0; j < 8; ++j) {
        int sc, mn;
        if (j < 4) {
          sc = scales[j] & 63;
          mn = scales[j + 4] & 63;
        } else {
          sc = (scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4);
          mn = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
        }
        u->scale16[2 * j] = u->scale16[2 * j + 1] = sc;
        u->min32[j] = mn;
      }
      for (int g = 0; g < 4; ++g) {
        for (int l = 0; l < 32; ++l) {
          u->w[64 * g + l] = qs[32 * g + l] & 0x0f;
          u->w[64 * g + 32 + l] = qs[32 * g + l] >> 4;
        }
      }
      if (five) {
        const uint8_t* qh = reinterpret_cast<const BlockQ5K*>(p)->qh;
        for (int g = 0; g < 4; ++g) {
          for (int l = 0; l < 32; ++l) {
            u->w[64 * g + l] += ((qh[l] >> (2 * g)) & 1) << 4;
            u->w[64 * g + 32 + l] += ((qh[l] >> (2 * g + 1)) & 1) << 4;
          }
        }
      }
      u->d = Fp16ToF32(d);
      u->m = Fp16ToF32(dmin);
      return;
    }
    case DType::kQ6_K: {
      const auto* b = reinterpret_cast<const BlockQ6K*>(p);
      for (int h = 0; h < 2; ++h) {
        for (int i = 0; i < 4; ++i) {
          for (int l = 0; l < 32; ++l) {
            const uint8_t lo = b->ql[64 * h + l + 32 * (i % 2)];
            const int low4 = i < 2 ? (lo & 0x0f) : (lo >> 4);
            const int high2 = (b->qh[32 * h + l] >> (2 * i)) & 3;
            u->w[128 * h + 32 * i + l] = low4 | (high2 << 4);
          }
        }
      }
      for (int j = 0; j < 16; ++j) u->scale16[j] = b->scales[j];
      u->d = Fp16ToF32(b->d);
      u->m = u->d;
      return;
    }
    default:
      CHECK(false) << "QMatMul: no block format for " << DTypeName(dtype);
  }
}

}  // namespace

void QMatMulRangePortable(const WeightMatrix& w, const QuantizedActs& qa, float* y,
                          int64_t y_stride, int64_t n_begin, int64_t n_end) {
  CHECK(ActFormatFor(w.dtype) == qa.format);
  const bool kquant = qa.format == ActFormat::kBlock256;
  const int block = ActBlock(qa.format);
  const int64_t blocks = qa.blocks_per_row();
  const size_t block_bytes = GetDTypeInfo(w.dtype).block_bytes;
  const int64_t rows = qa.num_rows;
  std::vector<float> acc(static_cast<size_t>(rows * 8)), accm(static_cast<size_t>(rows));
  UnpackedBlock u;
  for (int64_t n = n_begin; n < n_end; ++n) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    std::fill(accm.begin(), accm.end(), 0.0f);
    const uint8_t* row = w.data + n * w.row_bytes;
    for (int64_t b = 0; b < blocks; ++b) {
      Unpack(w.dtype, row + b * block_bytes, &u);
      for (int64_t m = 0; m < rows; ++m) {
        const int8_t* q = qa.q_row(m) + b * block;
        const float dx = qa.d_row(m)[b];
        int lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int unit = 0; unit < block / 32; ++unit) {
          for (int l = 0; l < 8; ++l) {
            const int e = 32 * unit + 4 * l;
            int s = 0;
            for (int i = 0; i < 4; ++i) s += u.w[e + i] * q[e + i];
            lanes[l] += kquant ? u.scale16[e / 16] * s : s;
          }
        }
        float* a = acc.data() + m * 8;
        const float dd = u.d * dx;
        for (int l = 0; l < 8; ++l) a[l] = std::fma(static_cast<float>(lanes[l]), dd, a[l]);
        if (kquant) {
          const int16_t* bs = qa.bsums_row(m) + b * (kQK_K / 16);
          int mins = 0;
          if (w.dtype == DType::kQ6_K) {
            for (int j = 0; j < 16; ++j) mins += u.scale16[j] * bs[j];
            mins *= 32;
          } else {
            for (int j = 0; j < 8; ++j) mins += u.min32[j] * (bs[2 * j] + bs[2 * j + 1]);
          }
          accm[m] = std::fma(static_cast<float>(mins), u.m * dx, accm[m]);
        }
      }
    }
    for (int64_t m = 0; m < rows; ++m) {
      const float s = LaneSum(acc.data() + m * 8);
      y[m * y_stride + (n - n_begin)] = kquant ? s - accm[m] : s;
    }
  }
}

}  // namespace pagoda::cpu
