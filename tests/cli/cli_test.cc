// The `pagoda` binary end to end: generate's stdout contract, mkmodel in
// both formats, bench latency's and bench throughput's reports, and
// one-line errors for bad input.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "formats/gguf.h"
#include "testutil/shared_data.h"

namespace pagoda {
namespace {

using testing::HaveSharedModel;
using testing::MakeTempDir;
using testing::PagodaBinary;
using testing::RunCommand;
using testing::SharedModelPath;

struct Result {
  int code;
  std::string out, err;
};

Result RunPagoda(const std::string& args) {
  static int n = 0;
  static const std::string dir = MakeTempDir("pagoda-cli-");
  const std::string err_file = dir + "/err" + std::to_string(n++);
  Result r;
  r.code = RunCommand(PagodaBinary() + " " + args + " 2>" + err_file, &r.out);
  std::ifstream f(err_file);
  std::stringstream ss;
  ss << f.rdbuf();
  r.err = ss.str();
  return r;
}

std::string ReadFile(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary);
  f << data;
}

// One line on stderr naming `what`, a non-zero exit, nothing on stdout.
void ExpectCleanError(const Result& r, const std::string& what) {
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "expected one line: " << r.err;
}

TEST(CliTest, GenerateStoriesGolden) {
  const std::string model = "stories260K/stories260K.gguf";
  if (!HaveSharedModel(model)) GTEST_SKIP() << "needs " << SharedModelPath(model);
  const auto golden = nlohmann::json::parse(ReadFile(SharedModelPath("stories260K/golden_once_upon_a_time.json")));
  Result r = RunPagoda("generate --model " + SharedModelPath(model) +
                 " --prompt 'Once upon a time' --max-tokens 32 --temperature 0");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, golden["greedy_text"].get<std::string>());

  // Several prompts: one completion each, in order, NUL-terminated.
  Result two = RunPagoda("generate --model " + SharedModelPath(model) +
                   " --prompt 'Once upon a time' --prompt 'The cat' --max-tokens 32 --temperature 0");
  ASSERT_EQ(two.code, 0) << two.err;
  Result cat = RunPagoda("generate --model " + SharedModelPath(model) + " --prompt 'The cat' --max-tokens 32 --temperature 0");
  EXPECT_EQ(two.out, r.out + std::string(1, '\0') + cat.out + std::string(1, '\0'));

  // --stop ends the text before the first match of any stop string (or
  // after it, with --include-stop-str-in-output).
  const std::string text = r.out;
  const std::string word = text.substr(text.size() / 2, 4);
  const size_t at = text.find(word);
  ASSERT_NE(at, std::string::npos);
  Result stopped = RunPagoda("generate --model " + SharedModelPath(model) +
                             " --prompt 'Once upon a time' --max-tokens 32 --temperature 0 --stop '" + word +
                             "' --stop 'no such text'");
  ASSERT_EQ(stopped.code, 0) << stopped.err;
  EXPECT_EQ(stopped.out, text.substr(0, at));
  Result kept = RunPagoda("generate --model " + SharedModelPath(model) +
                          " --prompt 'Once upon a time' --max-tokens 32 --temperature 0 --stop '" + word +
                          "' --include-stop-str-in-output");
  ASSERT_EQ(kept.code, 0) << kept.err;
  EXPECT_EQ(kept.out, text.substr(0, at + word.size()));
}

TEST(CliTest, SeededSamplingIsReproducible) {
  const std::string model = "stories260K/stories260K.gguf";
  if (!HaveSharedModel(model)) GTEST_SKIP() << "needs " << SharedModelPath(model);
  const std::string args = "generate --model " + SharedModelPath(model) +
                           " --prompt 'Once upon a time' --max-tokens 40 --temperature 0.9 --top-k 40 --top-p 0.9 --seed 7";
  Result a = RunPagoda(args);
  Result b = RunPagoda(args);
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  Result c = RunPagoda(args + "1");  // seed 71
  EXPECT_NE(a.out, c.out);
}

