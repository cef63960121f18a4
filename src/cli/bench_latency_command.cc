// `pagoda bench latency`: prompt-processing and decode speed of one batch,
// flags named as `vllm bench latency` names them. Prompts are random token
// ids (prefix caching off), generation ignores EOS so every sequence runs
// the full --output-len. Prefill time runs from submission until every
// sequence has its first token; decode time covers the remaining steps.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "engine/llm_engine.h"
#include "kernels/ops.h"

namespace pagoda {

namespace {
struct LatencyArgs {
  std::string model;
  int input_len = 32;
  int output_len = 128;
  int batch_size = 8;
  int threads = 0;
  int num_iters = 1;
  bool json = false;
};

double PeakRssMib() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is KiB on Linux
}

struct RunTimes {
  double prefill_s = 0, decode_s = 0;
};

RunTimes RunOnce(LLMEngine& engine, const LatencyArgs& a, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int64_t vocab = engine.model().config().vocab_size;
  std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(a.batch_size));
  for (auto& p : prompts) {
    for (int i = 0; i < a.input_len; ++i) p.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab)));
  }
  SamplingParams sp;
  sp.temperature = 0;
  sp.ignore_eos = true;
  sp.max_tokens = a.output_len;
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  for (size_t i = 0; i < prompts.size(); ++i) {
    Status s = engine.AddRequest("bench-" + std::to_string(seed) + "-" + std::to_string(i), prompts[i], sp);
    if (!s.ok()) {
      std::fprintf(stderr, "pagoda bench latency: %s\n", s.message().c_str());
      std::exit(1);
    }
  }
  // The first token of a sequence arrives in the step its prompt completes.
  std::set<std::string> have_first;
  auto t1 = t0;
  while (engine.HasUnfinishedRequests()) {
    for (const EngineCoreOutput& o : engine.Step()) {
      if (!o.new_token_ids.empty() && have_first.insert(o.req_id).second &&
          have_first.size() == prompts.size()) {
        t1 = Clock::now();
      }
    }
  }
  const auto t2 = Clock::now();
  RunTimes r;
  r.prefill_s = std::chrono::duration<double>(t1 - t0).count();
  r.decode_s = std::chrono::duration<double>(t2 - t1).count();
  return r;
}
}  // namespace

CommandRun AddBenchLatencyCommand(CLI::App& app) {
  auto a = std::make_shared<LatencyArgs>();
  app.add_option("--model,-m", a->model, "GGUF file or Hugging Face folder (default: demo model)");
  app.add_option("--input-len", a->input_len, "Prompt tokens per sequence")->check(CLI::PositiveNumber);
  app.add_option("--output-len", a->output_len, "Generated tokens per sequence")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", a->batch_size, "Sequences run together")->check(CLI::PositiveNumber);
  app.add_option("--threads", a->threads, "CPU threads (default: all cores)");
  app.add_option("--num-iters", a->num_iters, "Measured runs (after one warm-up)")->check(CLI::PositiveNumber);
  app.add_flag("--json", a->json, "Print one JSON object");
  return [a]() -> int {
    EngineConfig cfg;
    cfg.model.model = a->model.empty() ? DemoModelPath() : a->model;
    if (cfg.model.model.empty()) return 1;
    cfg.model.threads = a->threads;
    cfg.model.max_model_len = a->input_len + a->output_len + 1;
    cfg.cache.enable_prefix_caching = false;
    const int64_t blocks_per_seq = (cfg.model.max_model_len + cfg.cache.block_size - 1) / cfg.cache.block_size;
    cfg.cache.num_kv_blocks = blocks_per_seq * a->batch_size + 1;
    cfg.scheduler.max_num_seqs = a->batch_size;
    cfg.scheduler.max_num_batched_tokens = std::max(2048, a->input_len);
    auto engine = LLMEngine::Create(cfg);
    if (!engine.ok()) {
      std::fprintf(stderr, "pagoda bench latency: %s\n", engine.status().message().c_str());
      return 1;
    }
    LLMEngine& e = **engine;
    {  // Warm-up: touches the weights and grows the buffers.
      LatencyArgs w = *a;
      w.output_len = 2;
      RunOnce(e, w, 999);
    }
    std::vector<double> prefill, decode;
    for (int i = 0; i < a->num_iters; ++i) {
      RunTimes t = RunOnce(e, *a, static_cast<uint64_t>(i + 1));
      prefill.push_back(static_cast<double>(a->batch_size) * a->input_len / t.prefill_s);
      if (a->output_len > 1) decode.push_back(static_cast<double>(a->batch_size) * (a->output_len - 1) / t.decode_s);
    }
    auto mean = [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return v.empty() ? 0.0 : s / static_cast<double>(v.size());
    };
    const double rss = PeakRssMib();
    if (a->json) {
      nlohmann::json j = {{"model", cfg.model.model}, {"input_len", a->input_len},
                          {"output_len", a->output_len}, {"batch_size", a->batch_size},
                          {"threads", e.pool()->num_threads()}, {"isa", KernelIsa()},
                          {"prefill_tokens_per_s", mean(prefill)}, {"decode_tokens_per_s", mean(decode)},
                          {"prefill_runs", prefill}, {"decode_runs", decode}, {"peak_rss_mib", rss}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("model: %s\nthreads: %d (%s kernels)\nbatch %d, input %d, output %d, %d run(s)\n",
                  cfg.model.model.c_str(), e.pool()->num_threads(), KernelIsa(), a->batch_size,
                  a->input_len, a->output_len, a->num_iters);
      std::printf("prompt processing: %10.2f tokens/s\n", mean(prefill));
      std::printf("decode:            %10.2f tokens/s\n", mean(decode));
      std::printf("peak RSS:          %10.1f MiB\n", rss);
    }
    return 0;
  };
}

}  // namespace pagoda
