// Tool-call parsing (Hermes and Llama-3 JSON), the streaming content guard,
// the forced-call schemas, and the structured-output request fields.
#include "server/tool_calls.h"

#include <gtest/gtest.h>

#include "server/openai/protocol.h"
#include "server/openai/structured_output_fields.h"

namespace pagoda {
namespace {

TEST(ToolCalls, HermesBlocksAndContent) {
  ParsedToolOutput out = ParseToolCalls(
      ToolCallFormat::kHermes,
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
      "<tool_call>{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}</tool_call>");
  ASSERT_EQ(out.calls.size(), 2u);
  EXPECT_EQ(out.calls[0].name, "get_weather");
  EXPECT_EQ(nlohmann::json::parse(out.calls[0].arguments), nlohmann::json({{"city", "Paris"}}));
  EXPECT_EQ(out.calls[1].name, "add");
  EXPECT_EQ(out.content, "Let me check.\n");
  // Broken JSON inside the tags stays content; no tags: all content.
  ParsedToolOutput broken = ParseToolCalls(ToolCallFormat::kHermes, "<tool_call>{\"name\": \"x\", </tool_call>");
  EXPECT_TRUE(broken.calls.empty());
  EXPECT_EQ(broken.content, "<tool_call>{\"name\": \"x\", </tool_call>");
  EXPECT_TRUE(ParseToolCalls(ToolCallFormat::kHermes, "just text").calls.empty());
  // An unclosed final block (stopped at </tool_call>'s absence) still parses.
  EXPECT_EQ(ParseToolCalls(ToolCallFormat::kHermes, "<tool_call>{\"name\": \"f\", \"arguments\": {}}").calls.size(), 1u);
}

TEST(ToolCalls, Llama3Json) {
  ParsedToolOutput one =
      ParseToolCalls(ToolCallFormat::kLlama3Json, " {\"name\": \"add\", \"parameters\": {\"a\": 1, \"b\": 2}}");
  ASSERT_EQ(one.calls.size(), 1u);
  EXPECT_EQ(one.calls[0].name, "add");
  EXPECT_EQ(nlohmann::json::parse(one.calls[0].arguments), nlohmann::json({{"a", 1}, {"b", 2}}));
  EXPECT_TRUE(one.content.empty());
  ParsedToolOutput tagged = ParseToolCalls(
      ToolCallFormat::kLlama3Json,
      "<|python_tag|>{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"x\": \"y\"}}");
  ASSERT_EQ(tagged.calls.size(), 2u);
  EXPECT_EQ(tagged.calls[1].name, "b");
  ParsedToolOutput text = ParseToolCalls(ToolCallFormat::kLlama3Json, "The answer is 4.");
  EXPECT_TRUE(text.calls.empty());
  EXPECT_EQ(text.content, "The answer is 4.");
  EXPECT_TRUE(ParseToolCalls(ToolCallFormat::kLlama3Json, "{\"no_name\": 1}").calls.empty());
}

TEST(ToolCalls, SafeContentHoldsBackPossibleCallStarts) {
  EXPECT_EQ(ToolCallSafeContentLength(ToolCallFormat::kHermes, "Hello <tool"), 6u);
  EXPECT_EQ(ToolCallSafeContentLength(ToolCallFormat::kHermes, "Hello <b>"), 9u);
  EXPECT_EQ(ToolCallSafeContentLength(ToolCallFormat::kHermes, "Hi <tool_call>{\"na"), 3u);
  EXPECT_EQ(ToolCallSafeContentLength(ToolCallFormat::kLlama3Json, "  {\"name"), 0u);
  EXPECT_EQ(ToolCallSafeContentLength(ToolCallFormat::kLlama3Json, "Sure"), 4u);
}

TEST(ToolCalls, RequiredListAndFormats) {
  auto calls = ParseRequiredToolCalls(R"([{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {}}])");
  ASSERT_TRUE(calls.has_value());
  ASSERT_EQ(calls->size(), 2u);
  EXPECT_EQ((*calls)[1].name, "b");
  EXPECT_FALSE(ParseRequiredToolCalls("{\"name\": \"a\"}").has_value());
  const nlohmann::json tools = nlohmann::json::parse(
      R"([{"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}}, {"type": "function", "function": {"name": "b"}}])");
  EXPECT_FALSE(CheckTools(tools).has_value());
  nlohmann::json schema = RequiredToolCallsSchema(tools, /*parallel_tool_calls=*/false);
  EXPECT_EQ(schema["maxItems"], 1);
  EXPECT_EQ(schema["items"]["anyOf"].size(), 2u);
  EXPECT_TRUE(NamedToolSchema(tools, "b").has_value());
  EXPECT_FALSE(NamedToolSchema(tools, "c").has_value());
  EXPECT_TRUE(CheckTools(nlohmann::json::parse(R"([{"type": "function", "function": {}}])")).has_value());
  EXPECT_EQ(ToolCallFormatFromName("", "{{ '<tool_call>' }}"), ToolCallFormat::kHermes);
  EXPECT_EQ(ToolCallFormatFromName("", "<|python_tag|>"), ToolCallFormat::kLlama3Json);
  EXPECT_EQ(ToolCallFormatFromName("llama3_json", ""), ToolCallFormat::kLlama3Json);
  EXPECT_FALSE(ToolCallFormatFromName("mistral", "").has_value());
}

