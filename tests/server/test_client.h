// A small blocking HTTP/1.1 client for the server tests (Beast underneath,
// kept out of the test files so they compile quickly). Each call opens its
// own connection unless a RawConnection is used. Not shared between threads.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace pagoda::testing {

struct ClientResponse {
  int status = 0;  // 0: no response (connection failed or closed)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // de-chunked
  std::string error;
  std::string Header(const std::string& name) const;
  nlohmann::json Json() const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

ClientResponse Get(int port, const std::string& target, const Headers& headers = {});
ClientResponse Post(int port, const std::string& target, const std::string& body, const Headers& headers = {},
                    const std::string& content_type = "application/json");
ClientResponse PostJson(int port, const std::string& target, const nlohmann::json& body, const Headers& headers = {});

// The "data: ..." payloads of a server-sent-events body, in order.
std::vector<std::string> SseData(const std::string& body);

// A raw TCP connection for framing tests: send bytes, read what comes.
class RawConnection {
 public:
  explicit RawConnection(int port);
  ~RawConnection();
  bool connected() const;
  void Send(const std::string& bytes);
  // Reads until `needle` appears in what was received, the peer closes, or
  // `timeout_s` passes; returns everything received so far.
  std::string ReadUntil(const std::string& needle, double timeout_s = 10.0);
  // Reads until the peer closes the connection (or the timeout).
  std::string ReadToClose(double timeout_s = 10.0);
  // Whether the peer closed the connection within `timeout_s`.
  bool WaitClosed(double timeout_s);
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pagoda::testing
