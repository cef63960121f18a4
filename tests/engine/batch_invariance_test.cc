// Batch invariance: prompts generated together — admitted while others
// decode, split into chunks under a small token budget — give token for
// token the same greedy output as each prompt run alone, with a float16 KV
// cache (the default for non-float32 models) and a float32 one.
#include <gtest/gtest.h>

#include "engine/llm_engine.h"
#include "model/random_model.h"
#include "testutil/shared_data.h"

namespace pagoda {
namespace {

using testing::HaveSharedModel;
using testing::MakeTempDir;
using testing::SharedModelPath;

std::unique_ptr<LLMEngine> MakeEngine(const std::string& path, int budget, int block_size,
                                      KvCacheDtype kv) {
  EngineConfig cfg;
  cfg.cache.cache_dtype = kv;
  cfg.model.model = path;
  cfg.model.threads = 2;
  cfg.model.max_model_len = 256;
  cfg.cache.block_size = block_size;
  cfg.cache.num_kv_blocks = 256;
  cfg.scheduler.max_num_batched_tokens = budget;
  auto e = LLMEngine::Create(cfg);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(*e) : nullptr;
}

// kv_expected: the cache dtype `kv` must resolve to for this model.
void CheckInvariance(const std::string& model_path, const std::vector<std::vector<int32_t>>& prompts,
                     KvCacheDtype kv, DType kv_expected) {
  SamplingParams sp;
  sp.temperature = 0;
  sp.max_tokens = 40;
  sp.ignore_eos = true;
  // Alone: a generous budget, one prompt at a time.
  auto solo = MakeEngine(model_path, 2048, 16, kv);
  ASSERT_NE(solo, nullptr);
  ASSERT_EQ(solo->kv_cache().dtype(), kv_expected);
  std::vector<std::vector<int32_t>> expected;
  for (const auto& p : prompts) {
    auto r = solo->GenerateFromIds({p}, sp);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    expected.push_back((*r)[0].token_ids);
  }
  // Together: a 24-token budget forces chunked prefill across steps while
  // earlier prompts decode; a different block size moves every slot.
  auto batched = MakeEngine(model_path, 24, 8, kv);
  ASSERT_NE(batched, nullptr);
  auto r = batched->GenerateFromIds(prompts, sp);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ((*r)[i].token_ids, expected[i]) << "prompt " << i << " of length " << prompts[i].size();
  }
}

std::vector<std::vector<int32_t>> Prompts(int vocab) {
  std::vector<std::vector<int32_t>> prompts;
  const int lengths[8] = {1, 3, 9, 17, 30, 45, 61, 5};
  for (int i = 0; i < 8; ++i) {
    std::vector<int32_t> p = {1};
    for (int j = 1; j < lengths[i]; ++j) p.push_back((i * 131 + j * 37) % (vocab - 3) + 3);
    prompts.push_back(p);
  }
  return prompts;
}

TEST(BatchInvarianceTest, StoriesModel) {
  const std::string rel = "stories260K/stories260K.gguf";
  if (!HaveSharedModel(rel)) GTEST_SKIP() << "needs " << SharedModelPath(rel);
  // A float32 model: auto keeps the float32 cache; float16 on request.
  CheckInvariance(SharedModelPath(rel), Prompts(512), KvCacheDtype::kAuto, DType::kF32);
  CheckInvariance(SharedModelPath(rel), Prompts(512), KvCacheDtype::kFloat16, DType::kF16);
}

TEST(BatchInvarianceTest, RandomQuantizedModels) {
  const std::string dir = MakeTempDir("pagoda-batch-");
  for (DType t : {DType::kF16, DType::kQ4_0}) {
    RandomModelSpec spec;
    spec.vocab_size = 400;
    spec.hidden_size = 64;
    spec.intermediate_size = 128;
    spec.num_heads = 4;
    spec.num_kv_heads = 2;
    spec.dtype = t;
    const std::string path = dir + "/m-" + std::string(DTypeName(t)) + ".gguf";
    ASSERT_TRUE(WriteRandomGguf(spec, path).ok());
    CheckInvariance(path, Prompts(400), KvCacheDtype::kAuto, DType::kF16);
  }
}

}  // namespace
}  // namespace pagoda
