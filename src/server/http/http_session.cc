#include "server/http/http_session.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>
#include <utility>

namespace pagoda {

namespace http = beast::http;

namespace {

std::chrono::steady_clock::duration Seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

// The exchange handed to handlers: a thin, thread-safe forwarder to its
// session, which checks on its strand that the exchange is still current.
class SessionExchange final : public HttpExchange {
 public:
  SessionExchange(std::shared_ptr<HttpSession> session, uint64_t id, HttpRequest request)
      : session_(std::move(session)), id_(id), request_(std::move(request)) {}

  const HttpRequest& request() const override { return request_; }
  void Respond(HttpResponse response) override {
    if (answered_.exchange(true)) return;
    session_->PostRespond(id_, std::move(response));
  }
  void StartStream(int status, std::string content_type, HttpHeaders headers) override {
    if (answered_.exchange(true)) return;
    session_->PostStartStream(id_, status, std::move(content_type), std::move(headers));
  }
  bool Write(std::string data) override { return session_->PostWrite(id_, std::move(data)); }
  void EndStream() override { session_->PostEndStream(id_); }
  void SetOnClose(std::function<void()> on_close) override {
    session_->PostSetOnClose(id_, std::move(on_close));
  }
  bool client_gone() const override { return session_->client_gone(id_); }
  size_t pending_bytes() const override { return session_->pending_bytes(); }

 private:
  std::shared_ptr<HttpSession> session_;
  uint64_t id_;
  HttpRequest request_;
  std::atomic<bool> answered_{false};
};

std::string SerializeHead(int status, const std::string& content_type, const HttpHeaders& headers,
                          std::optional<size_t> content_length, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + HttpReasonPhrase(status) + "\r\n";
  out += "Server: pagoda\r\n";
  if (!content_type.empty()) out += "Content-Type: " + content_type + "\r\n";
  for (const auto& [name, value] : headers) {
    // Header injection guard: a value from a client (X-Request-Id) must not
    // smuggle a line break into the response.
    if (value.find_first_of("\r\n") != std::string::npos) continue;
    out += name + ": " + value + "\r\n";
  }
  if (content_length) out += "Content-Length: " + std::to_string(*content_length) + "\r\n";
  else out += "Transfer-Encoding: chunked\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

}  // namespace

HttpSession::HttpSession(std::shared_ptr<ServerShared> shared, tcp::socket socket, uint64_t id)
    : shared_(std::move(shared)), stream_(std::move(socket)), id_(id) {}

HttpSession::~HttpSession() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->sessions.erase(id_);
}

template <typename Fn>
void HttpSession::Post(Fn&& fn) {
  // Under the lock, so Stop() never misses a post that would keep this
  // session alive in a queue nobody runs.
  std::lock_guard<std::mutex> lock(shared_->mu);
  if (shared_->stopped) return;
  net::post(stream_.get_executor(), std::forward<Fn>(fn));
}

void HttpSession::Start() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
}

void HttpSession::Close() {
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->CloseNow(); });
}

void HttpSession::ReadHeader() {
  if (state_ == State::kClosed || state_ == State::kClosing) return;
  state_ = State::kReading;
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(shared_->options.max_header_bytes));
  parser_->body_limit(shared_->options.max_body_bytes);
  stream_.expires_after(Seconds(first_request_ ? shared_->options.request_timeout_s
                                               : shared_->options.keep_alive_timeout_s));
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

void HttpSession::OnHeader(beast::error_code ec) {
  if (state_ != State::kReading) return;
  if (ec == http::error::header_limit) return RespondAndClose(431, "request header fields too large");
  if (ec == http::error::body_limit) return RespondAndClose(413, "request body too large");
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
      ec == net::error::operation_aborted || ec == net::error::connection_reset) {
    return CloseNow();
  }
  if (ec) return RespondAndClose(400, "malformed HTTP request: " + ec.message());
  keep_alive_ = parser_->get().keep_alive();
  // Refuse a declared body over the limit before reading any of it.
  if (auto length = parser_->content_length(); length && *length > shared_->options.max_body_bytes) {
    return RespondAndClose(413, "request body too large: " + std::to_string(*length) + " bytes, limit " +
                                    std::to_string(shared_->options.max_body_bytes));
  }
  if (parser_->is_done()) return Dispatch();
  auto expect = parser_->get()[http::field::expect];
  if (beast::iequals(expect, "100-continue")) Enqueue("HTTP/1.1 100 Continue\r\n\r\n"), FlushWrites();
  ReadBody();
}

