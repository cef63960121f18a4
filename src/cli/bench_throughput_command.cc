// `pagoda bench throughput`: offline, in-process throughput of the whole
// engine (scheduler, continuous batching, sampling, detokenization), flags
// named as `vllm bench throughput` names them. --num-prompts random prompts
// of --input-len tokens are all submitted at once and run to --output-len
// tokens each (EOS ignored); the scheduler batches them as it would serve
// them. Reports requests/s, total tokens/s and output tokens/s, and — to
// compare with `bench latency` — prefill and decode speed: a step that
// computes any prompt tokens counts as prefill time (prompt tokens / that
// time; continuous batching may decode other sequences in the same step),
// the others as decode time (tokens they generate / that time). Also the
// machine's read bandwidth (probed before and after) and the peak resident
// memory of the timed part.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/bench_common.h"
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
  int bandwidth_mib = 512;
  bool json = false;
};

struct Timing {
  double elapsed_s = 0;
  double prefill_s = 0;  // steps that computed prompt tokens
  double decode_s = 0;   // the other steps
  int64_t decode_tokens = 0;  // tokens generated in those other steps
  int64_t decode_steps = 0;
  int64_t output_tokens = 0;
};

// Whether the next step has prompt tokens to compute: some request has not
// yet computed its whole prompt.
bool PromptWorkLeft(const LLMEngine& e, const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    const Request* r = e.scheduler().GetRequest(id);
    if (r != nullptr && r->num_computed_tokens() < r->num_prompt_tokens()) return true;
  }
  return false;
}

