// `pagoda bench structured`: what structured output costs.
//   1. Per tokenizer (Llama-3 128k and Qwen3 152k from the shared test
//      data): the one-off TokenizerInfo build, each constraint's compile
//      time, and the time to fill one token mask (mean and p99) along a
//      random walk that picks a uniformly random allowed token each step
//      (restarting when the grammar ends): every state kind is visited.
//   2. End to end, in-process: an LLMEngine over a random-weight model with
//      a 32,000-token vocabulary keeps --concurrency requests in flight and
//      reports output tokens/s unconstrained and under a JSON schema (masks
//      are filled on a worker while the forward pass runs).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "engine/llm_engine.h"
#include "guided/grammar_compiler.h"
#include "guided/grammar_matcher.h"
#include "guided/tokenizer_info.h"
#include "model/random_model.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

struct BenchStructuredArgs {
  std::string data = "../shared/models";
  int steps = 2000;          // mask fills per constraint
  std::string model;         // "" = a random model written to a temp dir
  int64_t vocab_size = 32000;
  int64_t hidden_size = 512;
  int64_t num_layers = 4;
  int concurrency = 8;
  int requests = 32;
  int max_tokens = 128;
  int threads = 0;
  std::string kv_cache_dtype = "auto";
  bool skip_e2e = false;
};

struct NamedConstraint {
  const char* name;
  Constraint c;
};

std::vector<NamedConstraint> Constraints() {
  return {
      {"schema: flat object",
       Constraint::JsonSchema(R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
         "email":{"type":"string","format":"email"},"admin":{"type":"boolean"}},"required":["name","age","admin"]})")},
      {"schema: nested + arrays",
       Constraint::JsonSchema(R"({"type":"object","properties":{"id":{"type":"integer","minimum":0},
         "tags":{"type":"array","items":{"type":"string","maxLength":16},"maxItems":8},
         "address":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string","pattern":"[0-9]{5}"}},
           "required":["street","zip"]},
         "scores":{"type":"array","items":{"type":"number","minimum":0,"maximum":100}}},"required":["id","tags","address"]})")},
      {"schema: enums + anyOf",
       Constraint::JsonSchema(R"({"type":"object","properties":{"status":{"enum":["active","inactive","pending","banned"]},
         "value":{"anyOf":[{"type":"integer"},{"type":"string","maxLength":10},{"type":"null"}]},
         "when":{"type":"string","format":"date-time"}},"required":["status","value","when"]})")},
      {"schema: recursive $ref",
       Constraint::JsonSchema(R"({"$defs":{"node":{"type":"object","properties":{"name":{"type":"string"},
         "children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["name","children"]}},
         "$ref":"#/$defs/node"})")},
      {"schema: tool call list",
       Constraint::JsonSchema(R"({"type":"array","minItems":1,"items":{"anyOf":[
         {"type":"object","properties":{"name":{"enum":["get_weather"]},"arguments":{"type":"object","properties":{
           "city":{"type":"string"},"unit":{"enum":["c","f"]}},"required":["city","unit"]}},"required":["name","arguments"]},
         {"type":"object","properties":{"name":{"enum":["search"]},"arguments":{"type":"object","properties":{
           "query":{"type":"string"},"limit":{"type":"integer","minimum":1,"maximum":50}},"required":["query"]}},
           "required":["name","arguments"]}]}})")},
      {"json_object", Constraint::JsonObject()},
      {"regex: email", Constraint::Regex(R"([a-z0-9._%+-]{1,20}@[a-z0-9.-]{1,20}\.[a-z]{2,6})")},
      {"choice: 4", Constraint::Choice({"positive", "negative", "neutral", "mixed"})},
      {"gbnf: arithmetic", Constraint::Gbnf("root ::= expr\nexpr ::= term ((\"+\" | \"-\") term)*\n"
                                            "term ::= factor ((\"*\" | \"/\") factor)*\n"
                                            "factor ::= [0-9]+ | \"(\" expr \")\"")},
  };
}

