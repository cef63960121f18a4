// The HTTP layer alone (no engine): routing, keep-alive, limits, timeouts,
// chunked streaming, disconnect detection and many open streams on few
// I/O threads.
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "server/http/http_server.h"
#include "server/test_client.h"

namespace pagoda {
namespace {

using testing::Get;
using testing::Post;
using testing::RawConnection;

HttpResponse PlainError(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = message;
  return r;
}

struct StreamProbe {
  std::atomic<int> closed{0};
  std::atomic<int> started{0};
};

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    auto router = std::make_shared<Router>(PlainError);
    router->Add("GET", "/hello", [](std::shared_ptr<HttpExchange> ex) {
      HttpResponse r;
      r.content_type = "text/plain";
      r.body = "hello " + ex->request().method;
      ex->Respond(std::move(r));
    });
    router->Add("POST", "/echo", [](std::shared_ptr<HttpExchange> ex) {
      HttpResponse r;
      r.content_type = "text/plain";
      r.body = ex->request().body;
      ex->Respond(std::move(r));
    });
    // Streams one chunk every 20 ms from a separate thread, as the engine's
    // output thread would, until the client leaves or 100 chunks went out.
    auto probe = probe_;
    router->Add("GET", "/stream", [probe](std::shared_ptr<HttpExchange> ex) {
      ex->SetOnClose([probe] { probe->closed++; });
      ex->StartStream(200, "text/event-stream", {});
      probe->started++;
      std::thread([ex] {
        for (int i = 0; i < 100; ++i) {
          if (!ex->Write("data: " + std::to_string(i) + "\n\n")) return;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ex->EndStream();
      }).detach();
    });
    router->Add("GET", "/short-stream", [](std::shared_ptr<HttpExchange> ex) {
      ex->StartStream(200, "text/event-stream", {});
      for (int i = 0; i < 3; ++i) ex->Write("data: " + std::to_string(i) + "\n\n");
      ex->Write("data: [DONE]\n\n");
      ex->EndStream();
    });
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<HttpServer>(options, router);
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }

  std::shared_ptr<StreamProbe> probe_ = std::make_shared<StreamProbe>();
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(HttpServerTest, RoutesAndMethods) {
  StartServer();
  auto ok = Get(port_, "/hello?x=1");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "hello GET");
  EXPECT_EQ(Get(port_, "/nowhere").status, 404);
  auto wrong = Post(port_, "/hello", "x");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.Header("Allow"), "GET");
  EXPECT_EQ(Post(port_, "/echo", "abc", {}, "text/plain").body, "abc");
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer();
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());
  c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.ReadUntil("hello GET").find("hello GET"), std::string::npos);
  c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nsecnd");
  EXPECT_NE(c.ReadUntil("secnd").find("secnd"), std::string::npos);
  // Pipelined: two requests in one write, answered in order.
  c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nlast");
  std::string all = c.ReadUntil("last");
  EXPECT_LT(all.rfind("hello GET"), all.rfind("last"));
  // Connection: close is honoured.
  c.Send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(c.WaitClosed(5));
}

TEST_F(HttpServerTest, DeclaredBodyOverLimitIsRefusedBeforeItIsSent) {
  HttpServerOptions options;
  options.max_body_bytes = 1000;
  StartServer(options);
  RawConnection c(port_);
  // Only the header goes out: the 413 must come without the body.
  c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100000000\r\n\r\n");
  std::string response = c.ReadUntil("\r\n\r\n", 5);
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response;
  EXPECT_TRUE(c.WaitClosed(5));
  // Still serving, and a body just under the limit is fine.
  EXPECT_EQ(Post(port_, "/echo", std::string(999, 'a'), {}, "text/plain").status, 200);
}

TEST_F(HttpServerTest, ChunkedBodyOverLimitIsCutOffWhileReading) {
  HttpServerOptions options;
  options.max_body_bytes = 1000;
  StartServer(options);
  RawConnection c(port_);
  c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  std::string chunk(600, 'b');
  char size[16];
  std::snprintf(size, sizeof(size), "%zx\r\n", chunk.size());
  c.Send(size + chunk + "\r\n");
  c.Send(size + chunk + "\r\n");
  std::string response = c.ReadUntil("\r\n\r\n", 5);
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response;
}

TEST_F(HttpServerTest, HeaderOverLimitGets431) {
  HttpServerOptions options;
  options.max_header_bytes = 2048;
  StartServer(options);
  auto r = Get(port_, "/hello", {{"X-Big", std::string(4096, 'h')}});
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(Get(port_, "/hello").status, 200);
}

TEST_F(HttpServerTest, MalformedRequestGets400) {
  StartServer();
  RawConnection c(port_);
  c.Send("THIS IS NOT HTTP\r\n\r\n");
  std::string response = c.ReadUntil("\r\n\r\n", 5);
  EXPECT_EQ(response.rfind("HTTP/1.1 400", 0), 0u) << response;
  EXPECT_EQ(Get(port_, "/hello").status, 200);
}

TEST_F(HttpServerTest, IdleAndSlowClientsAreTimedOut) {
  HttpServerOptions options;
  options.request_timeout_s = 0.3;
  options.keep_alive_timeout_s = 0.3;
  StartServer(options);
  RawConnection slow(port_);
  slow.Send("GET /hello HTTP/1.1\r\nHost: x\r\n");  // header never finished
  EXPECT_TRUE(slow.WaitClosed(5));
  RawConnection idle(port_);
  idle.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(idle.ReadUntil("hello GET").find("hello GET"), std::string::npos);
  EXPECT_TRUE(idle.WaitClosed(5));
}

TEST_F(HttpServerTest, StreamIsChunkedAndEnds) {
  StartServer();
  auto r = Get(port_, "/short-stream");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "text/event-stream");
  EXPECT_EQ(r.Header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(r.body, "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: [DONE]\n\n");
  auto frames = testing::SseData(r.body);
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames.back(), "[DONE]");
}

TEST_F(HttpServerTest, DisconnectMidStreamRunsOnClose) {
  StartServer();
  RawConnection c(port_);
  c.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.ReadUntil("data: 2").find("data: 2"), std::string::npos);
  c.Close();
  for (int i = 0; i < 200 && probe_->closed.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(probe_->closed.load(), 1);
}

TEST_F(HttpServerTest, HundredsOfOpenStreamsOnTwoThreads) {
  HttpServerOptions options;
  options.io_threads = 2;
  StartServer(options);
  constexpr int kStreams = 300;
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < kStreams; ++i) {
    conns.push_back(std::make_unique<RawConnection>(port_));
    conns.back()->Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  for (auto& c : conns) EXPECT_NE(c->ReadUntil("data: 1\n").find("data: 1\n"), std::string::npos);
  EXPECT_EQ(probe_->started.load(), kStreams);
  EXPECT_EQ(Get(port_, "/hello").status, 200);  // and the server still answers others
  for (auto& c : conns) c->Close();
  for (int i = 0; i < 500 && probe_->closed.load() < kStreams; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(probe_->closed.load(), kStreams);
}

TEST_F(HttpServerTest, StopClosesOpenConnections) {
  StartServer();
  RawConnection c(port_);
  c.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  c.ReadUntil("data: 0");
  server_->Stop();
  EXPECT_TRUE(c.WaitClosed(5));
  EXPECT_EQ(probe_->closed.load(), 1);
}

}  // namespace
}  // namespace pagoda
