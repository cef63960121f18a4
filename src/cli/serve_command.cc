// `pagoda serve [MODEL]`: the OpenAI-compatible server, with vLLM's flag
// names. With no model it serves the built-in demo model. Prints the
// listening address on stderr once ready; SIGINT/SIGTERM stop it cleanly
// (open streams end, the engine aborts what is left).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "engine/engine_client.h"
#include "server/api_server.h"

namespace pagoda {

namespace {

struct ServeArgs {
  std::string model_positional;
  std::string model;
  std::string host = "0.0.0.0";
  int port = 8000;
  std::vector<std::string> served_model_names;
  std::string api_key;
  int64_t max_model_len = 0;
  int max_num_seqs = 256;
  int max_num_batched_tokens = 2048;
  int block_size = 16;
  std::string kv_cache_memory;
  std::string kv_cache_dtype = "auto";
  int64_t num_kv_blocks = 0;
  int threads = 0;
  std::string chat_template;
  std::string generation_config = "auto";
  std::string tool_call_parser;
  bool enable_prefix_caching = true;
  bool no_prefix_caching = false;
  bool no_chunked_prefill = false;
  int io_threads = 2;
  int64_t max_body_bytes = int64_t{16} << 20;
};

// "4G", "512M", "1073741824" -> bytes; -1 when malformed.
int64_t ParseBytes(const std::string& s) {
  if (s.empty()) return -1;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  std::string suffix(end);
  double scale = 1;
  if (suffix == "K" || suffix == "KiB" || suffix == "k") scale = 1024.0;
  else if (suffix == "M" || suffix == "MiB") scale = 1024.0 * 1024;
  else if (suffix == "G" || suffix == "GiB") scale = 1024.0 * 1024 * 1024;
  else if (!suffix.empty()) return -1;
  return v > 0 ? static_cast<int64_t>(v * scale) : -1;
}

// --chat-template takes a file or the template itself, as vLLM's does.
std::string ReadTemplateArg(const std::string& arg) {
  std::ifstream in(arg);
  if (!in) return arg;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

CommandRun AddServeCommand(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  app.add_option("model_tag", a->model_positional, "GGUF file or Hugging Face folder (default: built-in demo model)");
  app.add_option("--model", a->model, "Same as the positional MODEL");
  app.add_option("--host", a->host, "Address to listen on");
  app.add_option("--port", a->port, "Port to listen on (0: any free port)");
  app.add_option("--served-model-name", a->served_model_names, "Model name(s) clients use (default: the path)")
      ->take_all();
  app.add_option("--api-key", a->api_key, "Require 'Authorization: Bearer <key>' on /v1 routes");
  app.add_option("--max-model-len", a->max_model_len, "Context length (default: the model's)");
  app.add_option("--max-num-seqs", a->max_num_seqs, "Most sequences per step");
  app.add_option("--max-num-batched-tokens", a->max_num_batched_tokens, "Token budget per step");
  app.add_option("--block-size", a->block_size, "KV cache block size in tokens");
  app.add_option("--kv-cache-memory", a->kv_cache_memory, "KV cache size in bytes (suffixes K, M, G)");
  app.add_option("--num-kv-blocks", a->num_kv_blocks, "KV cache size in blocks (overrides --kv-cache-memory)");
  AddKvCacheDtypeOption(app, &a->kv_cache_dtype);
  app.add_option("--threads", a->threads, "CPU threads for the model (default: all cores)");
  app.add_option("--chat-template", a->chat_template, "Chat template file or text (default: the model's)");
  app.add_option("--tool-call-parser", a->tool_call_parser,
                 "Tool-call format for tool_choice auto: hermes or llama3_json (default: from the chat template)")
      ->check(CLI::IsMember({"hermes", "llama3_json"}));
  app.add_option("--generation-config", a->generation_config,
                 "'auto' (the model's generation_config.json), 'vllm' (none) or a folder");
  app.add_flag("--enable-prefix-caching", a->enable_prefix_caching, "Reuse KV blocks of shared prefixes (default)");
  app.add_flag("--no-enable-prefix-caching", a->no_prefix_caching, "Turn prefix caching off");
  app.add_flag("--no-enable-chunked-prefill", a->no_chunked_prefill, "Schedule whole prompts only");
  app.add_option("--io-threads", a->io_threads, "HTTP I/O threads");
  app.add_option("--max-body-bytes", a->max_body_bytes, "Largest request body accepted");
  return [a]() -> int {
    EngineConfig cfg;
    if (!ApplyKvCacheDtype(a->kv_cache_dtype, "serve", &cfg)) return 2;
    std::string model = !a->model.empty() ? a->model : a->model_positional;
    if (model.empty()) {
      model = DemoModelPath();
      if (model.empty()) return 1;
      std::fprintf(stderr, "pagoda serve: no model given, serving the built-in demo model %s\n", model.c_str());
    }
    cfg.model.model = model;
    cfg.model.threads = a->threads;
    cfg.model.max_model_len = a->max_model_len;
    cfg.cache.block_size = a->block_size;
    cfg.cache.num_kv_blocks = a->num_kv_blocks;
    cfg.cache.enable_prefix_caching = !a->no_prefix_caching;
    if (!a->kv_cache_memory.empty()) {
      const int64_t bytes = ParseBytes(a->kv_cache_memory);
      if (bytes <= 0) {
        std::fprintf(stderr, "pagoda serve: --kv-cache-memory: cannot read '%s'\n", a->kv_cache_memory.c_str());
        return 2;
      }
      cfg.cache.kv_cache_memory_bytes = bytes;
    }
    cfg.scheduler.max_num_batched_tokens = a->max_num_batched_tokens;
    cfg.scheduler.max_num_seqs = a->max_num_seqs;
    cfg.scheduler.enable_chunked_prefill = !a->no_chunked_prefill;

    // Signals go to sigwait below, never to the I/O or engine threads, so
    // they are blocked before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    auto engine = EngineClient::Create(cfg);
    if (!engine.ok()) {
      std::fprintf(stderr, "pagoda serve: %s\n", engine.status().message().c_str());
      return 1;
    }
    ServeOptions options;
    options.http.host = a->host;
    options.http.port = a->port;
    options.http.io_threads = a->io_threads;
    options.http.max_body_bytes = static_cast<size_t>(a->max_body_bytes);
    options.served_model_names = a->served_model_names;
    // The demo model answers to a short name, so the README's curl works.
    if (options.served_model_names.empty() && a->model_positional.empty() && a->model.empty()) {
      options.served_model_names = {"demo"};
    }
    options.model_path = model;
    options.api_key = a->api_key;
    if (!a->chat_template.empty()) options.chat_template = ReadTemplateArg(a->chat_template);
    options.generation_config = a->generation_config;
    options.tool_call_parser = a->tool_call_parser;
    auto server = ApiServer::Create(engine->get(), std::move(options));
    if (!server.ok()) {
      std::fprintf(stderr, "pagoda serve: %s\n", server.status().message().c_str());
      return 1;
    }
    if (Status s = (*server)->Start(); !s.ok()) {
      std::fprintf(stderr, "pagoda serve: %s\n", s.message().c_str());
      return 1;
    }
    std::fprintf(stderr, "pagoda serve: model %s (max_model_len %lld) listening on http://%s:%d\n",
                 (*server)->context().model_name().c_str(), static_cast<long long>((*engine)->max_model_len()),
                 a->host.c_str(), (*server)->port());
    const KvCache& kv = (*engine)->kv_cache();
    const int64_t tokens = kv.num_blocks() * kv.block_size();
    std::fprintf(stderr, "pagoda serve: KV cache %s, %lld blocks of %lld tokens (%lld tokens, %.1f MiB): "
                 "%.2fx concurrency at max_model_len\n",
                 kv.dtype_name(), static_cast<long long>(kv.num_blocks()),
                 static_cast<long long>(kv.block_size()), static_cast<long long>(tokens),
                 static_cast<double>(kv.bytes()) / (1024.0 * 1024.0),
                 static_cast<double>(tokens) / static_cast<double>((*engine)->max_model_len()));
    std::fflush(stderr);
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "pagoda serve: shutting down\n");
    (*server)->Stop();
    (*engine)->Shutdown();
    return 0;
  };
}

}  // namespace pagoda
