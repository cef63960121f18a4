// Logit parity: random-weight llama / qwen2 / qwen3 models in every weight
// type and both formats, run through pagoda's forward pass (prefill chunks
// and single-token decodes over the paged cache), against the independent
// float64 numpy implementation in tests/reference/ref_model.py.
//
// Each model runs twice: with a float32 KV cache against the plain
// reference, and with a float16 cache against the reference run with
// --kv-cache-dtype float16 (K and V rounded through np.float16 before
// attention), under the same tolerances. The rounding itself is then common
// to both sides; what is left is float32 arithmetic again (and, rarely, a
// value that lands on the other side of a half's rounding boundary, one
// half ulp in one element, which the bounds absorb).
//
// Tolerance: both sides use the very same (dequantized) weight values. For
// F32, F16 and BF16 the only difference is pagoda's float32 arithmetic: we
// require max |pagoda - ref| <= 1e-4 * max(1, max |ref|) at every position
// for F32 weights and 2e-4 for the 16-bit types (observed ~1e-6 relative).
//
// Q8_0 and Q4_0 differ by more, by design: pagoda (like llama.cpp)
// quantizes each matrix product's input activations to 8-bit blocks
// (kernels/cpu/qmatmul.h) so the products run as integer dot products, while
// the numpy reference multiplies float activations. Each element then
// carries a rounding error of up to amax / 254 of its 32-block, ~0.3% of a
// product on these random models, and it compounds over the layers' seven
// products and the output matrix. Observed on these models: max diff
// 1.4-3.2% of the logit scale, rms diff 0.3-0.6%. The bounds are 5e-2
// (max) and 1e-2 (rms) of the logit scale: a wrong block, scale or lane
// breaks them by orders of magnitude, and the kernels themselves are held
// to the exact quantized arithmetic in tests/kernels/qmatmul_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "model/random_model.h"
#include "testutil/shared_data.h"

