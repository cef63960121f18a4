// Bad requests, authentication, size limits and client disconnects: each
// gets its status code and an OpenAI-style error body, and the server keeps
// serving everyone else; a disconnect mid-stream frees the request's KV
// blocks (seen through /metrics).
#include <chrono>
#include <thread>

#include "server/server_fixture.h"

namespace pagoda {
namespace {

using nlohmann::json;
using testing::Get;
using testing::Post;
using testing::PostJson;

void ExpectError(const testing::ClientResponse& r, int status, const std::string& param = "") {
  EXPECT_EQ(r.status, status) << r.body;
  json body = r.Json();
  ASSERT_TRUE(body.is_object()) << r.body;
  ASSERT_TRUE(body.contains("error")) << r.body;
  const json& e = body["error"];
  EXPECT_TRUE(e["message"].is_string());
  EXPECT_FALSE(e["message"].get<std::string>().empty());
  EXPECT_TRUE(e["type"].is_string());
  EXPECT_TRUE(e.contains("param"));
  EXPECT_TRUE(e.contains("code"));
  if (!param.empty()) {
    EXPECT_EQ(e["param"], param) << r.body;
  }
}

class ApiErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = testing::StartApiServer().release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  int port() const { return server_->port(); }
  testing::ClientResponse Complete(const json& body) { return PostJson(port(), "/v1/completions", body); }
  testing::ClientResponse Chat(const json& body) { return PostJson(port(), "/v1/chat/completions", body); }

