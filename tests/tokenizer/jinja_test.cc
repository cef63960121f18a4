// The Jinja2 interpreter feature by feature (jinja_cases.json: small
// templates with python3-jinja2's output, made by jinja_cases.py), error
// reporting with line numbers, the resource guards, and ChatTemplate
// loading from tokenizer_config.json, named template lists and GGUF.

#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <random>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "formats/gguf.h"
#include "testutil/shared_data.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/jinja/template.h"

namespace pagoda {
namespace {

using nlohmann::ordered_json;
using testing::HaveSharedModel;
using testing::SharedModelPath;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// jinja_cases.py renders with datetime(2025, 1, 2, 3, 4, 5) as "now".
std::time_t FixedNow() {
  std::tm tm{};
  tm.tm_year = 125;
  tm.tm_mday = 2;
  tm.tm_hour = 3;
  tm.tm_min = 4;
  tm.tm_sec = 5;
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

StatusOr<std::string> Render(const std::string& source, const ordered_json& ctx = ordered_json::object(),
                             jinja::RenderLimits limits = {}) {
  ASSIGN_OR_RETURN(std::shared_ptr<const jinja::Template> t, jinja::Template::Parse(source, "t"));
  jinja::RenderOptions options;
  options.now = FixedNow();
  options.limits = limits;
  return t->Render(ctx, options);
}

TEST(JinjaTest, CasesMatchJinja2) {
  const ordered_json cases =
      ordered_json::parse(ReadAll(testing::SourceDir() + "/tests/tokenizer/jinja_cases.json"));
  ASSERT_GT(cases.size(), 40u);
  for (const ordered_json& c : cases) {
    const std::string name = c["name"];
    StatusOr<std::string> got = Render(c["template"], c["context"]);
    if (c["ok"].get<bool>()) {
      ASSERT_TRUE(got.ok()) << name << ": " << got.status().ToString();
      EXPECT_EQ(*got, c["text"].get<std::string>()) << name;
    } else {
      EXPECT_FALSE(got.ok()) << name << ": jinja2 raised " << c["error"].get<std::string>()
                             << " but pagoda rendered " << *got;
    }
  }
}

TEST(JinjaTest, ErrorsNameTheLine) {
  StatusOr<std::string> r = Render("line1\n{{ x.y.z }}", {{"x", ordered_json::object()}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("t:2: UndefinedError: 'dict object' has no attribute 'y'"),
            std::string::npos)
      << r.status().message();
  r = Render("a\n\n{{ raise_exception('bad input') }}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "t:3: bad input");
  r = Render("ok\n\n{% for x in %}{% endfor %}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("t:3: TemplateSyntaxError"), std::string::npos) << r.status().message();
  r = Render("{% if true %}\nx\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("endif"), std::string::npos) << r.status().message();
  r = Render("{{ 'unterminated }}");
  EXPECT_FALSE(r.ok());
}

TEST(JinjaTest, RunawayTemplatesFailInsteadOfCrashing) {
  StatusOr<std::string> r = Render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("recursion"), std::string::npos) << r.status().message();

  jinja::RenderLimits small;
  small.max_output_bytes = 1 << 20;
  r = Render("{% for i in range(100000) %}{% for j in range(1000) %}0123456789{% endfor %}{% endfor %}", ordered_json::object(),
             small);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("output exceeds"), std::string::npos) << r.status().message();

  small.max_steps = 100000;
  r = Render("{% for i in range(100000) %}{% for j in range(1000) %}{% set x = j %}{% endfor %}{% endfor %}",
             ordered_json::object(), small);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too many steps"), std::string::npos) << r.status().message();

  const std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  r = Render(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too deep"), std::string::npos) << r.status().message();
  std::string nested;
  for (int i = 0; i < 5000; ++i) nested += "{% if true %}";
  r = Render(nested);
  EXPECT_FALSE(r.ok());

  r = Render("{{ 'x' * 1000000000 }}");
  EXPECT_FALSE(r.ok());
  r = Render("{{ range(1000000)|length }}");
  EXPECT_FALSE(r.ok());  // the sandbox's MAX_RANGE
}

TEST(JinjaTest, TemplateIsReusableAcrossRendersAndThreads) {
  auto t = jinja::Template::Parse("{% for m in messages %}{{ m }};{% endfor %}", "t");
  ASSERT_TRUE(t.ok());
  std::vector<std::thread> threads;
  std::vector<std::string> outs(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 200; ++rep) {
        auto r = (*t)->Render({{"messages", {i, "x"}}});
        outs[i] = r.ok() ? *r : r.status().ToString();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(outs[i], std::to_string(i) + ";x;");
}

// Mutated real templates (bytes deleted, duplicated, replaced by Jinja
// punctuation) must parse or fail cleanly, and render or fail cleanly.
TEST(JinjaTest, MutatedTemplatesNeverCrash) {
  if (!HaveSharedModel("chat_templates")) GTEST_SKIP() << "needs " << SharedModelPath("chat_templates");
  std::vector<std::string> sources;
  for (const auto& e : std::filesystem::directory_iterator(SharedModelPath("chat_templates"))) {
    sources.push_back(ReadAll(e.path().string()));
  }
  std::sort(sources.begin(), sources.end());
  const ordered_json ctx = ordered_json::parse(R"({
      "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                   {"role": "assistant", "content": "a", "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]},
                   {"role": "tool", "content": "r"}],
      "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
      "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})");
  std::mt19937 rng(7);
  const std::string junk = "{}%#-+|()[]'\".,:~=!<>\n ";
  constexpr int kMutants = 2000;
  int parsed = 0, rendered = 0;
  for (int iter = 0; iter < kMutants; ++iter) {
    std::string src = sources[rng() % sources.size()];
    for (int m = 1 + rng() % 4; m > 0 && !src.empty(); --m) {
      const size_t pos = rng() % src.size();
      switch (rng() % 3) {
        case 0: src.erase(pos, 1 + rng() % 8); break;
        case 1: src.insert(pos, src.substr(rng() % src.size(), 1 + rng() % 16)); break;
        default: src[pos] = junk[rng() % junk.size()]; break;
      }
    }
    auto t = jinja::Template::Parse(src, "mutant");
    if (!t.ok()) continue;
    ++parsed;
    jinja::RenderOptions options;
    options.limits.max_steps = 200000;
    if ((*t)->Render(ctx, options).ok()) ++rendered;
  }
  EXPECT_GT(parsed, 0);
  std::cout << parsed << " of " << kMutants << " mutants parsed, " << rendered << " rendered\n";
}

TEST(ChatTemplateLoadTest, TokenizerConfigFolders) {
  if (!HaveSharedModel("tokenizers/qwen3/tokenizer_config.json")) GTEST_SKIP() << "needs tokenizers/qwen3";
  auto qwen = ChatTemplate::FromPath(SharedModelPath("tokenizers/qwen3"));
  ASSERT_TRUE(qwen.ok()) << qwen.status().ToString();
  EXPECT_EQ(qwen->special_tokens().value("eos_token", ""), "<|im_end|>");
  EXPECT_FALSE(qwen->special_tokens().contains("bos_token"));  // null in the config
  ChatTemplateInputs in;
  in.messages = ordered_json::parse(R"([{"role": "user", "content": "Hi"}])");
  in.add_generation_prompt = true;
  in.kwargs["enable_thinking"] = false;
  auto text = qwen->Render(in);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");

  auto llama = ChatTemplate::FromPath(SharedModelPath("tokenizers/llama3/tokenizer_config.json"));
  ASSERT_TRUE(llama.ok()) << llama.status().ToString();
  EXPECT_EQ(llama->special_tokens().value("bos_token", ""), "<|begin_of_text|>");
  in.add_generation_prompt = false;
  text = llama->Render(in);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  // This template always ends with the assistant header.
  EXPECT_EQ(*text,
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplateLoadTest, NamedTemplateListsAndErrors) {
  const std::string dir = testing::MakeTempDir("chat_tmpl_");
  ASSERT_FALSE(dir.empty());
  std::ofstream(dir + "/tokenizer_config.json") << R"({
    "bos_token": {"content": "<s>"}, "eos_token": "</s>",
    "chat_template": [{"name": "default", "template": "{{ bos_token }}D{{ messages|length }}"},
                      {"name": "tool_use", "template": "T{{ tools|length }}{{ eos_token }}"}]})";
  ChatTemplateInputs in;
  auto def = ChatTemplate::FromPath(dir);
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(*def->Render(in), "<s>D0");
  auto tool = ChatTemplate::FromPath(dir, "tool_use");
  ASSERT_TRUE(tool.ok()) << tool.status().ToString();
  in.tools = ordered_json::parse("[1, 2]");
  EXPECT_EQ(*tool->Render(in), "T2</s>");
  EXPECT_FALSE(ChatTemplate::FromPath(dir, "nope").ok());

  std::ofstream(dir + "/bad.jinja") << "hello\n{% for %}";
  auto bad = ChatTemplate::FromPath(dir + "/bad.jinja");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.jinja:2:"), std::string::npos) << bad.status().message();
  std::ofstream(dir + "/chat_template.jinja") << "{{ 'from jinja file' }}";
  auto jf = ChatTemplate::FromPath(dir);
  ASSERT_TRUE(jf.ok());
  EXPECT_EQ(*jf->Render(in), "from jinja file");
  EXPECT_EQ(jf->special_tokens().value("bos_token", ""), "<s>");
}

TEST(ChatTemplateLoadTest, GgufMetadata) {
  const std::string rel = "vocab-tests/ggml-vocab-phi-3.gguf";
  if (!HaveSharedModel(rel)) GTEST_SKIP() << "needs " << SharedModelPath(rel);
  auto t = ChatTemplate::FromPath(SharedModelPath(rel));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->special_tokens().value("bos_token", ""), "<s>");
  ChatTemplateInputs in;
  in.messages = ordered_json::parse(R"([{"role": "user", "content": "Hi"}])");
  in.add_generation_prompt = true;
  auto text = t->Render(in);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("<|user|>\nHi<|end|>\n<|assistant|>\n"), std::string::npos) << *text;
  auto gguf = GgufFile::Open(SharedModelPath("stories260K/stories260K.gguf"));
  if (gguf.ok()) {
    EXPECT_FALSE(ChatTemplate::FromGguf(**gguf).ok());  // it has none
  }
}

}  // namespace
}  // namespace pagoda