namespace pagoda {
namespace {

using testing::MakeTempDir;
using testing::RunCommand;
using testing::SourceDir;

constexpr const char* kPython = "/usr/bin/python3";

bool HavePythonNumpy() {
  std::string out;
  return RunCommand(std::string(kPython) + " -c 'import numpy' 2>/dev/null", &out) == 0;
}

// Runs `model` over `tokens`, feeding them in the given chunk sizes (one
// sequence; each chunk is one forward pass over the paged cache) and
// returns the logits of every position.
std::vector<std::vector<float>> PagodaLogits(const Model& model, const std::vector<int32_t>& tokens,
                                             const std::vector<int>& chunks, DType kv_dtype,
                                             int block_size = 4) {
  const ModelConfig& c = model.config();
  const int64_t num_blocks = static_cast<int64_t>(tokens.size()) / block_size + 2;
  KvCache cache(c.num_layers, num_blocks + 3, block_size, c.num_kv_heads, c.head_dim, kv_dtype);
  // Non-contiguous, shuffled block ids, as a real block pool hands them out.
  std::vector<int32_t> block_ids;
  for (int64_t b = num_blocks - 1; b >= 0; --b) block_ids.push_back(static_cast<int32_t>(b * 7 % (num_blocks + 3)));
  ThreadPool pool(2);
  Workspace ws;
  std::vector<std::vector<float>> out;
  size_t done = 0;
  size_t ci = 0;
  while (done < tokens.size()) {
    const size_t n = std::min<size_t>(static_cast<size_t>(chunks[ci++ % chunks.size()]), tokens.size() - done);
    BatchInput in;
    in.query_start_loc = {0, static_cast<int32_t>(n)};
    in.seq_lens = {static_cast<int32_t>(done + n)};
    in.block_tables = block_ids;
    in.max_blocks_per_seq = static_cast<int32_t>(block_ids.size());
    for (size_t i = 0; i < n; ++i) {
      const int32_t pos = static_cast<int32_t>(done + i);
      in.token_ids.push_back(tokens[done + i]);
      in.positions.push_back(pos);
      in.slot_mapping.push_back(static_cast<int64_t>(block_ids[static_cast<size_t>(pos / block_size)]) * block_size + pos % block_size);
      in.logits_indices.push_back(static_cast<int32_t>(i));
    }
    std::vector<float> logits(n * static_cast<size_t>(c.vocab_size));
    model.Forward(in, cache, ws, &pool, logits.data());
    for (size_t i = 0; i < n; ++i) {
      out.emplace_back(logits.begin() + static_cast<std::ptrdiff_t>(i * c.vocab_size),
                       logits.begin() + static_cast<std::ptrdiff_t>((i + 1) * c.vocab_size));
    }
    done += n;
  }
  return out;
}

// kv_dtype kF16: the reference rounds K and V through np.float16.
std::vector<std::vector<float>> ReferenceLogits(const std::string& model_path,
                                                const std::vector<int32_t>& tokens, DType kv_dtype) {
  std::string ids;
  for (size_t i = 0; i < tokens.size(); ++i) ids += (i ? "," : "") + std::to_string(tokens[i]);
  const std::string kv = kv_dtype == DType::kF16 ? "float16" : "float32";
  const std::string out_file = model_path + "." + kv + ".ref.json";
  const std::string cmd = std::string(kPython) + " " + SourceDir() + "/tests/reference/ref_model.py --model '" +
                          model_path + "' --tokens " + ids + " --kv-cache-dtype " + kv + " --out '" +
                          out_file + "'";
  std::string ignored;
  EXPECT_EQ(RunCommand(cmd, &ignored), 0) << cmd;
  std::ifstream f(out_file);
  nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  if (j.is_discarded() || !j.contains("logits")) {
    ADD_FAILURE() << "reference produced no logits for " << model_path;
    return {};
  }
  return j["logits"].get<std::vector<std::vector<float>>>();
}

double MaxAbs(const std::vector<std::vector<float>>& a) {
  double m = 0;
  for (const auto& r : a) for (float x : r) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

void ExpectClose(const std::vector<std::vector<float>>& got, const std::vector<std::vector<float>>& want,
                 double rel_tol, const std::string& what, double rms_rel_tol = 0) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double scale = std::max(1.0, MaxAbs(want));
  double worst = 0;
  size_t worst_pos = 0;
  for (size_t p = 0; p < got.size(); ++p) {
    ASSERT_EQ(got[p].size(), want[p].size()) << what;
    for (size_t v = 0; v < got[p].size(); ++v) {
      const double d = std::fabs(static_cast<double>(got[p][v]) - want[p][v]);
      if (d > worst) { worst = d; worst_pos = p; }
    }
  }
  EXPECT_LE(worst, rel_tol * scale) << what << ": worst abs diff " << worst << " at position "
                                    << worst_pos << " (logit scale " << scale << ")";
  if (rms_rel_tol > 0) {
    double ss = 0;
    size_t count = 0;
    for (size_t p = 0; p < got.size(); ++p) {
      for (size_t v = 0; v < got[p].size(); ++v) {
        const double d = static_cast<double>(got[p][v]) - want[p][v];
        ss += d * d;
        ++count;
      }
    }
    const double rms = std::sqrt(ss / static_cast<double>(std::max<size_t>(count, 1)));
    EXPECT_LE(rms, rms_rel_tol * scale) << what << ": rms diff " << rms << " (logit scale " << scale << ")";
  }
}

struct Case {
  const char* name;
  RandomModelSpec spec;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  // Odd sizes for the plain types: head_dim 12, GQA 3:1, vocab not a power of two.
  RandomModelSpec odd;
  odd.vocab_size = 301;
  odd.hidden_size = 72;
  odd.intermediate_size = 100;
  odd.num_layers = 2;
  odd.num_heads = 6;
  odd.num_kv_heads = 2;
  odd.seed = 7;
  // Quantized types need widths that are whole 32-blocks.
  RandomModelSpec blocky = odd;
  blocky.hidden_size = 96;
  blocky.intermediate_size = 160;
  blocky.num_heads = 3;
  blocky.num_kv_heads = 1;
  for (Architecture arch : {Architecture::kLlama, Architecture::kQwen2, Architecture::kQwen3}) {
    for (RandomModelSpec base : {odd, blocky}) {
      base.arch = arch;
      if (arch == Architecture::kLlama) {
        base.rope_scaling.type = RopeScaling::Type::kLlama3;
        base.rope_scaling.factor = 8;
        base.rope_scaling.low_freq_factor = 1;
        base.rope_scaling.high_freq_factor = 4;
        base.rope_scaling.original_max_position_embeddings = 64;
        base.rope_theta = 500000;
      }
      if (arch == Architecture::kQwen2) base.tie_word_embeddings = true;
      if (arch == Architecture::kQwen3) {
        base.rope_scaling.type = RopeScaling::Type::kLinear;
        base.rope_scaling.factor = 2;
        base.head_dim = 32;  // differs from hidden / heads, as in real Qwen3
      }
      cases.push_back({"", base});
    }
  }
  return cases;
}

class ParityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HavePythonNumpy()) GTEST_SKIP() << "needs " << kPython << " with numpy (scripts/setup.sh installs it)";
    dir_ = MakeTempDir("pagoda-parity-");
    ASSERT_FALSE(dir_.empty());
  }
  std::string dir_;
  const std::vector<int32_t> tokens_ = {0, 17, 42, 299, 5, 5, 120, 64, 33, 250, 7, 1, 90, 200, 11, 3, 150, 260, 2, 77};
  const std::vector<int> chunks_ = {7, 1, 1, 4, 1, 6};
};

