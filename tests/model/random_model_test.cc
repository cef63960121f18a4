// `pagoda mkmodel`'s writer: an output matrix in its own type (llama.cpp's
// Q4_0 files keep it in Q6_K) is stored in that type, holds the same
// numbers as the float output of the same seed within the type's rounding,
// and the model runs with it. Float weights come back from the loader
// repacked by eight rows and still read back as the file holds them; Q4_0
// and Q8_0 weights come back repacked by eight and unpack to the file's
// bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/repack.h"
#include "kernels/ops.h"
#include "model/model.h"
#include "formats/gguf.h"
#include "model/random_model.h"
#include "testutil/shared_data.h"

namespace pagoda {
namespace {

// A small Llama whose lm_head rows are a multiple of 8, so the loader
// repacks lm_head too.
RandomModelSpec SmallSpec(DType dtype) {
  RandomModelSpec spec;
  spec.vocab_size = 304;
  spec.hidden_size = 64;
  spec.intermediate_size = 96;
  spec.num_heads = 4;
  spec.num_kv_heads = 2;
  spec.dtype = dtype;
  return spec;
}

std::vector<float> Row(const WeightMatrix& w, int64_t r) {
  std::vector<float> out(static_cast<size_t>(w.cols));
  GetRow(w, r, out.data());
  return out;
}

TEST(RandomModelTest, OutputMatrixInItsOwnType) {
  const std::string dir = testing::MakeTempDir("random_model");
  // Whole 256-element super-blocks for Q6_K; 300 output rows, not a
  // multiple of 8.
  RandomModelSpec spec = SmallSpec(DType::kQ4_0);
  spec.vocab_size = 300;
  spec.hidden_size = 256;
  spec.intermediate_size = 256;
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

namespace pagoda {
namespace {

// The loader repacks float MatMul weights by eight rows (kFloatX8) from
// GGUF and safetensors alike and leaves the embedding table in rows; a
// repacked matrix still reads back, row by row, exactly as the file holds
// it.
TEST(RandomModelTest, FloatWeightsRepackedByEightReadBackAsInTheFile) {
  const std::string dir = testing::MakeTempDir("random_model_x8");
  const RandomModelSpec spec = SmallSpec(DType::kF16);
  ASSERT_TRUE(WriteRandomGguf(spec, dir + "/m.gguf").ok());
  ASSERT_TRUE(WriteRandomHf(spec, dir + "/hf").ok());
  auto gguf = Model::Load(dir + "/m.gguf");
  auto hf = Model::Load(dir + "/hf");
  ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
  ASSERT_TRUE(hf.ok()) << hf.status().ToString();
  for (const auto* m : {&*gguf, &*hf}) {
    const ModelWeights& w = (**m).weights();
    EXPECT_EQ(w.embed_tokens.layout, WeightLayout::kRows);
    EXPECT_EQ(w.lm_head.layout, WeightLayout::kFloatX8);
    EXPECT_EQ(w.layers[0].q_proj.layout, WeightLayout::kFloatX8);
    EXPECT_EQ(w.layers[0].down_proj.layout, WeightLayout::kFloatX8);
  }
  auto file = GgufFile::Open(dir + "/m.gguf");
  ASSERT_TRUE(file.ok());
  const GgufTensorInfo* out = (*file)->FindTensor("output.weight");
  ASSERT_NE(out, nullptr);
  const size_t row_bytes = out->nbytes / static_cast<size_t>(spec.vocab_size);
  for (int64_t r : {0, 5, 8, 303}) {
    std::vector<float> want(static_cast<size_t>(spec.hidden_size));
    DequantizeRow(DType::kF16, out->data + static_cast<size_t>(r) * row_bytes, want.data(), spec.hidden_size);
    EXPECT_EQ(Row((*gguf)->weights().lm_head, r), want) << "gguf row " << r;
    EXPECT_EQ(Row((*hf)->weights().lm_head, r), want) << "hf row " << r;
  }
}

// Q4_0 and Q8_0 MatMul weights are repacked by eight rows (kQ4_0x8,
// kQ8_0x8), lm_head too; an untied embedding table stays in file order, a
// tied one is the repacked lm_head, whose rows GetRow reads back as the
// file's. Unpacked, a repacked matrix is the file's bytes.
TEST(RandomModelTest, BlockWeightsRepackedByEight) {
  const std::string dir = testing::MakeTempDir("random_model_block_x8");
  for (DType t : {DType::kQ4_0, DType::kQ8_0}) {
    const WeightLayout x8 = t == DType::kQ4_0 ? WeightLayout::kQ4_0x8 : WeightLayout::kQ8_0x8;
    for (bool tied : {false, true}) {
      RandomModelSpec spec = SmallSpec(t);
      spec.tie_word_embeddings = tied;
      const std::string path = dir + "/" + std::string(DTypeName(t)) + (tied ? "-tied" : "") + ".gguf";
      ASSERT_TRUE(WriteRandomGguf(spec, path).ok());
      auto model = Model::Load(path);
      ASSERT_TRUE(model.ok()) << model.status().ToString();
      const ModelWeights& w = (*model)->weights();
      EXPECT_EQ(w.embed_tokens.layout, tied ? x8 : WeightLayout::kRows) << DTypeName(t);
      EXPECT_EQ(w.lm_head.layout, x8) << DTypeName(t);
      if (tied) {
        EXPECT_EQ(w.embed_tokens.data, w.lm_head.data) << "one matrix for both";
        auto file = GgufFile::Open(path);
        ASSERT_TRUE(file.ok());
        const GgufTensorInfo* emb = (*file)->FindTensor("token_embd.weight");
        ASSERT_NE(emb, nullptr);
        const WeightMatrix in_file{t, w.embed_tokens.rows, w.embed_tokens.cols, emb->data, w.embed_tokens.row_bytes};
        for (int64_t r : {int64_t{0}, int64_t{5}, int64_t{8}, w.embed_tokens.rows - 1}) {
          EXPECT_EQ(Row(w.embed_tokens, r), Row(in_file, r)) << DTypeName(t) << " row " << r;
        }
      }
      for (const WeightMatrix* m : {&w.layers[0].q_proj, &w.layers[0].k_proj, &w.layers[0].o_proj,
                                    &w.layers[0].gate_proj, &w.layers[0].down_proj, &w.layers[1].up_proj}) {
        EXPECT_EQ(m->dtype, t);
        EXPECT_EQ(m->layout, x8) << DTypeName(t);
      }
      if (tied) continue;
      auto file = GgufFile::Open(path);
      ASSERT_TRUE(file.ok());
      const GgufTensorInfo* out = (*file)->FindTensor("output.weight");
      ASSERT_NE(out, nullptr);
      std::vector<uint8_t> back(out->nbytes);
      const WeightMatrix unpacked = t == DType::kQ4_0 ? cpu::UnpackQ4_0x8(w.lm_head, back.data())
                                                      : cpu::UnpackQ8_0x8(w.lm_head, back.data());
      EXPECT_EQ(unpacked.layout, WeightLayout::kRows);
      EXPECT_EQ(0, std::memcmp(back.data(), out->data, out->nbytes)) << DTypeName(t);
    }
  }
}

}  // namespace
}  // namespace pagoda