void HttpSession::ReadBody() {
  stream_.expires_after(Seconds(shared_->options.request_timeout_s));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
}

void HttpSession::OnBody(beast::error_code ec) {
  if (state_ != State::kReading) return;
  if (ec == http::error::body_limit) return RespondAndClose(413, "request body too large");
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
      ec == net::error::operation_aborted || ec == net::error::connection_reset) {
    return CloseNow();
  }
  if (ec) return RespondAndClose(400, "malformed HTTP request body: " + ec.message());
  Dispatch();
}

void HttpSession::Dispatch() {
  auto& msg = parser_->get();
  HttpRequest request;
  request.method = std::string(msg.method_string());
  request.target = std::string(msg.target());
  request.path = request.target.substr(0, request.target.find('?'));
  for (const auto& field : msg) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    request.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  request.body = std::move(msg.body());
  beast::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec) request.remote = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  parser_.reset();

  first_request_ = false;
  ++exchange_id_;
  response_done_ = false;
  on_close_ = nullptr;
  state_ = State::kHandling;
  stream_.expires_never();  // the handler may take as long as generation takes
  auto exchange = std::make_shared<SessionExchange>(shared_from_this(), exchange_id_, std::move(request));
  WatchForDisconnect();
  try {
    shared_->router->Dispatch(exchange);
  } catch (const std::exception& e) {
    exchange->Respond(shared_->router->error_formatter()(500, std::string("internal error: ") + e.what()));
  }
}

void HttpSession::WatchForDisconnect() {
  stream_.socket().async_wait(tcp::socket::wait_read,
                              [self = shared_from_this(), id = exchange_id_](beast::error_code ec) {
                                self->OnReadable(id, ec);
                              });
}

void HttpSession::OnReadable(uint64_t exchange_id, beast::error_code ec) {
  if (exchange_id != exchange_id_ || (state_ != State::kHandling && state_ != State::kStreaming)) return;
  if (ec == net::error::operation_aborted) return;
  if (!ec) {
    // Readiness can be stale (an edge the reactor reports late), so peek:
    // 0 bytes is end-of-file — the client hung up; no data yet means keep
    // watching; bytes waiting are a pipelined next request, left for later
    // (a failed write will reveal a disconnect then).
    char byte;
    const ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return WatchForDisconnect();
  }
  CloseNow();
}

void HttpSession::PostRespond(uint64_t exchange_id, HttpResponse response) {
  Post([self = shared_from_this(), exchange_id, r = std::move(response)]() mutable {
    self->DoRespond(exchange_id, std::move(r));
  });
}

void HttpSession::PostStartStream(uint64_t exchange_id, int status, std::string content_type,
                                  HttpHeaders headers) {
  Post([self = shared_from_this(), exchange_id, status, ct = std::move(content_type),
        h = std::move(headers)]() mutable { self->DoStartStream(exchange_id, status, std::move(ct), std::move(h)); });
}

bool HttpSession::PostWrite(uint64_t exchange_id, std::string data) {
  if (client_gone(exchange_id)) return false;
  Post([self = shared_from_this(), exchange_id, d = std::move(data)]() mutable {
    self->DoWrite(exchange_id, std::move(d));
  });
  return true;
}

void HttpSession::PostEndStream(uint64_t exchange_id) {
  Post([self = shared_from_this(), exchange_id] { self->DoEndStream(exchange_id); });
}

void HttpSession::PostSetOnClose(uint64_t exchange_id, std::function<void()> on_close) {
  Post([self = shared_from_this(), exchange_id, f = std::move(on_close)]() mutable {
    if (exchange_id != self->exchange_id_ || self->completed_exchange_id_.load() >= exchange_id) return;
    if (self->state_ == State::kClosed || self->state_ == State::kClosing) {
      f();
      return;
    }
    self->on_close_ = std::move(f);
  });
}

bool HttpSession::client_gone(uint64_t exchange_id) const {
  return closed_.load() && completed_exchange_id_.load() < exchange_id;
}

void HttpSession::DoRespond(uint64_t exchange_id, HttpResponse response) {
  if (exchange_id != exchange_id_ || state_ != State::kHandling || response_done_) return;
  std::string bytes = SerializeHead(response.status, response.content_type, response.headers,
                                    response.body.size(), keep_alive_);
  bytes += response.body;
  Enqueue(std::move(bytes));
  response_done_ = true;
  FlushWrites();
}

