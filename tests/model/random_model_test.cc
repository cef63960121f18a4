// `pagoda mkmodel`'s writer: an output matrix in its own type (llama.cpp's
// Q4_0 files keep it in Q6_K) is stored in that type, holds the same
// numbers as the float output of the same seed within the type's rounding,
// and the model runs with it.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/ops.h"
#include "model/model.h"
#include "model/random_model.h"
#include "testutil/shared_data.h"

namespace pagoda {
namespace {

std::vector<float> Row(const WeightMatrix& w, int64_t r) {
  std::vector<float> out(static_cast<size_t>(w.cols));
  GetRow(w, r, out.data());
  return out;
}

TEST(RandomModelTest, OutputMatrixInItsOwnType) {
  const std::string dir = testing::MakeTempDir("random_model");
  RandomModelSpec spec;
  spec.vocab_size = 300;
  spec.hidden_size = 256;
  spec.intermediate_size = 256;
  spec.num_heads = 4;
  spec.num_kv_heads = 2;
  spec.dtype = DType::kQ4_0;
  ASSERT_TRUE(WriteRandomGguf(spec, dir + "/same.gguf").ok());
  spec.output_dtype = DType::kQ6_K;
  ASSERT_TRUE(WriteRandomGguf(spec, dir + "/q6k.gguf").ok());
  spec.output_dtype = DType::kF32;
  ASSERT_TRUE(WriteRandomGguf(spec, dir + "/f32.gguf").ok());
  auto same = Model::Load(dir + "/same.gguf");
  auto q6k = Model::Load(dir + "/q6k.gguf");
  auto f32 = Model::Load(dir + "/f32.gguf");
  ASSERT_TRUE(same.ok() && q6k.ok() && f32.ok());
  EXPECT_EQ((*same)->weights().lm_head.dtype, DType::kQ4_0);
  EXPECT_EQ((*q6k)->weights().lm_head.dtype, DType::kQ6_K);
  EXPECT_EQ((*q6k)->weights().layers[0].gate_proj.dtype, DType::kQ4_0);
  EXPECT_EQ((*f32)->weights().lm_head.dtype, DType::kF32);
  // Q6_K keeps 64 levels per 16 values, Q4_0 16 per 32: against the float
  // matrix of the same seed the Q6_K rows must be several times closer.
  double err_q6k = 0, err_q4 = 0, norm = 0;
  for (int64_t r = 0; r < spec.vocab_size; ++r) {
    const std::vector<float> want = Row((*f32)->weights().lm_head, r);
    const std::vector<float> a = Row((*q6k)->weights().lm_head, r);
    const std::vector<float> b = Row((*same)->weights().lm_head, r);
    for (size_t i = 0; i < want.size(); ++i) {
      err_q6k += (a[i] - want[i]) * static_cast<double>(a[i] - want[i]);
      err_q4 += (b[i] - want[i]) * static_cast<double>(b[i] - want[i]);
      norm += static_cast<double>(want[i]) * want[i];
    }
  }
  EXPECT_LT(std::sqrt(err_q6k / norm), 0.02);
  EXPECT_LT(err_q6k * 9, err_q4);
}

TEST(RandomModelTest, OutputTypeErrors) {
  const std::string dir = testing::MakeTempDir("random_model");
  RandomModelSpec spec;
  spec.hidden_size = 64;  // not a multiple of Q6_K's 256
  spec.output_dtype = DType::kQ6_K;
  Status st = WriteRandomGguf(spec, dir + "/bad.gguf");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("multiple of 256"), std::string::npos) << st.message();
  spec.hidden_size = 256;
  spec.tie_word_embeddings = true;
  EXPECT_FALSE(WriteRandomGguf(spec, dir + "/tied.gguf").ok());
  spec.tie_word_embeddings = false;
  EXPECT_FALSE(WriteRandomHf(spec, dir + "/hf").ok());
}

}  // namespace
}  // namespace pagoda