int MaskBench(const BenchStructuredArgs& a) {
  const std::vector<std::pair<std::string, std::string>> toks = {{"llama3 (128k)", "tokenizers/llama3"},
                                                                 {"qwen3 (152k)", "tokenizers/qwen3"}};
  std::printf("%-15s %-26s %12s %12s %12s %8s\n", "tokenizer", "constraint", "compile ms", "mask mean us",
              "mask p99 us", "masks");
  for (const auto& [label, rel] : toks) {
    const fs::path dir = fs::path(a.data) / rel;
    if (!fs::exists(dir / "tokenizer.json")) {
      std::printf("%-15s (not found under %s; skipped)\n", label.c_str(), dir.string().c_str());
      continue;
    }
    auto tok = Tokenizer::FromHf(dir.string());
    if (!tok.ok()) {
      std::fprintf(stderr, "bench structured: %s: %s\n", label.c_str(), tok.status().ToString().c_str());
      return 1;
    }
    std::vector<int32_t> stops;
    if ((*tok)->eos_id() >= 0) stops.push_back((*tok)->eos_id());
    const auto t0 = Clock::now();
    auto info = TokenizerInfo::Create(**tok, {.stop_token_ids = stops, .mask_vocab_size = 0});
    const auto t1 = Clock::now();
    if (!info.ok()) {
      std::fprintf(stderr, "bench structured: %s\n", info.status().ToString().c_str());
      return 1;
    }
    std::printf("%-15s %-26s %12.1f\n", label.c_str(), "(tokenizer info, once)", Seconds(t0, t1) * 1e3);
    GrammarCompiler compiler(*info);
    std::vector<double> all_schema;
    for (const NamedConstraint& nc : Constraints()) {
      const auto c0 = Clock::now();
      auto g = compiler.Compile(nc.c);
      const auto c1 = Clock::now();
      if (!g.ok()) {
        std::fprintf(stderr, "bench structured: %s: %s\n", nc.name, g.status().ToString().c_str());
        return 1;
      }
      GrammarMatcher m(*g);
      std::vector<uint32_t> mask(static_cast<size_t>(m.BitmaskWords()));
      std::vector<double> us;
      us.reserve(static_cast<size_t>(a.steps));
      std::mt19937_64 rng(7);
      std::vector<int32_t> allowed;
      for (int s = 0; s < a.steps; ++s) {
        const auto m0 = Clock::now();
        m.FillNextTokenBitmask(mask.data());
        const auto m1 = Clock::now();
        us.push_back(Seconds(m0, m1) * 1e6);
        allowed.clear();
        for (size_t w = 0; w < mask.size(); ++w) {
          for (uint32_t bits = mask[w]; bits != 0; bits &= bits - 1) {
            allowed.push_back(static_cast<int32_t>(w * 32 + static_cast<size_t>(__builtin_ctz(bits))));
          }
        }
        if (allowed.empty()) {
          m.Reset();
          continue;
        }
        m.AcceptToken(allowed[rng() % allowed.size()]);
        if (m.IsTerminated()) m.Reset();
      }
      std::vector<double> sorted = us;
      std::sort(sorted.begin(), sorted.end());
      double mean = 0;
      for (double v : us) mean += v;
      mean /= static_cast<double>(us.size());
      const double p99 = sorted[std::min(sorted.size() - 1, sorted.size() * 99 / 100)];
      if (std::string(nc.name).rfind("schema", 0) == 0) all_schema.insert(all_schema.end(), us.begin(), us.end());
      std::printf("%-15s %-26s %12.1f %12.2f %12.2f %8zu\n", label.c_str(), nc.name, Seconds(c0, c1) * 1e3, mean,
                  p99, us.size());
    }
    std::sort(all_schema.begin(), all_schema.end());
    double mean = 0;
    for (double v : all_schema) mean += v;
    if (!all_schema.empty()) {
      mean /= static_cast<double>(all_schema.size());
      std::printf("%-15s %-26s %12s %12.2f %12.2f %8zu\n", label.c_str(), "all JSON schemas", "", mean,
                  all_schema[std::min(all_schema.size() - 1, all_schema.size() * 99 / 100)], all_schema.size());
    }
  }
  return 0;
}

struct E2eResult {
  double tokens_per_s = 0;
  int64_t tokens = 0;
  double mask_us = 0;
  int64_t forced = 0;  // tokens appended by jump-forward
  std::vector<int> lengths;  // output tokens of each request, by submission order
};