StatusOr<Timing> Run(LLMEngine& e, const std::vector<std::vector<int32_t>>& prompts, const SamplingParams& sp,
                     const std::string& tag) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < prompts.size(); ++i) {
    ids.push_back("bench-" + tag + "-" + std::to_string(i));
    RETURN_IF_ERROR(e.AddRequest(ids.back(), prompts[i], sp));
  }
  using Clock = std::chrono::steady_clock;
  Timing t;
  const auto t0 = Clock::now();
  while (e.HasUnfinishedRequests()) {
    const bool prefill = PromptWorkLeft(e, ids);
    const auto s0 = Clock::now();
    int64_t tokens = 0;
    for (const EngineCoreOutput& o : e.Step()) tokens += static_cast<int64_t>(o.new_token_ids.size());
    const double s = std::chrono::duration<double>(Clock::now() - s0).count();
    t.output_tokens += tokens;
    if (prefill) {
      t.prefill_s += s;
    } else {
      t.decode_s += s;
      t.decode_tokens += tokens;
      ++t.decode_steps;
    }
  }
  t.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return t;
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
  app.add_option("--bandwidth-mib", a->bandwidth_mib, "Buffer of the read-bandwidth probe, MiB (0: skip the probe)")
      ->check(CLI::NonNegativeNumber);
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
    std::vector<double> bandwidth;  // best pass of each probe, GB/s
    if (a->bandwidth_mib > 0) bandwidth.push_back(ProbeReadBandwidth(e.pool(), a->bandwidth_mib));
    const bool rss_reset = ResetPeakRss();  // the probe's buffer is gone
    SamplingParams sp;
    sp.temperature = a->temperature;
    sp.ignore_eos = true;
    sp.max_tokens = 2;
    // Warm-up: touches the weights and grows the buffers.
    if (auto w = Run(e, RandomPrompts(vocab, 1, a->input_len, a->seed + 1), sp, "warmup"); !w.ok()) {
      std::fprintf(stderr, "pagoda bench throughput: %s\n", w.status().message().c_str());
      return 1;
    }
    sp.max_tokens = a->output_len;
    auto run = Run(e, RandomPrompts(vocab, a->num_prompts, a->input_len, a->seed), sp, "run");
    if (!run.ok()) {
      std::fprintf(stderr, "pagoda bench throughput: %s\n", run.status().message().c_str());
      return 1;
    }
    const Timing& t = *run;
    const double rss = PeakRssMib();
    if (a->bandwidth_mib > 0) bandwidth.push_back(ProbeReadBandwidth(e.pool(), a->bandwidth_mib));
    const double bw = bandwidth.empty() ? 0 : *std::max_element(bandwidth.begin(), bandwidth.end());
    const double elapsed = t.elapsed_s;
    const int64_t output_tokens = t.output_tokens;
    const int64_t prompt_tokens = static_cast<int64_t>(a->num_prompts) * a->input_len;
    const double req_s = a->num_prompts / elapsed;
    const double total_tok_s = static_cast<double>(prompt_tokens + output_tokens) / elapsed;
    const double out_tok_s = static_cast<double>(output_tokens) / elapsed;
    const double prefill_tok_s = t.prefill_s > 0 ? static_cast<double>(prompt_tokens) / t.prefill_s : 0;
    const double decode_tok_s = t.decode_s > 0 ? static_cast<double>(t.decode_tokens) / t.decode_s : 0;
    const double file_mib = FileMib(cfg.model.model);
    const double kv_mib = static_cast<double>(e.kv_cache().bytes()) / (1024.0 * 1024.0);
    const double weight_gb = static_cast<double>(WeightBytesPerStep(e.model())) / 1e9;
    // Each decode step reads the weights once, whatever its batch: the
    // weights' read speed in decode against the probe's.
    const double decode_weights_gb_s = t.decode_s > 0 ? weight_gb * static_cast<double>(t.decode_steps) / t.decode_s : 0;
    const double decode_fraction = bw > 0 ? decode_weights_gb_s / bw : 0;
    // Steps with prompt tokens may decode other sequences too: an upper
    // bound on the prefill work's time, so a lower bound on its rate.
    const double prefill_gflops =
        t.prefill_s > 0 ? PrefillFlops(e.model(), a->num_prompts, a->input_len) / t.prefill_s / 1e9 : 0;
    if (a->json) {
      nlohmann::json j = {{"model", cfg.model.model}, {"input_len", a->input_len},
                          {"output_len", a->output_len}, {"num_prompts", a->num_prompts},
                          {"threads", e.pool()->num_threads()}, {"isa", KernelIsa()},
                          {"elapsed_time", elapsed}, {"num_requests", a->num_prompts},
                          {"total_num_tokens", prompt_tokens + output_tokens},
                          {"requests_per_second", req_s}, {"tokens_per_second", total_tok_s},
                          {"output_tokens_per_second", out_tok_s},
                          {"prefill_tokens_per_s", prefill_tok_s}, {"decode_tokens_per_s", decode_tok_s},
                          {"prefill_time_s", t.prefill_s}, {"decode_time_s", t.decode_s},
                          {"prefill_gflops", prefill_gflops}, {"decode_steps", t.decode_steps},
                          {"decode_weights_read_gb_s", decode_weights_gb_s},
                          {"decode_bandwidth_fraction", decode_fraction},
                          {"read_bandwidth_gb_s", bw}, {"read_bandwidth_probes_gb_s", bandwidth},
                          {"weight_bytes_per_step", weight_gb * 1e9},
                          {"peak_rss_mib", rss}, {"peak_rss_reset", rss_reset},
                          {"model_file_mib", file_mib}, {"kv_cache_mib", kv_mib},
                          {"num_preemptions", e.num_preemptions_total()}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("model: %s (%.1f MiB)\nthreads: %d (%s kernels)\n%d prompts, input %d, output %d, %.2f s\n",
                  cfg.model.model.c_str(), file_mib, e.pool()->num_threads(), KernelIsa(), a->num_prompts,
                  a->input_len, a->output_len, elapsed);
      std::printf("Throughput: %.2f requests/s, %.2f total tokens/s, %.2f output tokens/s\n", req_s,
                  total_tok_s, out_tok_s);
      std::printf("read bandwidth:    %10.2f GB/s (best pass; probes:", bw);
      for (double b : bandwidth) std::printf(" %.2f", b);
      std::printf(")\n");
      std::printf("prompt processing: %10.2f tokens/s (%.2f s of steps with prompt tokens), %.1f GFLOP/s\n",
                  prefill_tok_s, t.prefill_s, prefill_gflops);
      std::printf("decode:            %10.2f tokens/s (%.2f s of %lld decode-only steps; %.2f GB of weights per step, "
                  "read at %.2f GB/s: %.0f%% of the bandwidth limit)\n",
                  decode_tok_s, t.decode_s, static_cast<long long>(t.decode_steps), weight_gb, decode_weights_gb_s,
                  100 * decode_fraction);
      std::printf("peak RSS:          %10.1f MiB (model file %.1f + KV cache %.1f = %.1f MiB)\n", rss, file_mib,
                  kv_mib, file_mib + kv_mib);
      std::printf("preemptions: %lld\n", static_cast<long long>(e.num_preemptions_total()));
    }
    return 0;
  };
}

}  // namespace pagoda