TEST(CliTest, MkmodelBothFormatsGenerate) {
  const std::string dir = MakeTempDir("pagoda-mk-");
  Result g = RunPagoda("mkmodel --arch qwen3 --dtype q8_0 --hidden-size 64 --intermediate-size 128 --num-heads 4 "
                 "--num-kv-heads 2 --vocab-size 300 --num-layers 2 --out " + dir + "/m.gguf");
  ASSERT_EQ(g.code, 0) << g.err;
  Result h = RunPagoda("mkmodel --arch qwen2 --dtype bf16 --format hf --hidden-size 64 --intermediate-size 128 "
                 "--num-heads 4 --num-kv-heads 2 --vocab-size 300 --num-layers 2 --out " + dir + "/hf");
  ASSERT_EQ(h.code, 0) << h.err;
  for (const std::string& m : {dir + "/m.gguf", dir + "/hf"}) {
    Result r = RunPagoda("generate --model " + m + " --prompt 'hello world' --max-tokens 8 --temperature 0 --ignore-eos");
    EXPECT_EQ(r.code, 0) << m << ": " << r.err;
    EXPECT_FALSE(r.out.empty()) << m;
  }
  Result bench = RunPagoda("bench latency --model " + dir + "/m.gguf --input-len 16 --output-len 4 --batch-size 2 "
                           "--probe-every 0 --json");
  ASSERT_EQ(bench.code, 0) << bench.err;
  auto j = nlohmann::json::parse(bench.out);
  EXPECT_GT(j["prefill_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(j["decode_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(j["peak_rss_mib"].get<double>(), 0);
  EXPECT_TRUE(j["decode_segment_fractions"].empty());  // --probe-every 0: no probes during decode
}

// bench latency runs GGUF files that other tools made, not only mkmodel's:
// stories260K.gguf (converted by llama.cpp's tools, F32 weights).
TEST(CliTest, BenchLatencyRunsAForeignGguf) {
  const std::string model = "stories260K/stories260K.gguf";
  if (!HaveSharedModel(model)) GTEST_SKIP() << "needs " << SharedModelPath(model);
  Result r = RunPagoda("bench latency --model " + SharedModelPath(model) +
                       " --input-len 32 --output-len 16 --batch-size 2 --threads 2 --bandwidth-mib 16 "
                       "--probe-every 4 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["prefill_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(j["decode_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(j["read_bandwidth_gb_s"].get<double>(), 0);
  EXPECT_GT(j["read_bandwidth_one_thread_gb_s"].get<double>(), 0);
  EXPECT_GT(j["decode_bandwidth_fraction"].get<double>(), 0);
  // 15 decode steps after the first token, probed every 4: segments of
  // 4, 4, 4 and 3 steps, each with a fraction of its probes' speed.
  ASSERT_EQ(j["decode_segment_fractions"].size(), 4u);
  for (const auto& f : j["decode_segment_fractions"]) EXPECT_GT(f.get<double>(), 0);
  EXPECT_LE(j["decode_paired_segments"].get<int>(), 4);
  EXPECT_EQ(j["kv_cache_dtype"], "float32");  // auto: every matrix is F32
  // Five layers (dim 64, grouped K/V, FFN 172) and the 512 x 64 output
  // matrix, all F32: the per-step weight bytes are the file's matrices,
  // less than the file and more than half of it.
  EXPECT_LT(j["weight_bytes_per_step"].get<double>(), j["model_file_mib"].get<double>() * 1048576.0);
  EXPECT_GT(j["weight_bytes_per_step"].get<double>(), 0.5 * j["model_file_mib"].get<double>() * 1048576.0);
}

TEST(CliTest, BadInputGivesOneLineErrors) {
  const std::string dir = MakeTempDir("pagoda-bad-");
  ExpectCleanError(RunPagoda("generate --model " + dir + "/nope.gguf --prompt x"), dir + "/nope.gguf");

  // A GGUF of an architecture pagoda does not run.
  GgufWriter w;
  w.SetString("general.architecture", "gptneox");
  ASSERT_TRUE(w.WriteTo(dir + "/neox.gguf").ok());
  Result arch = RunPagoda("generate --model " + dir + "/neox.gguf --prompt x");
  ExpectCleanError(arch, dir + "/neox.gguf");
  EXPECT_NE(arch.err.find("gptneox"), std::string::npos);

  if (!HaveSharedModel("stories260K/stories260K.gguf")) GTEST_SKIP() << "needs stories260K for corrupted copies";
  const std::string real = ReadFile(SharedModelPath("stories260K/stories260K.gguf"));
  WriteFile(dir + "/trunc.gguf", real.substr(0, real.size() / 2));
  ExpectCleanError(RunPagoda("generate --model " + dir + "/trunc.gguf --prompt x"), dir + "/trunc.gguf");
  std::string bad_magic = real;
  bad_magic[0] = 'X';
  WriteFile(dir + "/magic.gguf", bad_magic);
  ExpectCleanError(RunPagoda("generate --model " + dir + "/magic.gguf --prompt x"), dir + "/magic.gguf");

  // An HF folder whose safetensors header lies about its size.
  const std::string hf = dir + "/hf";
  ASSERT_EQ(RunPagoda("mkmodel --format hf --out " + hf).code, 0);
  std::string st = ReadFile(hf + "/model.safetensors");
  st.resize(st.size() - 100);
  WriteFile(hf + "/model.safetensors", st);
  ExpectCleanError(RunPagoda("generate --model " + hf + " --prompt x"), hf + "/model.safetensors");
  // Missing config.json.
  std::remove((hf + "/config.json").c_str());
  ExpectCleanError(RunPagoda("generate --model " + hf + " --prompt x"), "config.json");
}

TEST(CliTest, PromptLongerThanContextIsAnError) {
  const std::string model = "stories260K/stories260K.gguf";
  if (!HaveSharedModel(model)) GTEST_SKIP() << "needs " << SharedModelPath(model);
  Result r = RunPagoda("generate --model " + SharedModelPath(model) +
                 " --max-model-len 8 --prompt 'Once upon a time there was a little girl named Lily' --max-tokens 4");
  ExpectCleanError(r, "max_model_len");
}

// --kv-cache-dtype: vLLM's fp8 values and unknown names are one-line
// errors naming what is supported; bench latency reports the cache's dtype
// and size, and float16 holds the same blocks in half the bytes.
TEST(CliTest, KvCacheDtypeFlag) {
  for (const char* cmd : {"generate --prompt x", "bench latency", "bench throughput", "serve"}) {
    for (const char* bad : {"fp8", "fp8_e5m2", "bfloat16"}) {
      const Result r = RunPagoda(std::string(cmd) + " --kv-cache-dtype " + bad);
      ExpectCleanError(r, std::string("--kv-cache-dtype '") + bad + "'");
      EXPECT_NE(r.err.find("float16 (fp16, half)"), std::string::npos) << r.err;
      EXPECT_EQ(r.code, 2) << cmd;
    }
  }
  const std::string dir = MakeTempDir("pagoda-kvdtype-");
  Result g = RunPagoda("mkmodel --arch llama --dtype q8_0 --hidden-size 64 --intermediate-size 128 --num-heads 4 "
                       "--num-kv-heads 2 --vocab-size 300 --num-layers 2 --out " + dir + "/m.gguf");
  ASSERT_EQ(g.code, 0) << g.err;
  std::map<std::string, nlohmann::json> by_flag;
  for (const char* flag : {"auto", "float16", "fp16", "half", "float32", "fp32"}) {
    Result bench = RunPagoda("bench latency --model " + dir + "/m.gguf --input-len 16 --output-len 4 "
                             "--batch-size 2 --bandwidth-mib 0 --json --kv-cache-dtype " + flag);
    ASSERT_EQ(bench.code, 0) << flag << ": " << bench.err;
    by_flag[flag] = nlohmann::json::parse(bench.out);
  }
  // A Q8_0 model: auto is float16.
  for (const char* f16 : {"auto", "float16", "fp16", "half"}) {
    EXPECT_EQ(by_flag[f16]["kv_cache_dtype"], "float16") << f16;
  }
  for (const char* f32 : {"float32", "fp32"}) EXPECT_EQ(by_flag[f32]["kv_cache_dtype"], "float32") << f32;
  EXPECT_EQ(by_flag["float16"]["kv_cache_blocks"], by_flag["float32"]["kv_cache_blocks"]);
  EXPECT_DOUBLE_EQ(2 * by_flag["float16"]["kv_cache_mib"].get<double>(),
                   by_flag["float32"]["kv_cache_mib"].get<double>());
  // The text report names both.
  Result text = RunPagoda("bench latency --model " + dir + "/m.gguf --input-len 8 --output-len 2 "
                          "--batch-size 1 --bandwidth-mib 0 --kv-cache-dtype half");
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("KV cache:          float16,"), std::string::npos) << text.out;
}

TEST(CliTest, BenchThroughputReportsPrefillDecodeBandwidthAndPeakRss) {
  const std::string dir = MakeTempDir("pagoda-bench-tp-");
  Result g = RunPagoda("mkmodel --arch llama --dtype q4_0 --hidden-size 64 --intermediate-size 128 --num-heads 4 "
                       "--num-kv-heads 2 --vocab-size 300 --num-layers 2 --out " + dir + "/m.gguf");
  ASSERT_EQ(g.code, 0) << g.err;
  Result r = RunPagoda("bench throughput --model " + dir + "/m.gguf --input-len 24 --output-len 6 --num-prompts 5 "
                       "--max-num-batched-tokens 32 --threads 2 --bandwidth-mib 8 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  for (const char* key : {"prefill_tokens_per_s", "decode_tokens_per_s", "read_bandwidth_gb_s", "peak_rss_mib",
                          "prefill_time_s", "decode_time_s", "elapsed_time", "prefill_gflops",
                          "decode_weights_read_gb_s", "decode_bandwidth_fraction"}) {
    ASSERT_TRUE(j.contains(key)) << key << " missing: " << r.out;
    EXPECT_GT(j[key].get<double>(), 0) << key;
  }
  EXPECT_EQ(j["read_bandwidth_probes_gb_s"].size(), 2u);
  // 120 prompt tokens at 32 a step take several steps; every token after
  // each prompt's first comes from a step of its own timing.
  EXPECT_LE(j["prefill_time_s"].get<double>() + j["decode_time_s"].get<double>(),
            j["elapsed_time"].get<double>() + 1e-6);
  EXPECT_EQ(j["total_num_tokens"], 5 * (24 + 6));
  // Decode-only steps each read the weights once.
  const double steps = j["decode_steps"].get<double>();
  EXPECT_GT(steps, 0);
  EXPECT_NEAR(j["decode_weights_read_gb_s"].get<double>(),
              j["weight_bytes_per_step"].get<double>() * steps / j["decode_time_s"].get<double>() / 1e9,
              1e-6 * j["decode_weights_read_gb_s"].get<double>());
  // The weights are mapped and read: the peak covers at least the file.
  EXPECT_GE(j["peak_rss_mib"].get<double>(), j["model_file_mib"].get<double>());
  Result text = RunPagoda("bench throughput --model " + dir + "/m.gguf --input-len 8 --output-len 2 --num-prompts 2 "
                          "--bandwidth-mib 0");
  ASSERT_EQ(text.code, 0) << text.err;
  for (const char* line : {"prompt processing:", "decode:", "peak RSS:", "Throughput:"}) {
    EXPECT_NE(text.out.find(line), std::string::npos) << line << " in " << text.out;
  }
}

}  // namespace
}  // namespace pagoda