// `lengths`: unconstrained requests generate exactly these many tokens
// (by submission order), so a run can copy another's batch shape.
StatusOr<E2eResult> RunE2e(LLMEngine& engine, const BenchStructuredArgs& a, bool constrained, int tag,
                           bool jump_forward = true, const std::vector<int>& lengths = {}) {
  engine.structured_output().set_jump_forward(jump_forward);
  SamplingParams sp;
  sp.temperature = 1.0f;
  sp.max_tokens = a.max_tokens;
  if (constrained) {
    sp.structured_output = StructuredOutputSpec{
        .kind = StructuredOutputSpec::Kind::kJsonSchema,
        .text = R"({"type":"object","properties":{"name":{"type":"string","maxLength":40},
                    "tags":{"type":"array","items":{"type":"string","maxLength":12},"maxItems":6},
                    "age":{"type":"integer","minimum":0,"maximum":120}},"required":["name","tags","age"]})"};
  } else {
    sp.ignore_eos = true;
  }
  const double mask0 = engine.structured_output().total_mask_seconds();
  const int64_t masks0 = engine.structured_output().total_masks();
  const int64_t forced0 = engine.structured_output().total_forced_tokens();
  int submitted = 0;
  int in_flight = 0;
  int64_t tokens = 0;
  std::vector<int> out_lengths(static_cast<size_t>(a.requests), 0);
  const std::string prefix = "b" + std::to_string(tag) + "-";
  auto submit = [&]() -> Status {
    std::vector<int32_t> prompt = {0};
    for (int j = 0; j < 16; ++j) prompt.push_back(3 + (submitted * 131 + j * 37) % 250);
    SamplingParams p = sp;
    p.seed = static_cast<uint64_t>(submitted);
    if (!constrained && static_cast<size_t>(submitted) < lengths.size()) p.max_tokens = lengths[submitted];
    RETURN_IF_ERROR(engine.AddRequest(prefix + std::to_string(submitted), prompt, p));
    ++submitted;
    ++in_flight;
    return Status::Ok();
  };
  const auto t0 = Clock::now();
  while (in_flight < a.concurrency && submitted < a.requests) RETURN_IF_ERROR(submit());
  while (engine.HasUnfinishedRequests()) {
    for (const EngineCoreOutput& o : engine.Step()) {
      tokens += static_cast<int64_t>(o.new_token_ids.size());
      out_lengths[static_cast<size_t>(std::stoi(o.req_id.substr(prefix.size())))] +=
          static_cast<int>(o.new_token_ids.size());
      if (o.finish_reason) --in_flight;
    }
    while (in_flight < a.concurrency && submitted < a.requests) RETURN_IF_ERROR(submit());
  }
  const auto t1 = Clock::now();
  if (engine.HasPendingWork()) engine.Step();
  E2eResult r;
  r.tokens = tokens;
  r.lengths = std::move(out_lengths);
  r.tokens_per_s = static_cast<double>(tokens) / Seconds(t0, t1);
  r.forced = engine.structured_output().total_forced_tokens() - forced0;
  const int64_t masks = engine.structured_output().total_masks() - masks0;
  if (masks > 0) r.mask_us = (engine.structured_output().total_mask_seconds() - mask0) / static_cast<double>(masks) * 1e6;
  return r;
}

