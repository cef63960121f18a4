#include "cli/cli.h"

#include <cstdio>
#include <memory>

#include "cli/commands.h"

namespace pagoda {

int RunCli(int argc, char** argv) {
  CLI::App app{"pagoda: LLM inference and serving engine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pagoda 0.1.0");

  CLI::App* generate = app.add_subcommand("generate", "Generate completions for prompts");
  CommandRun run_generate = AddGenerateCommand(*generate);
  CLI::App* mkmodel = app.add_subcommand("mkmodel", "Write a random-weight model (GGUF or HF folder)");
  CommandRun run_mkmodel = AddMkmodelCommand(*mkmodel);
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  CLI::App* latency = bench->add_subcommand("latency", "Prompt-processing and decode speed");
  CommandRun run_latency = AddBenchLatencyCommand(*latency);
  CLI::App* throughput = bench->add_subcommand("throughput", "Offline request and token throughput");
  CommandRun run_throughput = AddBenchThroughputCommand(*throughput);
  CLI::App* bench_serve = bench->add_subcommand("serve", "Load test an OpenAI-compatible server");
  CommandRun run_bench_serve = AddBenchServeCommand(*bench_serve);
  CLI::App* serve = app.add_subcommand("serve", "OpenAI-compatible HTTP server");
  CommandRun run_serve = AddServeCommand(*serve);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (generate->parsed()) return run_generate();
  if (mkmodel->parsed()) return run_mkmodel();
  if (latency->parsed()) return run_latency();
  if (throughput->parsed()) return run_throughput();
  if (bench_serve->parsed()) return run_bench_serve();
  if (serve->parsed()) return run_serve();
  return 1;
}

}  // namespace pagoda
