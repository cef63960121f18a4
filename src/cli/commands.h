// The subcommands of the `pagoda` binary. Each Add*Command registers its
// flags on the CLI11 app and returns the callback that runs it (the exit
// code it returns becomes the process's).
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace pagoda {

using CommandRun = std::function<int()>;

CommandRun AddGenerateCommand(CLI::App& app);
CommandRun AddMkmodelCommand(CLI::App& app);
CommandRun AddBenchLatencyCommand(CLI::App& bench);
CommandRun AddBenchThroughputCommand(CLI::App& bench);
CommandRun AddServeCommand(CLI::App& app);
CommandRun AddBenchServeCommand(CLI::App& bench);
CommandRun AddTokenizeCommand(CLI::App& app);
CommandRun AddChatTemplateCommand(CLI::App& app);
CommandRun AddBenchTokenizerCommand(CLI::App& bench);
CommandRun AddBenchStructuredCommand(CLI::App& bench);

struct EngineConfig;

// --kv-cache-dtype on a command that builds an engine: the option (raw
// value into *value, "auto" unless given) and, before the engine is built,
// its check. A bad value prints one line "pagoda <command>: ..." and
// ApplyKvCacheDtype returns false (exit code 2).
void AddKvCacheDtypeOption(CLI::App& app, std::string* value);
bool ApplyKvCacheDtype(const std::string& value, const char* command, EngineConfig* cfg);

// Path of the built-in demo model, written on first use (deterministic
// random weights, so nothing is downloaded). Returns "" and prints an error
// on failure.
std::string DemoModelPath();

}  // namespace pagoda