TEST(StructuredOutputFields, EverySpelling) {
  using Kind = StructuredOutputSpec::Kind;
  auto read = [](const char* body) {
    SamplingParams p;
    auto error = ReadStructuredOutputFields(nlohmann::json::parse(body), &p);
    EXPECT_FALSE(error.has_value()) << body << ": " << (error ? error->message : "");
    return p.structured_output;
  };
  EXPECT_EQ(read(R"({"response_format": {"type": "json_object"}})")->kind, Kind::kJsonObject);
  EXPECT_FALSE(read(R"({"response_format": {"type": "text"}})").has_value());
  auto js = read(R"({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "integer"}, "strict": true}}})");
  EXPECT_EQ(js->kind, Kind::kJsonSchema);
  EXPECT_EQ(nlohmann::json::parse(js->text), nlohmann::json({{"type", "integer"}}));
  EXPECT_EQ(read(R"({"structured_outputs": {"regex": "a+"}})")->text, "a+");
  EXPECT_EQ(read(R"({"structured_outputs": {"choice": ["a", "b"]}})")->choices.size(), 2u);
  EXPECT_EQ(read(R"({"structured_outputs": {"grammar": "root ::= \"a\""}})")->kind, Kind::kGrammar);
  EXPECT_EQ(read(R"({"guided_json": "{\"type\": \"string\"}"})")->kind, Kind::kJsonSchema);
  EXPECT_EQ(read(R"({"guided_regex": "x"})")->kind, Kind::kRegex);
  EXPECT_EQ(read(R"({"guided_choice": ["x"]})")->kind, Kind::kChoice);
  EXPECT_EQ(read(R"({"guided_grammar": "root ::= \"x\""})")->kind, Kind::kGrammar);
  EXPECT_FALSE(read(R"({"guided_json": null})").has_value());

  auto error = [](const char* body) {
    SamplingParams p;
    auto e = ReadStructuredOutputFields(nlohmann::json::parse(body), &p);
    EXPECT_TRUE(e.has_value()) << body;
    return e ? e->message : std::string();
  };
  EXPECT_NE(error(R"({"guided_choice": []})").find("empty"), std::string::npos);
  EXPECT_NE(error(R"({"guided_regex": "a", "guided_json": {}})").find("only one"), std::string::npos);
  EXPECT_NE(error(R"({"response_format": {"type": "yaml"}})").find("yaml"), std::string::npos);
  EXPECT_NE(error(R"({"response_format": {"type": "json_schema"}})").find("json_schema"), std::string::npos);
  EXPECT_NE(error(R"({"guided_json": "not json"})").find("guided_json"), std::string::npos);
  EXPECT_NE(error(R"({"structured_outputs": {"regex": 5}})").find("regex"), std::string::npos);
}

TEST(StructuredOutputFields, ToolChoiceSetsTheConstraint) {
  const nlohmann::json body = nlohmann::json::parse(R"({
    "messages": [{"role": "user", "content": "hi"}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}}],
    "tool_choice": {"type": "function", "function": {"name": "f"}}})");
  ChatCompletionRequest req;
  ASSERT_FALSE(ParseChatCompletionRequest(body, {}, {}, &req).has_value());
  EXPECT_EQ(req.tool_choice, ToolChoiceMode::kNamed);
  ASSERT_TRUE(req.sampling.structured_output.has_value());
  EXPECT_EQ(nlohmann::json::parse(req.sampling.structured_output->text)["properties"]["x"]["type"], "integer");

  nlohmann::json required = body;
  required["tool_choice"] = "required";
  ChatCompletionRequest r2;
  ASSERT_FALSE(ParseChatCompletionRequest(required, {}, {}, &r2).has_value());
  EXPECT_EQ(nlohmann::json::parse(r2.sampling.structured_output->text)["type"], "array");

  nlohmann::json auto_choice = body;
  auto_choice.erase("tool_choice");
  ChatCompletionRequest r3;
  ASSERT_FALSE(ParseChatCompletionRequest(auto_choice, {}, {}, &r3).has_value());
  EXPECT_EQ(r3.tool_choice, ToolChoiceMode::kAuto);
  EXPECT_FALSE(r3.sampling.structured_output.has_value());

  nlohmann::json unknown = body;
  unknown["tool_choice"]["function"]["name"] = "g";
  ChatCompletionRequest r4;
  auto e = ParseChatCompletionRequest(unknown, {}, {}, &r4);
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message.find("'g'"), std::string::npos);
}

}  // namespace
}  // namespace pagoda