// base: the engine options the flags set (the KV cache dtype).
int E2eBench(const BenchStructuredArgs& a, const EngineConfig& base) {
  std::string path = a.model;
  if (path.empty()) {
    path = (fs::temp_directory_path() / ("pagoda-bench-structured-" + std::to_string(::getpid()) + ".gguf")).string();
    RandomModelSpec spec;
    spec.vocab_size = a.vocab_size;
    spec.hidden_size = a.hidden_size;
    spec.intermediate_size = a.hidden_size * 8 / 3;
    spec.num_layers = a.num_layers;
    spec.num_heads = 8;
    spec.num_kv_heads = 4;
    if (Status s = WriteRandomGguf(spec, path); !s.ok()) {
      std::fprintf(stderr, "bench structured: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  EngineConfig cfg = base;
  cfg.model.model = path;
  cfg.model.threads = a.threads;
  cfg.model.max_model_len = 1024;
  auto engine = LLMEngine::Create(cfg);
  if (a.model.empty()) fs::remove(path);
  if (!engine.ok()) {
    std::fprintf(stderr, "bench structured: %s\n", engine.status().ToString().c_str());
    return 1;
  }
  std::printf("\nend to end: %s, vocab %lld, concurrency %d, %d requests, max_tokens %d, temperature 1\n",
              a.model.empty() ? "random model" : a.model.c_str(),
              static_cast<long long>((*engine)->model().config().vocab_size), a.concurrency, a.requests,
              a.max_tokens);
  // Warm-up: compiles the schema and builds the tokenizer tables outside the timing.
  BenchStructuredArgs warm = a;
  warm.requests = a.concurrency;
  warm.max_tokens = 8;
  if (!RunE2e(**engine, warm, true, 0).ok() || !RunE2e(**engine, warm, false, 1).ok()) return 1;
  // The unconstrained run generates exactly as many tokens per request as
  // the constrained one did, so both have the same batch shape step by step
  // (shorter sequences, or a ragged tail, alone change tokens/s).
  auto masked = RunE2e(**engine, a, true, 4, /*jump_forward=*/false);
  auto plain = RunE2e(**engine, a, false, 2, true, masked.ok() ? masked->lengths : std::vector<int>{});
  auto guided = RunE2e(**engine, a, true, 3);
  if (!plain.ok() || !guided.ok() || !masked.ok()) {
    std::fprintf(stderr, "bench structured: %s\n",
                 (!plain.ok() ? plain.status() : !masked.ok() ? masked.status() : guided.status()).ToString().c_str());
    return 1;
  }
  std::printf("%-28s %12s %10s %14s %10s\n", "", "tokens/s", "tokens", "mask us/token", "forced");
  std::printf("%-28s %12.1f %10lld %14s %10s\n", "unconstrained, same length", plain->tokens_per_s,
              static_cast<long long>(plain->tokens), "-", "-");
  std::printf("%-28s %12.1f %10lld %14.2f %10lld\n", "JSON schema, no jump-forward", masked->tokens_per_s,
              static_cast<long long>(masked->tokens), masked->mask_us, static_cast<long long>(masked->forced));
  std::printf("%-28s %12.1f %10lld %14.2f %10lld\n", "JSON schema", guided->tokens_per_s,
              static_cast<long long>(guided->tokens), guided->mask_us, static_cast<long long>(guided->forced));
  std::printf("constrained / unconstrained: %.1f%% without jump-forward, %.1f%% with\n",
              100.0 * masked->tokens_per_s / plain->tokens_per_s, 100.0 * guided->tokens_per_s / plain->tokens_per_s);
  return 0;
}

}  // namespace

CommandRun AddBenchStructuredCommand(CLI::App& app) {
  auto a = std::make_shared<BenchStructuredArgs>();
  app.add_option("--data", a->data, "Folder of the shared test data (tokenizers/llama3, tokenizers/qwen3)");
  app.add_option("--steps", a->steps, "Mask fills per constraint")->check(CLI::PositiveNumber);
  app.add_option("-m,--model", a->model, "Model for the end-to-end part (default: a random model)");
  app.add_option("--vocab-size", a->vocab_size, "Random model vocabulary");
  app.add_option("--hidden-size", a->hidden_size, "Random model hidden size");
  app.add_option("--num-layers", a->num_layers, "Random model layers");
  app.add_option("--concurrency", a->concurrency, "Requests in flight")->check(CLI::PositiveNumber);
  app.add_option("--requests", a->requests, "Requests per end-to-end run")->check(CLI::PositiveNumber);
  app.add_option("--max-tokens", a->max_tokens, "Output tokens per request at most")->check(CLI::PositiveNumber);
  app.add_option("--threads", a->threads, "Compute threads (0: all cores)");
  AddKvCacheDtypeOption(app, &a->kv_cache_dtype);
  app.add_flag("--skip-e2e", a->skip_e2e, "Masks and compile times only");
  return [a]() {
    EngineConfig cfg;
    if (!ApplyKvCacheDtype(a->kv_cache_dtype, "bench structured", &cfg)) return 2;
    if (int rc = MaskBench(*a); rc != 0) return rc;
    return a->skip_e2e ? 0 : E2eBench(*a, cfg);
  };
}

}  // namespace pagoda