void HttpSession::DoStartStream(uint64_t exchange_id, int status, std::string content_type,
                                HttpHeaders headers) {
  if (exchange_id != exchange_id_ || state_ != State::kHandling || response_done_) return;
  state_ = State::kStreaming;
  headers.emplace_back("Cache-Control", "no-cache");
  Enqueue(SerializeHead(status, content_type, headers, std::nullopt, keep_alive_));
  FlushWrites();
}

void HttpSession::DoWrite(uint64_t exchange_id, std::string data) {
  if (exchange_id != exchange_id_ || state_ != State::kStreaming || response_done_) return;
  if (data.empty()) return;  // an empty chunk would end the stream
  if (pending_bytes_.load() + data.size() > shared_->options.max_stream_buffer_bytes) {
    std::fprintf(stderr, "pagoda serve: dropping a client that stopped reading its stream\n");
    return CloseNow();
  }
  char size_line[24];
  std::snprintf(size_line, sizeof(size_line), "%zx\r\n", data.size());
  data.insert(0, size_line);
  data += "\r\n";
  Enqueue(std::move(data));
  FlushWrites();
}

void HttpSession::DoEndStream(uint64_t exchange_id) {
  if (exchange_id != exchange_id_ || state_ != State::kStreaming || response_done_) return;
  Enqueue("0\r\n\r\n");
  response_done_ = true;
  FlushWrites();
}

void HttpSession::RespondAndClose(int status, const std::string& message) {
  keep_alive_ = false;
  ++exchange_id_;  // no handler exchange owns this response
  state_ = State::kHandling;
  HttpResponse response = shared_->router->error_formatter()(status, message);
  std::string bytes = SerializeHead(response.status, response.content_type, response.headers,
                                    response.body.size(), false);
  bytes += response.body;
  Enqueue(std::move(bytes));
  response_done_ = true;
  FlushWrites();
}

void HttpSession::Enqueue(std::string bytes) {
  pending_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
}

void HttpSession::FlushWrites() {
  if (writing_ || queue_.empty() || state_ == State::kClosed) return;
  writing_ = true;
  in_flight_.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  std::vector<net::const_buffer> buffers;
  buffers.reserve(in_flight_.size());
  for (const std::string& s : in_flight_) buffers.emplace_back(net::buffer(s));
  stream_.expires_after(Seconds(shared_->options.write_timeout_s));
  net::async_write(stream_, buffers,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWritten(ec); });
}

void HttpSession::OnWritten(beast::error_code ec) {
  writing_ = false;
  size_t written = 0;
  for (const std::string& s : in_flight_) written += s.size();
  pending_bytes_ -= std::min(written, pending_bytes_.load());
  in_flight_.clear();
  if (state_ == State::kClosed) return;
  if (ec) return CloseNow();  // reset, broken pipe or a reader stalled past the timeout
  if (!queue_.empty()) return FlushWrites();
  if (state_ == State::kReading) {  // a 100 Continue went out while the body is read
    stream_.expires_after(Seconds(shared_->options.request_timeout_s));
    return;
  }
  if (response_done_) return ResponseComplete();
  stream_.expires_never();  // a stream waiting for its next chunk
}

void HttpSession::ResponseComplete() {
  completed_exchange_id_ = exchange_id_;
  on_close_ = nullptr;
  beast::error_code ec;
  stream_.socket().cancel(ec);  // ends the disconnect watch
  if (keep_alive_) return ReadHeader();
  LingeringClose();
}

void HttpSession::LingeringClose() {
  // Half-close, then read and discard what the client still sends for a
  // moment: closing with unread bytes (a refused body) would reset the
  // connection and could destroy the response before the client reads it.
  state_ = State::kClosing;
  closed_ = true;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.expires_after(Seconds(2.0));
  DrainRead();
}

void HttpSession::DrainRead() {
  stream_.async_read_some(net::buffer(drain_), [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec) return self->CloseNow();
    self->DrainRead();
  });
}

void HttpSession::CloseNow() {
  if (state_ == State::kClosed) return;
  const bool exchange_open = (state_ == State::kHandling || state_ == State::kStreaming) &&
                             completed_exchange_id_.load() < exchange_id_;
  state_ = State::kClosed;
  closed_ = true;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
  queue_.clear();
  std::function<void()> on_close = std::move(on_close_);
  on_close_ = nullptr;
  if (exchange_open && on_close) on_close();
}

}  // namespace pagoda
