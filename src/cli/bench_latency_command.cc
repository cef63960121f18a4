// `pagoda bench latency`: prompt-processing and decode speed of one batch,
// flags named as `vllm bench latency` names them. Prompts are random token
// ids (prefix caching off), generation ignores EOS so every sequence runs
// the full --output-len. Prefill time runs from submission until every
// sequence has its first token; decode time covers the remaining steps.
// With --batch-size N it is also the many-sequence (aggregate decode)
// benchmark.
//
// Beside the speeds it reports what bounds them: the machine's streaming
// read bandwidth, measured in the same process with the engine's own
// threads (before and after the timed runs: it drifts by +-15% between
// runs on a shared machine), decode as a fraction of the limit that
// bandwidth sets (weight bytes read per step / bandwidth), prefill as
// achieved GFLOP/s, and the peak resident memory of the timed part (the
// bandwidth buffer excluded) against model file + KV cache.
//
// A machine's memory can change speed within a run (this one's has two
// modes, minute to minute), so probes before and after alone can pair a
// decode with a limit it never ran under. Decode is therefore also cut into
// segments of --probe-every steps with the model's own matrices streamed
// between them (untimed), and each segment compared with the probes on
// either side; segments whose two probes agree give a paired fraction.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/bench_common.h"
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
  int bandwidth_mib = 512;
  int probe_every = 32;
  std::string kv_cache_dtype = "auto";
  bool json = false;
};

// Decode steps between two probes of the weights' read speed.
struct DecodeSegment {
  int steps = 0;
  double seconds = 0;
  double probe_before_gb_s = 0, probe_after_gb_s = 0;
};

struct RunTimes {
  double prefill_s = 0, decode_s = 0;  // decode_s leaves out the probes
  std::vector<DecodeSegment> segments;
};

