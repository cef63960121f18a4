// The kernels' own exp (kernels/cpu/exp.h): the AVX2 lanes give exactly the
// portable function's bits, and both stay within 2 ulp of libm's expf over
// the range softmax uses (and 0 below it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/exp.h"
#include "kernels/cpu/isa.h"

namespace pagoda {
namespace {

std::vector<float> Inputs() {
  std::vector<float> x = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, -0.6931472f, 88.0f, 100.0f, -86.99f,
                          -87.0f, -87.01f, -100.0f, -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(), 1e-8f, -1e-8f};
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-87.0f, 88.0f);
  for (int i = 0; i < 200000; ++i) x.push_back(dist(rng));
  std::uniform_real_distribution<float> near(-2.0f, 0.0f);  // where softmax weights live
  for (int i = 0; i < 100000; ++i) x.push_back(near(rng));
  return x;
}

TEST(ExpTest, PortableIsWithinTwoUlpOfLibm) {
  for (float x : Inputs()) {
    const float got = cpu::ExpPortable(x);
    if (!(x >= -87.0f)) {
      EXPECT_EQ(got, 0.0f) << x;
      continue;
    }
    const float want = std::exp(std::min(x, 88.0f));
    const float ulp = std::nextafter(want, INFINITY) - want;
    ASSERT_LE(std::fabs(got - want), 2 * ulp) << "x=" << x << " got " << got << " want " << want;
  }
}

TEST(ExpTest, Avx2LanesGiveThePortableBits) {
  if (!cpu::CpuSupportsAvx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  const std::vector<float> x = Inputs();
  std::vector<float> y(x.size());
  avx2::ExpArray(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = cpu::ExpPortable(x[i]);
    ASSERT_EQ(std::memcmp(&y[i], &want, sizeof(float)), 0) << "x=" << x[i] << " " << y[i] << " vs " << want;
  }
}

}  // namespace
}  // namespace pagoda
