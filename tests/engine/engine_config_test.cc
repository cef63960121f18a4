// EngineConfig's KV cache choices: --kv-cache-dtype's values, what auto
// resolves to for each weight type, and a memory budget holding twice the
// blocks in float16.
#include "engine/engine_config.h"

#include <gtest/gtest.h>

#include "model/kv_cache.h"
#include "model/model.h"
#include "model/random_model.h"
#include "testutil/shared_data.h"

namespace pagoda {
namespace {

using testing::MakeTempDir;

TEST(EngineConfigTest, ParsesKvCacheDtypeNames) {
  EXPECT_EQ(*ParseKvCacheDtype("auto"), KvCacheDtype::kAuto);
  for (const char* name : {"float16", "fp16", "half"}) {
    EXPECT_EQ(*ParseKvCacheDtype(name), KvCacheDtype::kFloat16) << name;
  }
  for (const char* name : {"float32", "fp32"}) {
    EXPECT_EQ(*ParseKvCacheDtype(name), KvCacheDtype::kFloat32) << name;
  }
  for (const char* name : {"fp8", "fp8_e4m3", "fp8_e5m2", "bfloat16", "FP16", ""}) {
    const StatusOr<KvCacheDtype> r = ParseKvCacheDtype(name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    const std::string m = r.status().message();
    EXPECT_NE(m.find("auto, float16 (fp16, half) or float32 (fp32)"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  EXPECT_NE(ParseKvCacheDtype("fp8").status().message().find("fp8"), std::string::npos);
}

// Resolves `kv` for a random model with `weights`: the cache dtype and the
// blocks a fixed budget buys.
std::pair<DType, int64_t> Resolve(DType weights, KvCacheDtype kv) {
  static const std::string dir = MakeTempDir("pagoda-config-");
  RandomModelSpec spec;
  spec.hidden_size = 64;
  spec.intermediate_size = 128;
  spec.dtype = weights;
  const std::string path = dir + "/m-" + std::string(DTypeName(weights)) + ".gguf";
  EXPECT_TRUE(WriteRandomGguf(spec, path).ok());
  auto model = Model::Load(path);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return {DType::kF32, 0};
  EngineConfig cfg;
  cfg.model.max_model_len = 64;
  cfg.cache.cache_dtype = kv;
  // 100 float32 blocks' worth.
  const ModelConfig& mc = (*model)->config();
  cfg.cache.kv_cache_memory_bytes = static_cast<int64_t>(
      100 * KvCache::BytesPerBlock(mc.num_layers, cfg.cache.block_size, mc.num_kv_heads, mc.head_dim,
                                   DType::kF32));
  const Status s = cfg.Resolve(**model);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return {cfg.cache.kv_cache_dtype, cfg.cache.num_kv_blocks};
}

TEST(EngineConfigTest, AutoIsFloat16UnlessTheModelIsFloat32) {
  EXPECT_EQ(Resolve(DType::kF32, KvCacheDtype::kAuto).first, DType::kF32);
  for (DType w : {DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0}) {
    EXPECT_EQ(Resolve(w, KvCacheDtype::kAuto).first, DType::kF16) << DTypeName(w);
  }
  EXPECT_EQ(Resolve(DType::kF32, KvCacheDtype::kFloat16).first, DType::kF16);
  EXPECT_EQ(Resolve(DType::kQ4_0, KvCacheDtype::kFloat32).first, DType::kF32);
}

TEST(EngineConfigTest, Float16HoldsTwiceTheBlocksInTheSameMemory) {
  EXPECT_EQ(Resolve(DType::kQ8_0, KvCacheDtype::kFloat32).second, 100);
  EXPECT_EQ(Resolve(DType::kQ8_0, KvCacheDtype::kFloat16).second, 200);
  EXPECT_EQ(Resolve(DType::kQ8_0, KvCacheDtype::kAuto).second, 200);
  EXPECT_EQ(KvCache::BytesPerBlock(2, 16, 2, 16, DType::kF16) * 2,
            KvCache::BytesPerBlock(2, 16, 2, 16, DType::kF32));
  KvCache half(2, 3, 16, 2, 16, DType::kF16), full(2, 3, 16, 2, 16, DType::kF32);
  EXPECT_EQ(half.bytes() * 2, full.bytes());
  EXPECT_EQ(half.bytes(), 3 * KvCache::BytesPerBlock(2, 16, 2, 16, DType::kF16));
}

}  // namespace
}  // namespace pagoda
