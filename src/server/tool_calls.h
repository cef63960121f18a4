// Tool calling on /v1/chat/completions: which output format the model uses
// for tool calls, the grammar that forces a call (tool_choice "required" or
// a named function), and the parsers that turn generated text back into
// OpenAI tool_calls.
//
// Constrained formats (what the grammar makes the model write):
// - a named function: the arguments object alone, constrained by the
//   function's `parameters` schema (as vLLM does); the name is known;
// - "required": a JSON list [{"name": ..., "arguments": {...}}, ...] whose
//   items are the tools' (name, parameters) pairs (anyOf); one item when
//   parallel_tool_calls is false.
// Unconstrained ("auto"), the model's own format is parsed:
// - kHermes (Hermes, Qwen2.5/Qwen3): <tool_call>{"name": .., "arguments": ..}</tool_call>
//   blocks, text outside them is content;
// - kLlama3Json (Llama-3.1/3.2/3.3): the whole output is one JSON object
//   {"name": .., "parameters": ..} (or several separated by ';'), optionally
//   after <|python_tag|>.
// Pure functions: thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/openai/errors.h"

namespace pagoda {

enum class ToolCallFormat { kHermes, kLlama3Json };

// "hermes" / "llama3_json"; "" picks from the chat template's text (Hermes
// when it mentions <tool_call>, Llama-3 JSON when it mentions
// <|python_tag|> or "parameters", else Hermes).
std::optional<ToolCallFormat> ToolCallFormatFromName(const std::string& name, const std::string& template_source);

struct ParsedToolCall {
  std::string name;
  std::string arguments;  // a JSON object, serialised compactly
};

struct ParsedToolOutput {
  std::string content;                 // text that is not part of a call
  std::vector<ParsedToolCall> calls;   // empty: no tool call found
};

// Parses a finished auto-mode output. Calls that are not valid JSON stay
// content (nothing half-parsed is reported as a call).
ParsedToolOutput ParseToolCalls(ToolCallFormat format, std::string_view text);
// Parses the "required" list, or returns nullopt when the text is not one.
std::optional<std::vector<ParsedToolCall>> ParseRequiredToolCalls(std::string_view text);

// Streaming auto mode: how many leading bytes of `text` (the output so far)
// are surely content, i.e. not inside or possibly the start of a tool call.
size_t ToolCallSafeContentLength(ToolCallFormat format, std::string_view text);

// Checks `tools` (an array of {type: "function", function: {name,
// parameters?}}) and returns the parameters schema of each, by name.
std::optional<ApiError> CheckTools(const nlohmann::json& tools);
// The schema of the "required" list.
nlohmann::json RequiredToolCallsSchema(const nlohmann::json& tools, bool parallel_tool_calls);
// The parameters schema of the named function (an empty object schema
// when it declares none); nullopt when no tool has that name.
std::optional<nlohmann::json> NamedToolSchema(const nlohmann::json& tools, const std::string& name);

// "chatcmpl-tool-" and 24 random hex digits.
std::string NewToolCallId();

}  // namespace pagoda
