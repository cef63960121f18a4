// `pagoda bench throughput`: offline, in-process throughput of the whole
// engine (scheduler, continuous batching, sampling, detokenization), flags
// named as `vllm bench throughput` names them. --num-prompts random prompts
// of --input-len tokens are all submitted at once and run to --output-len
// tokens each (EOS ignored); the scheduler batches them as it would serve
// them. Reports requests/s, total tokens/s and output tokens/s.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "engine/llm_engine.h"
#include "kernels/ops.h"

namespace pagoda {

namespace {
struct ThroughputArgs {
  std::string model;
  int input_len = 128;
  int output_len = 128;
  int num_prompts = 64;
  int threads = 0;
  int max_num_seqs = 256;
  int max_num_batched_tokens = 2048;
  int64_t num_kv_blocks = 0;
  std::string kv_cache_dtype = "auto";
  float temperature = 1.0f;
  uint64_t seed = 0;
  bool json = false;
};

std::vector<std::vector<int32_t>> RandomPrompts(const ThroughputArgs& a, int64_t vocab, int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(count));
  for (auto& p : prompts) {
    for (int i = 0; i < a.input_len; ++i) p.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab)));
  }
  return prompts;
}
}  // namespace

CommandRun AddBenchThroughputCommand(CLI::App& app) {
  auto a = std::make_shared<ThroughputArgs>();
  app.add_option("--model,-m", a->model, "GGUF file or Hugging Face folder (default: demo model)");
  app.add_option("--input-len", a->input_len, "Prompt tokens per request")->check(CLI::PositiveNumber);
  app.add_option("--output-len", a->output_len, "Generated tokens per request")->check(CLI::PositiveNumber);
  app.add_option("--num-prompts", a->num_prompts, "Requests to run")->check(CLI::PositiveNumber);
  app.add_option("--threads", a->threads, "CPU threads (default: all cores)");
  app.add_option("--max-num-seqs", a->max_num_seqs, "Running requests at most")->check(CLI::PositiveNumber);
  app.add_option("--max-num-batched-tokens", a->max_num_batched_tokens, "Token budget per step")
      ->check(CLI::PositiveNumber);
  app.add_option("--num-kv-blocks", a->num_kv_blocks, "KV cache blocks (default: from the memory budget)");
  AddKvCacheDtypeOption(app, &a->kv_cache_dtype);
  app.add_option("--temperature", a->temperature, "Sampling temperature (0: greedy)");
  app.add_option("--seed", a->seed, "Seed of the random prompts");
  app.add_flag("--json", a->json, "Print one JSON object");
  return [a]() -> int {
    EngineConfig cfg;
    if (!ApplyKvCacheDtype(a->kv_cache_dtype, "bench throughput", &cfg)) return 2;
    cfg.model.model = a->model.empty() ? DemoModelPath() : a->model;
    if (cfg.model.model.empty()) return 1;
    cfg.model.threads = a->threads;
    cfg.model.max_model_len = a->input_len + a->output_len;
    cfg.cache.num_kv_blocks = a->num_kv_blocks;
    cfg.scheduler.max_num_seqs = a->max_num_seqs;
    cfg.scheduler.max_num_batched_tokens = a->max_num_batched_tokens;
    auto engine = LLMEngine::Create(cfg);
    if (!engine.ok()) {
      std::fprintf(stderr, "pagoda bench throughput: %s\n", engine.status().message().c_str());
      return 1;
    }
    LLMEngine& e = **engine;
    const int64_t vocab = e.model().config().vocab_size;
    SamplingParams sp;
    sp.temperature = a->temperature;
    sp.ignore_eos = true;
    sp.max_tokens = 2;
    // Warm-up: touches the weights and grows the buffers.
    if (auto w = e.GenerateFromIds(RandomPrompts(*a, vocab, 1, a->seed + 1), sp); !w.ok()) {
      std::fprintf(stderr, "pagoda bench throughput: %s\n", w.status().message().c_str());
      return 1;
    }
    const std::vector<std::vector<int32_t>> prompts = RandomPrompts(*a, vocab, a->num_prompts, a->seed);
    sp.max_tokens = a->output_len;
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    auto out = e.GenerateFromIds(prompts, sp);
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!out.ok()) {
      std::fprintf(stderr, "pagoda bench throughput: %s\n", out.status().message().c_str());
      return 1;
    }
    int64_t output_tokens = 0;
    for (const CompletionOutput& c : *out) output_tokens += static_cast<int64_t>(c.token_ids.size());
    const int64_t prompt_tokens = static_cast<int64_t>(a->num_prompts) * a->input_len;
    const double req_s = a->num_prompts / elapsed;
    const double total_tok_s = static_cast<double>(prompt_tokens + output_tokens) / elapsed;
    const double out_tok_s = static_cast<double>(output_tokens) / elapsed;
    if (a->json) {
      nlohmann::json j = {{"model", cfg.model.model}, {"input_len", a->input_len},
                          {"output_len", a->output_len}, {"num_prompts", a->num_prompts},
                          {"threads", e.pool()->num_threads()}, {"isa", KernelIsa()},
                          {"elapsed_time", elapsed}, {"num_requests", a->num_prompts},
                          {"total_num_tokens", prompt_tokens + output_tokens},
                          {"requests_per_second", req_s}, {"tokens_per_second", total_tok_s},
                          {"output_tokens_per_second", out_tok_s},
                          {"num_preemptions", e.num_preemptions_total()}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("model: %s\nthreads: %d (%s kernels)\n%d prompts, input %d, output %d, %.2f s\n",
                  cfg.model.model.c_str(), e.pool()->num_threads(), KernelIsa(), a->num_prompts,
                  a->input_len, a->output_len, elapsed);
      std::printf("Throughput: %.2f requests/s, %.2f total tokens/s, %.2f output tokens/s\n", req_s,
                  total_tok_s, out_tok_s);
      std::printf("preemptions: %lld\n", static_cast<long long>(e.num_preemptions_total()));
    }
    return 0;
  };
}

}  // namespace pagoda