  static ApiServer* server_;
};
ApiServer* ApiErrorsTest::server_ = nullptr;

TEST_F(ApiErrorsTest, InvalidParameters) {
  ExpectError(Complete({{"prompt", "x"}, {"n", 0}}), 400, "n");
  ExpectError(Complete({{"prompt", "x"}, {"top_p", 0}}), 400, "top_p");
  ExpectError(Complete({{"prompt", "x"}, {"top_p", 1.5}}), 400, "top_p");
  ExpectError(Complete({{"prompt", "x"}, {"temperature", "hot"}}), 400, "temperature");
  ExpectError(Complete({{"prompt", "x"}, {"temperature", -1}}), 400, "temperature");
  ExpectError(Complete({{"prompt", "x"}, {"max_tokens", "many"}}), 400, "max_tokens");
  ExpectError(Complete({{"prompt", "x"}, {"max_tokens", 0}}), 400, "max_tokens");
  ExpectError(Complete({{"prompt", "x"}, {"stream", "yes"}}), 400, "stream");
  ExpectError(Complete({{"prompt", "x"}, {"stop", 5}}), 400, "stop");
  ExpectError(Complete({{"prompt", "x"}, {"logprobs", 50}}), 400, "logprobs");
  ExpectError(Complete({{"prompt", 12.5}}), 400, "prompt");
  ExpectError(Complete({{"max_tokens", 3}}), 400, "prompt");
  ExpectError(Complete({{"prompt", json::array({1, 2, 100000})}}), 400);  // outside the vocabulary
  ExpectError(Chat({{"messages", "hi"}}), 400, "messages");
  ExpectError(Chat({{"messages", json::array()}}), 400, "messages");
  ExpectError(Chat({{"model", "test-model"}}), 400, "messages");
  ExpectError(Chat({{"messages", {{{"role", "user"}, {"content", 3}}}}}), 400, "messages");
  ExpectError(Chat({{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"top_logprobs", 2}}), 400,
              "top_logprobs");
  ExpectError(Chat({{"messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}}}}), 400, "messages");
}

TEST_F(ApiErrorsTest, ContextLengthLimits) {
  // A prompt longer than --max-model-len.
  std::string long_prompt;
  for (int i = 0; i < 300; ++i) long_prompt += "word ";
  ExpectError(Complete({{"prompt", long_prompt}}), 400);
  ExpectError(Chat({{"messages", {{{"role", "user"}, {"content", long_prompt}}}}}), 400);
  // max_tokens beyond the context.
  ExpectError(Complete({{"prompt", "short"}, {"max_tokens", 1000}}), 400);
  ExpectError(Chat({{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"max_tokens", 1000}}), 400);
}

TEST_F(ApiErrorsTest, MalformedBodiesAndContentTypes) {
  ExpectError(Post(port(), "/v1/completions", "{\"prompt\": \"x\",", {}), 400);
  ExpectError(Post(port(), "/v1/completions", "[1, 2]", {}), 400);
  ExpectError(Post(port(), "/v1/completions", "{\"prompt\": \"x\"}", {}, "text/plain"), 400);
  ExpectError(Post(port(), "/v1/chat/completions", "", {}, ""), 400);
  ExpectError(Post(port(), "/tokenize", "prompt=x", {}, "application/x-www-form-urlencoded"), 400);
}

TEST_F(ApiErrorsTest, UnknownModelRouteAndMethod) {
  ExpectError(Complete({{"model", "gpt-9"}, {"prompt", "x"}}), 404, "model");
  ExpectError(Chat({{"model", "gpt-9"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}}), 404, "model");
  ExpectError(Get(port(), "/v1/nothing"), 404);
  ExpectError(Get(port(), "/v1/completions"), 405);
  ExpectError(PostJson(port(), "/v1/models", json::object()), 405);
  ExpectError(PostJson(port(), "/detokenize", {{"tokens", {1, 999999}}}), 400, "tokens");
  // And everyone else is still served.
  EXPECT_EQ(Complete({{"prompt", "still here"}, {"max_tokens", 2}}).status, 200);
}

TEST_F(ApiErrorsTest, ApiKeyIsRequiredUnderV1) {
  testing::StartApiServer();  // (a second server on the same engine is fine)
  ServeOptions options;
  options.api_key = "sk-secret";
  auto secured = testing::StartApiServer(options);
  const int p = secured->port();
  const json body = {{"prompt", "x"}, {"max_tokens", 1}};
  ExpectError(PostJson(p, "/v1/completions", body), 401);
  ExpectError(PostJson(p, "/v1/completions", body, {{"Authorization", "Bearer sk-wrong"}}), 401);
  ExpectError(PostJson(p, "/v1/completions", body, {{"Authorization", "sk-secret"}}), 401);
  ExpectError(Get(p, "/v1/models"), 401);
  EXPECT_EQ(PostJson(p, "/v1/completions", body, {{"Authorization", "Bearer sk-secret"}}).status, 200);
  EXPECT_EQ(Get(p, "/v1/models", {{"Authorization", "Bearer sk-secret"}}).status, 200);
  EXPECT_EQ(Get(p, "/health").status, 200);  // health and metrics stay open
  EXPECT_EQ(Get(p, "/metrics").status, 200);
}

TEST_F(ApiErrorsTest, BodyOverLimitIs413) {
  ServeOptions options;
  options.http.max_body_bytes = 4096;
  auto small = testing::StartApiServer(options);
  std::string big(10000, 'a');
  ExpectError(PostJson(small->port(), "/v1/completions", {{"prompt", big}}), 413);
  EXPECT_EQ(PostJson(small->port(), "/v1/completions", {{"prompt", "ok"}, {"max_tokens", 1}}).status, 200);
}

std::string Metrics(int port) { return Get(port, "/metrics").body; }

TEST(ApiDisconnectTest, DisconnectMidStreamAbortsAndFreesBlocks) {
  // A model slow enough that 1,500 tokens take far longer than the test.
  std::unique_ptr<EngineClient> engine = testing::MakeEngine(/*slow=*/true);
  std::unique_ptr<ApiServer> server = testing::StartApiServer({}, engine.get());
  const int port = server->port();
  std::vector<std::unique_ptr<testing::RawConnection>> clients;
  for (int i = 0; i < 4; ++i) {
    json body = {{"prompt", "a long story " + std::to_string(i)}, {"max_tokens", 1500}, {"ignore_eos", true},
                 {"stream", true}};
    if (i % 2) body["messages"] = json::array({{{"role", "user"}, {"content", "chat story"}}});
    const std::string target = i % 2 ? "/v1/chat/completions" : "/v1/completions";
    std::string payload = body.dump();
    auto c = std::make_unique<testing::RawConnection>(port);
    c->Send("POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(payload.size()) + "\r\n\r\n" + payload);
    const std::string first_delta = i % 2 ? "\"content\":\"" : "\"text\":\"";
    EXPECT_NE(c->ReadUntil(first_delta, 30).find(first_delta), std::string::npos);
    clients.push_back(std::move(c));
  }
  std::string during = Metrics(port);
  EXPECT_GT(testing::MetricValue(during, "pagoda:kv_cache_usage_perc"), 0.0);
  EXPECT_EQ(testing::MetricValue(during, "pagoda:num_requests_running"), 4);
  for (auto& c : clients) c->Close();
  double running = -1, usage = -1;
  for (int i = 0; i < 1000; ++i) {
    std::string m = Metrics(port);
    running = testing::MetricValue(m, "pagoda:num_requests_running");
    usage = testing::MetricValue(m, "pagoda:kv_cache_usage_perc");
    if (running == 0 && usage == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(running, 0);
  EXPECT_EQ(usage, 0);
  EXPECT_EQ(testing::MetricValue(Metrics(port), "pagoda:request_success_total", "finished_reason=\"abort\""), 4);
  EXPECT_EQ(PostJson(port, "/v1/completions", {{"prompt", "after"}, {"max_tokens", 2}}).status, 200);
  server->Stop();
}

}  // namespace
}  // namespace pagoda
