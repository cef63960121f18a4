// HttpSession: one TCP connection of the HttpServer, and the state it shares
// with the server. Internal to src/server/http/ (the only place that
// includes Beast). Every member runs on the connection's strand; the Post*
// entry points are what exchanges call from other threads.
//
// Life of a request: read the header (size and time limited), refuse a
// declared body over the limit with 413 before reading it, read the body,
// dispatch to the Router, then — while the handler works — watch the socket
// so a client that hangs up is noticed at once (its exchange's on_close
// runs). Responses are serialized here into one ordered write queue; a
// stream's chunks are written as they come, never blocking a thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>  // before Boost: 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/http/http_server.h"

namespace pagoda {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

class HttpSession;

struct ServerShared {
  HttpServerOptions options;
  std::shared_ptr<const Router> router;
  // Sessions hold this struct, and it holds the io_context, so sockets are
  // always destroyed before the context they belong to.
  std::shared_ptr<net::io_context> ioc;

  std::mutex mu;
  bool stopped = false;  // no more posts from exchanges once set
  uint64_t next_session_id = 1;
  std::unordered_map<uint64_t, std::weak_ptr<HttpSession>> sessions;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::shared_ptr<ServerShared> shared, tcp::socket socket, uint64_t id);
  ~HttpSession();

  void Start();
  void Close();  // server stop: posts a close

  // Called by this session's exchanges from any thread.
  void PostRespond(uint64_t exchange_id, HttpResponse response);
  void PostStartStream(uint64_t exchange_id, int status, std::string content_type, HttpHeaders headers);
  bool PostWrite(uint64_t exchange_id, std::string data);
  void PostEndStream(uint64_t exchange_id);
  void PostSetOnClose(uint64_t exchange_id, std::function<void()> on_close);
  bool client_gone(uint64_t exchange_id) const;
  size_t pending_bytes() const { return pending_bytes_.load(std::memory_order_relaxed); }

 private:
  enum class State { kReading, kHandling, kStreaming, kClosing, kClosed };

  // Runs `fn` on the strand unless the server has stopped.
  template <typename Fn>
  void Post(Fn&& fn);

  void ReadHeader();
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void OnBody(beast::error_code ec);
  void Dispatch();
  void WatchForDisconnect();
  void OnReadable(uint64_t exchange_id, beast::error_code ec);

  void DoRespond(uint64_t exchange_id, HttpResponse response);
  void DoStartStream(uint64_t exchange_id, int status, std::string content_type, HttpHeaders headers);
  void DoWrite(uint64_t exchange_id, std::string data);
  void DoEndStream(uint64_t exchange_id);

  // Sends an error that ends the connection (bad request, limits).
  void RespondAndClose(int status, const std::string& message);
  void Enqueue(std::string bytes);
  void FlushWrites();
  void OnWritten(beast::error_code ec);
  void ResponseComplete();
  void ClientGone();
  void LingeringClose();
  void DrainRead();
  void CloseNow();

  std::shared_ptr<ServerShared> shared_;  // first: destroyed last
  beast::tcp_stream stream_;
  uint64_t id_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  State state_ = State::kReading;
  bool first_request_ = true;
  bool keep_alive_ = true;
  bool response_done_ = false;  // the current response is fully queued

  // The exchange being handled; ids of earlier ones are stale.
  uint64_t exchange_id_ = 0;
  std::atomic<uint64_t> completed_exchange_id_{0};  // last response fully written
  std::atomic<bool> closed_{false};  // the connection is closed or closing
  std::function<void()> on_close_;

  std::deque<std::string> queue_;
  std::vector<std::string> in_flight_;
  bool writing_ = false;
  std::atomic<size_t> pending_bytes_{0};
  std::array<char, 4096> drain_{};
};

}  // namespace pagoda
