// `pagoda generate`: completions for one or more prompts, batched.
//
// stdout carries only the generated text, so scripts can capture it. With
// several prompts the completions come in prompt order, each followed by a
// NUL byte ("\0", as `find -print0` does) because completions may contain
// newlines; --separator changes it. When stdout is a terminal a final
// newline is added for readability.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "engine/llm_engine.h"

namespace pagoda {

namespace {
struct GenerateArgs {
  std::string model;
  std::vector<std::string> prompts;
  int max_tokens = 16;
  float temperature = 1.0f;
  int top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  int64_t seed = -1;
  bool ignore_eos = false;
  std::vector<std::string> stop;
  bool include_stop_str_in_output = false;
  int threads = 0;
  int64_t max_model_len = 0;
  int block_size = 16;
  std::string kv_cache_dtype = "auto";
  int max_num_batched_tokens = 2048;
  int max_num_seqs = 256;
  bool no_chunked_prefill = false;
  std::string separator = std::string(1, '\0');
};
}  // namespace

CommandRun AddGenerateCommand(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  app.add_option("--model,-m", a->model, "GGUF file or Hugging Face folder (default: built-in demo model)");
  app.add_option("--prompt,-p", a->prompts, "Prompt text (repeat for a batch)")->take_all();
  app.add_option("--max-tokens", a->max_tokens, "Tokens to generate per prompt")->check(CLI::PositiveNumber);
  app.add_option("--temperature", a->temperature, "0 = greedy")->check(CLI::NonNegativeNumber);
  app.add_option("--top-k", a->top_k, "Keep the k most likely tokens (0 = off)");
  app.add_option("--top-p", a->top_p, "Nucleus sampling mass in (0, 1]");
  app.add_option("--min-p", a->min_p, "Drop tokens below min_p x the top probability");
  app.add_option("--seed", a->seed, "Per-request sampling seed (default: random)");
  app.add_flag("--ignore-eos", a->ignore_eos, "Keep generating past the end-of-sequence token");
  app.add_option("--stop", a->stop, "Stop string: the completion ends before it (repeat for several)");
  app.add_flag("--include-stop-str-in-output", a->include_stop_str_in_output,
               "Keep the matched stop string at the end of the completion");
  app.add_option("--threads", a->threads, "CPU threads (default: all cores)");
  app.add_option("--max-model-len", a->max_model_len, "Context length (default: the model's)");
  app.add_option("--block-size", a->block_size, "KV cache block size in tokens");
  AddKvCacheDtypeOption(app, &a->kv_cache_dtype);
  app.add_option("--max-num-batched-tokens", a->max_num_batched_tokens, "Token budget per step");
  app.add_option("--max-num-seqs", a->max_num_seqs, "Most sequences per step");
  app.add_flag("--no-enable-chunked-prefill", a->no_chunked_prefill, "Schedule whole prompts only");
  app.add_option("--separator", a->separator, "Printed after each completion when there are several (default NUL)");
  return [a]() -> int {
    EngineConfig cfg;
    if (!ApplyKvCacheDtype(a->kv_cache_dtype, "generate", &cfg)) return 2;
    cfg.model.model = a->model.empty() ? DemoModelPath() : a->model;
    if (cfg.model.model.empty()) return 1;
    cfg.model.threads = a->threads;
    cfg.model.max_model_len = a->max_model_len;
    cfg.cache.block_size = a->block_size;
    cfg.scheduler.max_num_batched_tokens = a->max_num_batched_tokens;
    cfg.scheduler.max_num_seqs = a->max_num_seqs;
    cfg.scheduler.enable_chunked_prefill = !a->no_chunked_prefill;
    auto engine = LLMEngine::Create(cfg);
    if (!engine.ok()) {
      std::fprintf(stderr, "pagoda generate: %s\n", engine.status().message().c_str());
      return 1;
    }
    SamplingParams sp;
    sp.max_tokens = a->max_tokens;
    sp.temperature = a->temperature;
    sp.top_k = a->top_k;
    sp.top_p = a->top_p;
    sp.min_p = a->min_p;
    sp.ignore_eos = a->ignore_eos;
    sp.stop = a->stop;
    sp.include_stop_str_in_output = a->include_stop_str_in_output;
    if (a->seed >= 0) sp.seed = static_cast<uint64_t>(a->seed);
    std::vector<std::string> prompts = a->prompts;
    if (prompts.empty()) prompts.push_back("");
    auto results = (*engine)->Generate(prompts, sp);
    if (!results.ok()) {
      std::fprintf(stderr, "pagoda generate: %s\n", results.status().message().c_str());
      return 1;
    }
    const bool several = results->size() > 1;
    for (const CompletionOutput& c : *results) {
      std::fwrite(c.text.data(), 1, c.text.size(), stdout);
      if (several) std::fwrite(a->separator.data(), 1, a->separator.size(), stdout);
    }
    if (::isatty(STDOUT_FILENO)) std::fputc('\n', stdout);
    std::fflush(stdout);
    return 0;
  };
}

}  // namespace pagoda
