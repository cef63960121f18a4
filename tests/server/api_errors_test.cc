// Bad requests, authentication, size limits and client disconnects: each
// gets its status code and an OpenAI-style error body, and a good request
// succeeds right after it; a disconnect mid-stream frees the request's KV
// blocks (seen through /metrics). tests/e2e sends what the openai client
// can send; this covers the rest (raw framing, missing headers, edges).
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

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

// A good request right after a bad one: a refused request must leave the
// server serving (no stuck connection, engine state or I/O thread).
void ExpectServes(int port, const testing::Headers& headers = {}) {
  auto r = PostJson(port, "/v1/completions", {{"prompt", "still here"}, {"max_tokens", 1}}, headers);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["choices"].size(), 1u) << r.body;
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
  // The error body, then a good request on this server.
  void Bad(const testing::ClientResponse& r, int status, const std::string& param = "") {
    ExpectError(r, status, param);
    ExpectServes(port());
  }

  static ApiServer* server_;
};
ApiServer* ApiErrorsTest::server_ = nullptr;

TEST_F(ApiErrorsTest, InvalidParameters) {
  Bad(Complete({{"prompt", "x"}, {"n", 0}}), 400, "n");
  Bad(Complete({{"prompt", "x"}, {"top_p", 0}}), 400, "top_p");
  Bad(Complete({{"prompt", "x"}, {"top_p", 1.5}}), 400, "top_p");
  Bad(Complete({{"prompt", "x"}, {"temperature", "hot"}}), 400, "temperature");
  Bad(Complete({{"prompt", "x"}, {"temperature", -1}}), 400, "temperature");
  Bad(Complete({{"prompt", "x"}, {"max_tokens", "many"}}), 400, "max_tokens");
  Bad(Complete({{"prompt", "x"}, {"max_tokens", 0}}), 400, "max_tokens");
  Bad(Complete({{"prompt", "x"}, {"stream", "yes"}}), 400, "stream");
  Bad(Complete({{"prompt", "x"}, {"stop", 5}}), 400, "stop");
  Bad(Complete({{"prompt", "x"}, {"logprobs", 50}}), 400, "logprobs");
  Bad(Complete({{"prompt", 12.5}}), 400, "prompt");
  Bad(Complete({{"max_tokens", 3}}), 400, "prompt");
  Bad(Complete({{"prompt", json::array({1, 2, 100000})}}), 400);  // outside the vocabulary
  Bad(Chat({{"messages", "hi"}}), 400, "messages");
  Bad(Chat({{"messages", json::array()}}), 400, "messages");
  Bad(Chat({{"model", "test-model"}}), 400, "messages");
  Bad(Chat({{"messages", {{{"role", "user"}, {"content", 3}}}}}), 400, "messages");
  Bad(Chat({{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"top_logprobs", 2}}), 400, "top_logprobs");
  Bad(Chat({{"messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}}}}), 400, "messages");
  // The same limits on the chat route, and fields of the wrong type there.
  const json message = {{{"role", "user"}, {"content", "x"}}};
  Bad(Chat({{"messages", message}, {"n", -1}}), 400, "n");
  Bad(Chat({{"messages", message}, {"n", "two"}}), 400, "n");
  Bad(Chat({{"messages", message}, {"top_p", -0.5}}), 400, "top_p");
  Bad(Chat({{"messages", message}, {"top_p", 1.0001}}), 400, "top_p");
  Bad(Chat({{"messages", message}, {"seed", "abc"}}), 400, "seed");
  Bad(Chat({{"messages", message}, {"logprobs", "yes"}}), 400, "logprobs");
  Bad(Chat({{"messages", message}, {"max_completion_tokens", 1.5}}), 400, "max_completion_tokens");
  Bad(Chat({{"messages", message}, {"stream", true}, {"stream_options", "usage"}}), 400, "stream_options");
  // The edges of the accepted ranges are accepted.
  EXPECT_EQ(Complete({{"prompt", "x"}, {"top_p", 1.0}, {"n", 1}, {"max_tokens", 1}}).status, 200);
  EXPECT_EQ(Chat({{"messages", message}, {"top_p", 1e-6}, {"max_tokens", 1}}).status, 200);
}

TEST_F(ApiErrorsTest, ContextLengthLimits) {
  // A prompt longer than --max-model-len.
  std::string long_prompt;
  for (int i = 0; i < 300; ++i) long_prompt += "word ";
  Bad(Complete({{"prompt", long_prompt}}), 400);
  Bad(Chat({{"messages", {{{"role", "user"}, {"content", long_prompt}}}}}), 400);
  // max_tokens beyond the context.
  Bad(Complete({{"prompt", "short"}, {"max_tokens", 1000}}), 400);
  Bad(Chat({{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"max_tokens", 1000}}), 400);
  Bad(Chat({{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"max_completion_tokens", 1000}}), 400);
}

TEST_F(ApiErrorsTest, ContextLengthEdges) {
  // Token-id prompts have exact lengths: a prompt must leave room for one
  // generated token, and the prompt plus max_tokens must fit the context.
  auto ids = [](int64_t n) { return json(std::vector<int>(static_cast<size_t>(n), 5)); };
  const int64_t len = testing::kMaxModelLen;
  Bad(Complete({{"prompt", ids(len)}, {"max_tokens", 1}}), 400);
  Bad(Complete({{"prompt", ids(len + 50)}}), 400);
  auto last = Complete({{"prompt", ids(len - 1)}, {"max_tokens", 1}, {"ignore_eos", true}});
  ASSERT_EQ(last.status, 200) << last.body;
  EXPECT_EQ(last.Json()["usage"]["prompt_tokens"], len - 1);
  EXPECT_EQ(last.Json()["usage"]["completion_tokens"], 1);
  Bad(Complete({{"prompt", ids(100)}, {"max_tokens", len - 100 + 1}}), 400);
  auto full = Complete({{"prompt", ids(100)}, {"max_tokens", len - 100}, {"ignore_eos", true}});
  ASSERT_EQ(full.status, 200) << full.body;
  EXPECT_EQ(full.Json()["usage"]["total_tokens"], len);
  // Completions default to 16 tokens (as OpenAI and vLLM), which must fit too.
  Bad(Complete({{"prompt", ids(len - 16 + 1)}}), 400);
  EXPECT_EQ(Complete({{"prompt", ids(len - 16)}}).status, 200);
  // A chat request without max_tokens may use what is left of the context.
  auto rest = Chat({{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"ignore_eos", true}});
  ASSERT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(rest.Json()["usage"]["total_tokens"], len);
}

TEST_F(ApiErrorsTest, MalformedBodiesAndContentTypes) {
  Bad(Post(port(), "/v1/completions", "{\"prompt\": \"x\",", {}), 400);
  Bad(Post(port(), "/v1/completions", "[1, 2]", {}), 400);
  Bad(Post(port(), "/v1/completions", "{\"prompt\": \"x\"}", {}, "text/plain"), 400);
  Bad(Post(port(), "/v1/chat/completions", "", {}, ""), 400);
  Bad(Post(port(), "/tokenize", "prompt=x", {}, "application/x-www-form-urlencoded"), 400);
  Bad(Post(port(), "/v1/chat/completions", "{\"messages\": [", {}), 400);
  Bad(Post(port(), "/v1/chat/completions", "\"just a string\"", {}), 400);
  Bad(Post(port(), "/v1/completions", "{\"prompt\": \"x\"} trailing", {}), 400);
  Bad(Post(port(), "/v1/completions", "{\"prompt\": \"\xff\xfe\"}", {}), 400);  // not UTF-8
  // A JSON body with no Content-Type at all, or a multipart one.
  Bad(Post(port(), "/v1/completions", "{\"prompt\": \"x\"}", {}, ""), 400);
  Bad(Post(port(), "/v1/chat/completions", "{}", {}, "multipart/form-data; boundary=x"), 400);
  // Parameters on the media type are fine.
  EXPECT_EQ(Post(port(), "/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 1}", {},
                 "application/json; charset=utf-8")
                .status,
            200);
}

TEST_F(ApiErrorsTest, UnknownModelRouteAndMethod) {
  Bad(Complete({{"model", "gpt-9"}, {"prompt", "x"}}), 404, "model");
  Bad(Chat({{"model", "gpt-9"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}}), 404, "model");
  Bad(Get(port(), "/v1/nothing"), 404);
  Bad(Get(port(), "/v1/completions"), 405);
  Bad(PostJson(port(), "/v1/models", json::object()), 405);
  Bad(PostJson(port(), "/detokenize", {{"tokens", {1, 999999}}}), 400, "tokens");
  Bad(PostJson(port(), "/v1/embeddings", {{"input", "x"}}), 404);
  Bad(PostJson(port(), "/v2/completions", {{"prompt", "x"}}), 404);
  Bad(PostJson(port(), "/v1/completions/extra", {{"prompt", "x"}}), 404);
}

TEST_F(ApiErrorsTest, ApiKeyIsRequiredUnderV1) {
  testing::StartApiServer();  // (a second server on the same engine is fine)
  ServeOptions options;
  options.api_key = "sk-secret";
  auto secured = testing::StartApiServer(options);
  const int p = secured->port();
  const json body = {{"prompt", "x"}, {"max_tokens", 1}};
  const testing::Headers auth = {{"Authorization", "Bearer sk-secret"}};
  for (const testing::Headers& bad : std::vector<testing::Headers>{
           {},
           {{"Authorization", "Bearer sk-wrong"}},
           {{"Authorization", "sk-secret"}},
           {{"Authorization", "Bearer "}},
           {{"Authorization", "Bearer sk-secret-but-longer"}},
           {{"Authorization", "Basic c2stc2VjcmV0"}}}) {
    SCOPED_TRACE(bad.empty() ? "no Authorization header" : bad[0].second);
    ExpectError(PostJson(p, "/v1/completions", body, bad), 401);
    ExpectError(PostJson(p, "/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "x"}}}}}, bad),
                401);
    ExpectError(Get(p, "/v1/models", bad), 401);
    ExpectServes(p, auth);
  }
  // The key is checked before the body is parsed: broken JSON without a key is a 401.
  ExpectError(testing::Post(p, "/v1/completions", "{", {}), 401);
  ExpectServes(p, auth);
  EXPECT_EQ(Get(p, "/v1/models", auth).status, 200);
  EXPECT_EQ(Get(p, "/health").status, 200);  // health and metrics stay open
  EXPECT_EQ(Get(p, "/metrics").status, 200);
}

TEST_F(ApiErrorsTest, BodyOverLimitIs413) {
  ServeOptions options;
  options.http.max_body_bytes = 4096;
  auto small = testing::StartApiServer(options);
  const int p = small->port();
  std::string big(10000, 'a');
  ExpectError(PostJson(p, "/v1/completions", {{"prompt", big}}), 413);
  ExpectServes(p);
  ExpectError(PostJson(p, "/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", big}}}}}), 413);
  ExpectServes(p);
  // A declared length over the limit is answered before any of the body is
  // sent: the server never waits for (or buffers) the 10 MB.
  testing::RawConnection declared(p);
  declared.Send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: 10000000\r\n\r\n");
  EXPECT_NE(declared.ReadUntil("\r\n\r\n", 10).find("HTTP/1.1 413"), std::string::npos);
  EXPECT_TRUE(declared.WaitClosed(10));
  ExpectServes(p);
  // A chunked body (no declared length) is cut off once it passes the limit.
  testing::RawConnection chunked(p);
  chunked.Send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n");
  const std::string piece(1000, 'a');
  char size_line[16];
  std::snprintf(size_line, sizeof(size_line), "%zx\r\n", piece.size());
  for (int i = 0; i < 5; ++i) chunked.Send(size_line + piece + "\r\n");  // 5,000 bytes, never terminated
  const std::string response = chunked.ReadUntil("\r\n\r\n", 10);
  EXPECT_NE(response.find("HTTP/1.1 413"), std::string::npos) << response;
  ExpectServes(p);
  // Exactly at the limit is accepted.
  json at_limit = {{"prompt", "ok"}, {"max_tokens", 1}, {"user", ""}};
  at_limit["user"] = std::string(4096 - at_limit.dump().size(), 'u');
  ASSERT_EQ(at_limit.dump().size(), 4096u);
  EXPECT_EQ(PostJson(p, "/v1/completions", at_limit).status, 200);
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
