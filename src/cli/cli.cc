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
  CLI::App* tokenize = app.add_subcommand("tokenize", "Show the token ids and pieces of a text");
  CommandRun run_tokenize = AddTokenizeCommand(*tokenize);
  CLI::App* chat_template = app.add_subcommand("chat-template", "Render a conversation with a chat template");
  CommandRun run_chat_template = AddChatTemplateCommand(*chat_template);
  CLI::App* bench_tokenizer = bench->add_subcommand("tokenizer", "Tokenizer encode throughput");
  CommandRun run_bench_tokenizer = AddBenchTokenizerCommand(*bench_tokenizer);
  CLI::App* bench_structured = bench->add_subcommand("structured", "Structured-output mask, compile and end-to-end cost");
  CommandRun run_bench_structured = AddBenchStructuredCommand(*bench_structured);

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
  if (tokenize->parsed()) return run_tokenize();
  if (chat_template->parsed()) return run_chat_template();
  if (bench_tokenizer->parsed()) return run_bench_tokenizer();
  if (bench_structured->parsed()) return run_bench_structured();
  return 1;
}

}  // namespace pagoda
