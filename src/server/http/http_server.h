// HttpServer: an asynchronous HTTP/1.1 server on Boost.Asio/Beast. A few I/O
// threads run every connection (keep-alive, chunked streaming), so hundreds
// of open streams cost sockets and buffers, not threads. Requests go to a
// Router; handlers answer through HttpExchange from any thread.
//
// Protection against clients: header size limit (431), body size limit
// checked against Content-Length before the body is read and again while it
// is read (413), timeouts for idle keep-alive connections, slow headers and
// bodies, and stalled readers of a stream (whose requests are then closed,
// which their handler sees as a disconnect).
//
// Thread-safety: Start/Stop from one owning thread; port() and
// num_connections() from any thread. Stop() (or the destructor) closes every
// connection; exchanges still held by handlers afterwards stay valid and
// simply report the client as gone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "server/http/router.h"

namespace pagoda {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (see port())
  int io_threads = 2;
  size_t max_body_bytes = size_t{16} << 20;
  size_t max_header_bytes = size_t{64} << 10;
  // A new connection's first request header, or a whole body, must arrive
  // within this; a keep-alive connection may idle this long between requests.
  double request_timeout_s = 30.0;
  double keep_alive_timeout_s = 60.0;
  // A queued stream write must make progress within this, and a stream's
  // queued bytes may not exceed max_stream_buffer_bytes; past either the
  // client counts as gone.
  double write_timeout_s = 60.0;
  size_t max_stream_buffer_bytes = size_t{16} << 20;
};

struct ServerShared;  // state shared with connections (http_session.h)

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, std::shared_ptr<const Router> router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads. Errors (address in use, bad
  // host) come back as a Status naming the address.
  Status Start();
  void Stop();

  // The bound port (the real one when options.port was 0).
  int port() const { return bound_port_; }
  const std::string& host() const { return options_.host; }
  size_t num_connections() const;

 private:
  struct Impl;
  HttpServerOptions options_;
  std::shared_ptr<const Router> router_;
  std::shared_ptr<ServerShared> shared_;
  std::unique_ptr<Impl> impl_;
  std::vector<std::thread> threads_;
  int bound_port_ = 0;
  bool running_ = false;
};

}  // namespace pagoda
