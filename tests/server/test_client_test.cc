// The tests' HTTP client (test_client.h) and its own checks. It lives in a
// *_test.cc file because the test build compiles exactly those.
#include "server/test_client.h"

#include <poll.h>
#include <strings.h>
#include <sys/socket.h>

#include <chrono>
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

namespace pagoda::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::string ClientResponse::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (::strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  }
  return "";
}

nlohmann::json ClientResponse::Json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

namespace {
ClientResponse Send(int port, http::request<http::string_body> req) {
  ClientResponse out;
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    stream.expires_after(std::chrono::seconds(120));
    req.set(http::field::host, "127.0.0.1");
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1u << 30);
    http::read(stream, buffer, parser);
    auto& res = parser.get();
    out.status = res.result_int();
    for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out.body = std::move(res.body());
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}
}  // namespace

ClientResponse Get(int port, const std::string& target, const Headers& headers) {
  http::request<http::string_body> req{http::verb::get, target, 11};
  for (const auto& [k, v] : headers) req.set(k, v);
  return Send(port, std::move(req));
}

ClientResponse Post(int port, const std::string& target, const std::string& body, const Headers& headers,
                    const std::string& content_type) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  return Send(port, std::move(req));
}

ClientResponse PostJson(int port, const std::string& target, const nlohmann::json& body, const Headers& headers) {
  return Post(port, target, body.dump(), headers);
}

std::vector<std::string> SseData(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) break;
    std::string event = body.substr(pos, end - pos);
    if (event.rfind("data: ", 0) == 0) out.push_back(event.substr(6));
    pos = end + 2;
  }
  return out;
}

struct RawConnection::Impl {
  net::io_context ioc;
  tcp::socket socket{ioc};
  bool connected = false;
  std::string received;
};

RawConnection::RawConnection(int port) : impl_(std::make_unique<Impl>()) {
  beast::error_code ec;
  impl_->socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
  impl_->connected = !ec;
}

RawConnection::~RawConnection() { Close(); }

bool RawConnection::connected() const { return impl_->connected; }

void RawConnection::Send(const std::string& bytes) {
  beast::error_code ec;
  net::write(impl_->socket, net::buffer(bytes), ec);
}

namespace {
// Waits for readability with poll(2) so every read has a deadline.
bool WaitReadable(int fd, double timeout_s) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout_s * 1000)) > 0;
}
}  // namespace

std::string RawConnection::ReadUntil(const std::string& needle, double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (impl_->received.find(needle) == std::string::npos) {
    double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0 || !WaitReadable(impl_->socket.native_handle(), left)) break;
    char buf[4096];
    ssize_t n = ::recv(impl_->socket.native_handle(), buf, sizeof(buf), 0);
    if (n <= 0) break;
    impl_->received.append(buf, static_cast<size_t>(n));
  }
  return impl_->received;
}

std::string RawConnection::ReadToClose(double timeout_s) {
  WaitClosed(timeout_s);
  return impl_->received;
}

bool RawConnection::WaitClosed(double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (true) {
    double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0 || !WaitReadable(impl_->socket.native_handle(), left)) return false;
    char buf[4096];
    ssize_t n = ::recv(impl_->socket.native_handle(), buf, sizeof(buf), 0);
    if (n <= 0) return true;
    impl_->received.append(buf, static_cast<size_t>(n));
  }
}

void RawConnection::Close() {
  if (!impl_ || !impl_->connected) return;
  beast::error_code ec;
  impl_->socket.close(ec);
  impl_->connected = false;
}

}  // namespace pagoda::testing

namespace pagoda::testing {
namespace {

TEST(TestClientTest, SseDataSplitsEvents) {
  auto frames = SseData("data: {\"a\":1}\n\ndata: [DONE]\n\n");
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], "{\"a\":1}");
  EXPECT_EQ(frames[1], "[DONE]");
  EXPECT_TRUE(SseData("data: incomplete").empty());
}

TEST(TestClientTest, ConnectionRefusedIsReported) {
  // Port 1 is privileged and never served by the tests.
  ClientResponse r = Get(1, "/");
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
}

}  // namespace
}  // namespace pagoda::testing