TEST_F(ParityTest, EveryArchitectureTypeAndFormatMatchesReference) {
  int n = 0;
  for (const Case& c : Cases()) {
    const bool blocky = c.spec.hidden_size % 32 == 0;
    const std::vector<DType> types = blocky ? std::vector<DType>{DType::kQ8_0, DType::kQ4_0}
                                            : std::vector<DType>{DType::kF32, DType::kF16, DType::kBF16};
    for (DType t : types) {
      RandomModelSpec spec = c.spec;
      spec.dtype = t;
      const std::string tag = std::string(ArchitectureName(spec.arch)) + "-" + std::string(DTypeName(t));
      const std::string gguf_path = dir_ + "/" + tag + ".gguf";
      ASSERT_TRUE(WriteRandomGguf(spec, gguf_path).ok()) << tag;
      auto gguf_model = Model::Load(gguf_path);
      ASSERT_TRUE(gguf_model.ok()) << gguf_model.status().ToString();
      std::string hf_path;
      std::unique_ptr<Model> hf_model;
      if (!IsQuantized(t)) {
        hf_path = dir_ + "/" + tag + "-hf";
        ASSERT_TRUE(WriteRandomHf(spec, hf_path).ok()) << tag;
        auto loaded = Model::Load(hf_path);
        ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
        hf_model = std::move(*loaded);
      }
      for (DType kv : {DType::kF32, DType::kF16}) {
        const std::string what = tag + " (" + std::string(DTypeName(kv)) + " KV cache)";
        const auto ours = PagodaLogits(**gguf_model, tokens_, chunks_, kv);
        if (IsQuantized(t)) {
          // 8-bit activations (see the header comment).
          ExpectClose(ours, ReferenceLogits(gguf_path, tokens_, kv), 5e-2, what + " gguf vs reference", 1e-2);
          ++n;
          continue;
        }
        const double tol = t == DType::kF32 ? 1e-4 : 2e-4;
        ExpectClose(ours, ReferenceLogits(gguf_path, tokens_, kv), tol, what + " gguf vs reference");
        ++n;
        const auto ours_hf = PagodaLogits(*hf_model, tokens_, chunks_, kv);
        ExpectClose(ours_hf, ReferenceLogits(hf_path, tokens_, kv), tol, what + " hf vs reference");
        // Same weights, two formats: the same logits up to float32 rounding
        // (the llama GGUF's permuted Q/K rows sum in another order). With a
        // float16 cache a K or V that differs in its last float bit can round
        // to the neighbouring half, a 2^13 times larger step, so there the
        // formats are held to the reference tolerance instead.
        ExpectClose(ours_hf, ours, kv == DType::kF16 ? tol : 1e-5, what + " hf vs gguf");
        ++n;
      }
    }
  }
  EXPECT_EQ(n, 2 * 3 * (3 * 2 + 2));
}

// llama.cpp's Q4_0 file shape: Q4_0 layers and a Q6_K output matrix (rows
// of whole 256-element super-blocks, so hidden 256), whose product takes
// 8-bit activations with one scale per 256 elements (kernels/cpu/qmatmul.h):
// the same kind of rounding as the Q4_0 products, under the same bounds.
TEST_F(ParityTest, Q4_0WithAQ6KOutputMatchesReference) {
  RandomModelSpec spec = Cases()[1].spec;  // llama, whole 32-blocks, untied
  ASSERT_EQ(spec.arch, Architecture::kLlama);
  spec.dtype = DType::kQ4_0;
  spec.output_dtype = DType::kQ6_K;
  spec.hidden_size = 256;
  spec.num_heads = 4;
  spec.num_kv_heads = 2;
  const std::string path = dir_ + "/q4_0-q6_k.gguf";
  ASSERT_TRUE(WriteRandomGguf(spec, path).ok());
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ASSERT_EQ((*model)->weights().lm_head.dtype, DType::kQ6_K);
  for (DType kv : {DType::kF32, DType::kF16}) {
    ExpectClose(PagodaLogits(**model, tokens_, chunks_, kv), ReferenceLogits(path, tokens_, kv), 5e-2,
                "q4_0 + q6_k output (" + std::string(DTypeName(kv)) + " KV cache)", 1e-2);
  }
}

TEST_F(ParityTest, ChunkingDoesNotChangeLogits) {
  RandomModelSpec spec = Cases()[0].spec;
  const std::string path = dir_ + "/chunks.gguf";
  ASSERT_TRUE(WriteRandomGguf(spec, path).ok());
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok());
  for (DType kv : {DType::kF32, DType::kF16}) {
    const auto whole = PagodaLogits(**model, tokens_, {static_cast<int>(tokens_.size())}, kv);
    const auto decode = PagodaLogits(**model, tokens_, {1}, kv);
    const auto mixed = PagodaLogits(**model, tokens_, {3, 5, 1}, kv, /*block_size=*/3);
    // Batch invariance: each row's arithmetic is independent of the chunking
    // (and of where its blocks lie).
    EXPECT_EQ(whole, decode) << DTypeName(kv);
    EXPECT_EQ(whole, mixed) << DTypeName(kv);
  }
}

}  // namespace
}  // namespace pagoda