// `probe` (may be empty: no segments) returns a read speed in GB/s; it runs
// when the last first token has arrived, after every a.probe_every decode
// steps, and at the end.
RunTimes RunOnce(LLMEngine& engine, const LatencyArgs& a, uint64_t seed,
                 const std::function<double()>& probe) {
  const std::vector<std::vector<int32_t>> prompts =
      RandomPrompts(engine.model().config().vocab_size, a.batch_size, a.input_len, seed);
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
  auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  RunTimes r;
  DecodeSegment seg;
  auto seg_start = t0;
  double probe_s = 0;  // probing inside the decode interval
  // Closes the running segment at `now` (probing after it) and opens the next.
  auto probe_between = [&](Clock::time_point now) {
    if (seg.steps > 0) seg.seconds = seconds(now - seg_start);
    const double gb_s = probe();
    if (seg.steps > 0) {
      seg.probe_after_gb_s = gb_s;
      r.segments.push_back(seg);
    }
    seg = DecodeSegment{};
    seg.probe_before_gb_s = gb_s;
    seg_start = Clock::now();
    probe_s += seconds(seg_start - now);
  };
  // The first token of a sequence arrives in the step its prompt completes.
  std::set<std::string> have_first;
  bool decoding = false;
  auto t1 = t0;
  while (engine.HasUnfinishedRequests()) {
    const bool decode_step = decoding;
    for (const EngineCoreOutput& o : engine.Step()) {
      if (!o.new_token_ids.empty() && have_first.insert(o.req_id).second &&
          have_first.size() == prompts.size()) {
        t1 = Clock::now();
        decoding = true;
      }
    }
    if (!probe || !decoding || !engine.HasUnfinishedRequests()) {
      if (decode_step) ++seg.steps;
      continue;
    }
    if (!decode_step) {
      probe_between(t1);  // the limit as decode starts
    } else if (++seg.steps >= a.probe_every) {
      probe_between(Clock::now());
    }
  }
  const auto t2 = Clock::now();
  if (probe && seg.steps > 0) {
    const double timed_probe_s = probe_s;
    probe_between(t2);
    probe_s = timed_probe_s;  // this one ran after the timed part
  }
  r.prefill_s = seconds(t1 - t0);
  r.decode_s = seconds(t2 - t1) - probe_s;
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
  app.add_option("--bandwidth-mib", a->bandwidth_mib,
                 "Buffer of the read-bandwidth probe, MiB (0: skip the probes)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--probe-every", a->probe_every,
                 "During decode, probe the weights' read speed every N steps, untimed (0: never)")
      ->check(CLI::NonNegativeNumber);
  AddKvCacheDtypeOption(app, &a->kv_cache_dtype);
  app.add_flag("--json", a->json, "Print one JSON object");
  return [a]() -> int {
    EngineConfig cfg;
    if (!ApplyKvCacheDtype(a->kv_cache_dtype, "bench latency", &cfg)) return 2;
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
    const Model& model = e.model();
    std::vector<double> bandwidth;  // best pass of each probe, GB/s
    std::vector<double> weights_bandwidth;  // the same, streaming the model's matrices
    double one_thread_bw = 0;  // the probe with one thread: what a core alone can read
    if (a->bandwidth_mib > 0) {
      bandwidth.push_back(ProbeReadBandwidth(e.pool(), a->bandwidth_mib));
      weights_bandwidth.push_back(ProbeWeightsReadBandwidth(e.pool(), model));
      ThreadPool one(1);
      one_thread_bw = ProbeReadBandwidth(&one, a->bandwidth_mib);
    }
    std::function<double()> segment_probe;
    if (a->bandwidth_mib > 0 && a->probe_every > 0) {
      segment_probe = [&] { return ProbeWeightsReadBandwidth(e.pool(), model, 2); };
    }
    // The probe's buffer is gone; from here the peak is the benchmark's own.
    const bool rss_reset = ResetPeakRss();
    {  // Warm-up: touches the weights and grows the buffers.
      LatencyArgs w = *a;
      w.output_len = 2;
      RunOnce(e, w, 999, nullptr);
    }
    std::vector<double> prefill, decode;
    std::vector<DecodeSegment> segments;
    for (int i = 0; i < a->num_iters; ++i) {
      RunTimes t = RunOnce(e, *a, static_cast<uint64_t>(i + 1), segment_probe);
      segments.insert(segments.end(), t.segments.begin(), t.segments.end());
      prefill.push_back(static_cast<double>(a->batch_size) * a->input_len / t.prefill_s);
      if (a->output_len > 1) decode.push_back(static_cast<double>(a->batch_size) * (a->output_len - 1) / t.decode_s);
    }
    const double rss = PeakRssMib();
    if (a->bandwidth_mib > 0) {
      bandwidth.push_back(ProbeReadBandwidth(e.pool(), a->bandwidth_mib));
      weights_bandwidth.push_back(ProbeWeightsReadBandwidth(e.pool(), model));
    }

    const RunStats pf = Summarize(prefill), dc = Summarize(decode);
    const double bw = bandwidth.empty() ? 0 : *std::max_element(bandwidth.begin(), bandwidth.end());
    const double weight_bytes = static_cast<double>(WeightBytesPerStep(model));
    // One decode step serves batch_size tokens and reads the weights once.
    const double limit_tokens_per_s = bw > 0 ? bw * 1e9 / weight_bytes * a->batch_size : 0;
    const double bw_fraction = limit_tokens_per_s > 0 ? dc.mean / limit_tokens_per_s : 0;
    const double weights_bw =
        weights_bandwidth.empty() ? 0 : *std::max_element(weights_bandwidth.begin(), weights_bandwidth.end());
    const double weights_fraction =
        weights_bw > 0 ? dc.mean / (weights_bw * 1e9 / weight_bytes * a->batch_size) : 0;
    // Each segment's weight read speed against the faster of its two
    // probes; the paired fraction is the median over segments whose probes
    // agree within 10% (memory kept one speed across it).
    std::vector<double> segment_fractions, paired;
    for (const DecodeSegment& s : segments) {
      const double limit = std::max(s.probe_before_gb_s, s.probe_after_gb_s);
      if (limit <= 0 || s.seconds <= 0) continue;
      const double f = weight_bytes * s.steps / s.seconds / 1e9 / limit;
      segment_fractions.push_back(f);
      if (std::min(s.probe_before_gb_s, s.probe_after_gb_s) >= 0.9 * limit) paired.push_back(f);
    }
    std::sort(paired.begin(), paired.end());
    const double paired_fraction = paired.empty() ? 0 : paired[paired.size() / 2];
    const RunStats seg_stats = Summarize(segment_fractions);
    const double gflops_per_prefill = PrefillFlops(model, a->batch_size, a->input_len) / 1e9;
    const double tokens_per_prefill = static_cast<double>(a->batch_size) * a->input_len;
    const double prefill_gflops = pf.mean * gflops_per_prefill / tokens_per_prefill;
    const KvCache& kv = e.kv_cache();
    const double kv_mib = static_cast<double>(kv.bytes()) / (1024.0 * 1024.0);
    const std::string kv_dtype = kv.dtype_name();
    const double file_mib = FileMib(cfg.model.model);
    if (a->json) {
      nlohmann::json j = {{"model", cfg.model.model}, {"input_len", a->input_len},
                          {"output_len", a->output_len}, {"batch_size", a->batch_size},
                          {"threads", e.pool()->num_threads()}, {"isa", KernelIsa()},
                          {"prefill_tokens_per_s", pf.mean}, {"decode_tokens_per_s", dc.mean},
                          {"prefill_runs", prefill}, {"decode_runs", decode},
                          {"prefill_gflops", prefill_gflops},
                          {"read_bandwidth_gb_s", bw}, {"read_bandwidth_probes_gb_s", bandwidth},
                          {"weight_bytes_per_step", weight_bytes},
                          {"decode_bandwidth_limit_tokens_per_s", limit_tokens_per_s},
                          {"decode_bandwidth_fraction", bw_fraction},
                          {"weights_read_bandwidth_gb_s", weights_bw},
                          {"weights_read_bandwidth_probes_gb_s", weights_bandwidth},
                          {"decode_weights_bandwidth_fraction", weights_fraction},
                          {"read_bandwidth_one_thread_gb_s", one_thread_bw},
                          {"probe_every", a->probe_every},
                          {"decode_segment_fractions", segment_fractions},
                          {"decode_paired_segments", paired.size()},
                          {"decode_paired_bandwidth_fraction", paired_fraction},
                          {"peak_rss_mib", rss}, {"peak_rss_reset", rss_reset},
                          {"model_file_mib", file_mib}, {"kv_cache_mib", kv_mib},
                          {"kv_cache_dtype", kv_dtype}, {"kv_cache_blocks", kv.num_blocks()}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("model: %s (%.1f MiB)\nthreads: %d (%s kernels)\nbatch %d, input %d, output %d, %d run(s)\n",
                  cfg.model.model.c_str(), file_mib, e.pool()->num_threads(), KernelIsa(),
                  a->batch_size, a->input_len, a->output_len, a->num_iters);
      std::printf("KV cache:          %s, %lld blocks of %lld tokens, %.1f MiB\n", kv_dtype.c_str(),
                  static_cast<long long>(kv.num_blocks()), static_cast<long long>(kv.block_size()), kv_mib);
      std::printf("read bandwidth:    %10.2f GB/s (best pass; probes:", bw);
      for (double b : bandwidth) std::printf(" %.2f", b);
      std::printf("; one thread alone: %.2f)\n", one_thread_bw);
      std::printf("weights read:      %10.2f GB/s (best pass streaming the model's matrices; probes:", weights_bw);
      for (double b : weights_bandwidth) std::printf(" %.2f", b);
      std::printf(")\n");
      std::printf("prompt processing: %10.2f tokens/s (runs %.2f .. %.2f), %.1f GFLOP/s\n", pf.mean,
                  pf.min, pf.max, prefill_gflops);
      std::printf("decode:            %10.2f tokens/s (runs %.2f .. %.2f), %.0f%% of the bandwidth limit "
                  "(%.1f MB of weights per step -> %.2f tokens/s), %.0f%% of the weights' own read speed\n",
                  dc.mean, dc.min, dc.max, 100 * bw_fraction, weight_bytes / 1e6, limit_tokens_per_s,
                  100 * weights_fraction);
      if (!segment_fractions.empty()) {
        std::printf("decode segments:   %zu of %d steps, %.0f%% .. %.0f%% of the weights' read speed probed "
                    "around each; %zu with agreeing probes, median %.0f%%\n",
                    segment_fractions.size(), a->probe_every, 100 * seg_stats.min, 100 * seg_stats.max,
                    paired.size(), 100 * paired_fraction);
      }
      std::printf("peak RSS:          %10.1f MiB (model file %.1f + KV cache %.1f = %.1f MiB)\n", rss,
                  file_mib, kv_mib, file_mib + kv_mib);
    }
    return 0;
  };
}

}  // namespace pagoda
