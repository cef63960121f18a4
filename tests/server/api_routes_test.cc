// The OpenAI-compatible routes against a real engine (a tiny random model)
// on a loopback port: shapes of every response, streaming framing, usage,
// logprobs, echo, and agreement between the ways of asking the same thing.
#include <set>
#include <thread>

#include "server/server_fixture.h"

namespace pagoda {
namespace {

using nlohmann::json;
using testing::Get;
using testing::PostJson;
using testing::SseData;

class ApiRoutesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = testing::StartApiServer().release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  int port() const { return server_->port(); }

  json Complete(const json& body) {
    auto r = PostJson(port(), "/v1/completions", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  json Chat(const json& body) {
    auto r = PostJson(port(), "/v1/chat/completions", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  std::vector<json> Stream(const std::string& target, const json& body) {
    auto r = PostJson(port(), target, body);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "text/event-stream");
    std::vector<std::string> frames = SseData(r.body);
    EXPECT_FALSE(frames.empty());
    EXPECT_EQ(frames.back(), "[DONE]");
    std::vector<json> out;
    for (size_t i = 0; i + 1 < frames.size(); ++i) out.push_back(json::parse(frames[i]));
    return out;
  }

  static ApiServer* server_;
};
ApiServer* ApiRoutesTest::server_ = nullptr;

TEST_F(ApiRoutesTest, HealthVersionModels) {
  EXPECT_EQ(Get(port(), "/health").status, 200);
  auto version = Get(port(), "/version");
  EXPECT_EQ(version.status, 200);
  EXPECT_TRUE(version.Json().contains("version"));
  auto models = Get(port(), "/v1/models").Json();
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], "test-model");
  EXPECT_EQ(models["data"][0]["object"], "model");
  EXPECT_EQ(models["data"][0]["max_model_len"], testing::kMaxModelLen);
}

TEST_F(ApiRoutesTest, CompletionShapeAndUsage) {
  json r = Complete({{"model", "test-model"}, {"prompt", "Hello world"}, {"max_tokens", 5},
                     {"temperature", 0}, {"ignore_eos", true}});
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(r["model"], "test-model");
  EXPECT_EQ(r["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  ASSERT_EQ(r["choices"].size(), 1u);
  EXPECT_EQ(r["choices"][0]["index"], 0);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(r["choices"][0]["logprobs"].is_null());
  auto tok = PostJson(port(), "/tokenize", {{"prompt", "Hello world"}}).Json();
  EXPECT_EQ(r["usage"]["prompt_tokens"], tok["count"]);
  EXPECT_EQ(r["usage"]["completion_tokens"], 5);
  EXPECT_EQ(r["usage"]["total_tokens"], tok["count"].get<int>() + 5);
  EXPECT_TRUE(r["usage"]["prompt_tokens_details"].contains("cached_tokens"));
}

TEST_F(ApiRoutesTest, PromptFormsAgree) {
  const json base = {{"max_tokens", 6}, {"temperature", 0}, {"ignore_eos", true}};
  json a = base, b = base, c = base, d = base;
  a["prompt"] = "The cat sat";
  json text = Complete(a)["choices"][0]["text"];
  auto ids = PostJson(port(), "/tokenize", {{"prompt", "The cat sat"}}).Json()["tokens"];
  b["prompt"] = ids;
  EXPECT_EQ(Complete(b)["choices"][0]["text"], text);
  c["prompt"] = json::array({"The cat sat", "A dog"});
  json two = Complete(c);
  ASSERT_EQ(two["choices"].size(), 2u);
  EXPECT_EQ(two["choices"][0]["text"], text);
  d["prompt"] = json::array({ids, ids});
  d["n"] = 2;
  json four = Complete(d);
  ASSERT_EQ(four["choices"].size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(four["choices"][i]["index"], i);
    EXPECT_EQ(four["choices"][i]["text"], text);  // greedy: every choice alike
  }
  EXPECT_EQ(four["usage"]["completion_tokens"], 24);
}

TEST_F(ApiRoutesTest, EchoAndLegacyLogprobs) {
  json r = Complete({{"prompt", "Once upon"}, {"max_tokens", 4}, {"temperature", 0}, {"ignore_eos", true},
                     {"echo", true}, {"logprobs", 2}});
  const json& choice = r["choices"][0];
  EXPECT_EQ(choice["text"].get<std::string>().rfind("Once upon", 0), 0u);
  const json& lp = choice["logprobs"];
  const int prompt_tokens = r["usage"]["prompt_tokens"];
  ASSERT_EQ(lp["tokens"].size(), static_cast<size_t>(prompt_tokens + 4));
  EXPECT_TRUE(lp["token_logprobs"][0].is_null());
  EXPECT_TRUE(lp["top_logprobs"][0].is_null());
  for (size_t i = 1; i < lp["tokens"].size(); ++i) {
    EXPECT_LE(lp["token_logprobs"][i].get<double>(), 0.0);
    EXPECT_GE(lp["top_logprobs"][i].size(), 2u);
    EXPECT_GE(lp["text_offset"][i].get<int>(), lp["text_offset"][i - 1].get<int>());
  }
  json plain = Complete({{"prompt", "Once upon"}, {"max_tokens", 4}, {"temperature", 0}, {"ignore_eos", true},
                         {"logprobs", 0}});
  EXPECT_EQ(plain["choices"][0]["logprobs"]["tokens"].size(), 4u);
}

TEST_F(ApiRoutesTest, StreamedCompletionEqualsWhole) {
  json body = {{"prompt", "In a land"}, {"max_tokens", 8}, {"temperature", 0}, {"ignore_eos", true}};
  const std::string whole = Complete(body)["choices"][0]["text"];
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  std::vector<json> chunks = Stream("/v1/completions", body);
  std::string text;
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i]["object"], "text_completion");
    text += chunks[i]["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, whole);
  EXPECT_EQ(chunks[chunks.size() - 2]["choices"][0]["finish_reason"], "length");
  const json& usage_chunk = chunks.back();
  EXPECT_TRUE(usage_chunk["choices"].empty());
  EXPECT_EQ(usage_chunk["usage"]["completion_tokens"], 8);
}

TEST_F(ApiRoutesTest, ChatMatchesCompletionWithFallbackFormat) {
  const std::string text =
      Complete({{"prompt", "Tell me"}, {"max_tokens", 6}, {"temperature", 0}, {"ignore_eos", true}})["choices"][0]["text"];
  json r = Chat({{"model", "test-model"}, {"messages", {{{"role", "user"}, {"content", "Tell me"}}}},
                 {"max_tokens", 6}, {"temperature", 0}, {"ignore_eos", true}});
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(r["choices"][0]["message"]["content"], text);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r["usage"]["completion_tokens"], 6);
  // Content parts give the same prompt.
  json parts = Chat({{"messages", {{{"role", "user"}, {"content", {{{"type", "text"}, {"text", "Tell me"}}}}}}},
                     {"max_completion_tokens", 6}, {"temperature", 0}, {"ignore_eos", true}});
  EXPECT_EQ(parts["choices"][0]["message"]["content"], text);
}

TEST_F(ApiRoutesTest, StreamedChatWithUsage) {
  json body = {{"messages", {{{"role", "user"}, {"content", "Hi there"}}}}, {"max_tokens", 7},
               {"temperature", 0}, {"ignore_eos", true}};
  const std::string whole = Chat(body)["choices"][0]["message"]["content"];
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  std::vector<json> chunks = Stream("/v1/chat/completions", body);
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks[0]["object"], "chat.completion.chunk");
  EXPECT_EQ(chunks[0]["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    const json& delta = chunks[i]["choices"][0]["delta"];
    if (delta.contains("content")) text += delta["content"].get<std::string>();
  }
  EXPECT_EQ(text, whole);
  EXPECT_EQ(chunks[chunks.size() - 2]["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(chunks.back()["choices"].empty());
  EXPECT_EQ(chunks.back()["usage"]["completion_tokens"], 7);
}

TEST_F(ApiRoutesTest, ChatLogprobs) {
  json r = Chat({{"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"max_tokens", 3}, {"temperature", 0},
                 {"ignore_eos", true}, {"logprobs", true}, {"top_logprobs", 2}});
  const json& content = r["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 3u);
  for (const json& entry : content) {
    EXPECT_TRUE(entry["token"].is_string());
    EXPECT_LE(entry["logprob"].get<double>(), 0.0);
    EXPECT_TRUE(entry["bytes"].is_array());
    EXPECT_EQ(entry["top_logprobs"].size(), 2u);
  }
}

TEST_F(ApiRoutesTest, PrefixCacheHitIsReported) {
  // Longer than two 16-token blocks; the second request reuses them.
  const std::string prompt = "the quick brown fox jumps over the lazy dog and then runs far away home";
  json body = {{"prompt", prompt}, {"max_tokens", 2}, {"temperature", 0}, {"ignore_eos", true}};
  json first = Complete(body);
  json second = Complete(body);
  EXPECT_GE(second["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 16);
  EXPECT_EQ(first["choices"][0]["text"], second["choices"][0]["text"]);
}

TEST_F(ApiRoutesTest, TokenizeAndDetokenize) {
  auto tok = PostJson(port(), "/tokenize", {{"prompt", "hello"}, {"return_token_strs", true}});
  ASSERT_EQ(tok.status, 200) << tok.body;
  json t = tok.Json();
  EXPECT_EQ(t["count"], t["tokens"].size());
  EXPECT_EQ(t["max_model_len"], testing::kMaxModelLen);
  EXPECT_EQ(t["token_strs"].size(), t["tokens"].size());
  json no_special = PostJson(port(), "/tokenize", {{"prompt", "hello"}, {"add_special_tokens", false}}).Json();
  json chat = PostJson(port(), "/tokenize", {{"messages", {{{"role", "user"}, {"content", "hello"}}}}}).Json();
  EXPECT_EQ(chat["tokens"], t["tokens"]);  // the fallback chat format is the bare text plus BOS
  auto detok = PostJson(port(), "/detokenize", {{"tokens", no_special["tokens"]}});
  ASSERT_EQ(detok.status, 200) << detok.body;
  EXPECT_EQ(detok.Json()["prompt"], "hello");
  // Special-token text in a prompt is the special token, as Hugging Face
  // tokenizers (and so vLLM) read it: "</s>" is id 1, not its characters.
  json eos_text = PostJson(port(), "/tokenize", {{"prompt", "</s>hello"}, {"add_special_tokens", false}}).Json();
  ASSERT_EQ(eos_text["tokens"].size(), no_special["tokens"].size() + 1) << eos_text;
  EXPECT_EQ(eos_text["tokens"][0], 1);
  json completion = Complete({{"prompt", "</s>hello"}, {"max_tokens", 1}});
  EXPECT_EQ(completion["usage"]["prompt_tokens"], t["count"].get<int>() + 1);
}

TEST_F(ApiRoutesTest, RequestIdHeaderIsHonoured) {
  auto r = PostJson(port(), "/v1/completions", {{"prompt", "x"}, {"max_tokens", 1}}, {{"X-Request-Id", "abc-123"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("X-Request-Id"), "abc-123");
  EXPECT_EQ(r.Json()["id"], "cmpl-abc-123");
  auto generated = PostJson(port(), "/v1/completions", {{"prompt", "x"}, {"max_tokens", 1}});
  EXPECT_FALSE(generated.Header("X-Request-Id").empty());
}

TEST_F(ApiRoutesTest, MetricsExposeEngineState) {
  Complete({{"prompt", "metrics"}, {"max_tokens", 2}});
  auto r = Get(port(), "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type").rfind("text/plain", 0), 0u);
  const std::string& m = r.body;
  for (const char* name : {"pagoda:num_requests_running", "pagoda:num_requests_waiting",
                           "pagoda:kv_cache_usage_perc", "pagoda:prefix_cache_queries_total",
                           "pagoda:prefix_cache_hits_total", "pagoda:prompt_tokens_total",
                           "pagoda:generation_tokens_total", "pagoda:time_to_first_token_seconds_count",
                           "pagoda:inter_token_latency_seconds_count", "pagoda:e2e_request_latency_seconds_count"}) {
    EXPECT_GE(testing::MetricValue(m, name), 0) << name;
  }
  EXPECT_GT(testing::MetricValue(m, "pagoda:generation_tokens_total"), 0);
  EXPECT_GT(testing::MetricValue(m, "pagoda:e2e_request_latency_seconds_count"), 0);
  EXPECT_NE(m.find("model_name=\"test-model\""), std::string::npos);
  EXPECT_NE(m.find("# TYPE pagoda:time_to_first_token_seconds histogram"), std::string::npos);
}

TEST_F(ApiRoutesTest, ConcurrentStreamsEqualSoloResults) {
  constexpr int kClients = 24;
  auto body_for = [](int i) {
    return json{{"prompt", "story number " + std::to_string(i % 6)}, {"max_tokens", 12}, {"temperature", 0},
                {"ignore_eos", true}};
  };
  std::vector<std::string> solo(6);
  for (int i = 0; i < 6; ++i) solo[i] = Complete(body_for(i))["choices"][0]["text"];
  std::vector<std::string> got(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      json body = body_for(i);
      body["stream"] = true;
      auto r = PostJson(port(), "/v1/completions", body);
      for (const std::string& frame : SseData(r.body)) {
        if (frame == "[DONE]") break;
        got[i] += json::parse(frame)["choices"][0]["text"].get<std::string>();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(got[i], solo[i % 6]) << "client " << i;
}

}  // namespace
}  // namespace pagoda
