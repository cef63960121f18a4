#include "server/http/http_server.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>

#include "server/http/http_session.h"

namespace pagoda {

struct HttpServer::Impl {
  std::shared_ptr<net::io_context> ioc;  // first: outlives the acceptor
  tcp::acceptor acceptor;
  net::steady_timer retry_timer;
  std::shared_ptr<ServerShared> shared;

  explicit Impl(std::shared_ptr<net::io_context> context, std::shared_ptr<ServerShared> s)
      : ioc(std::move(context)), acceptor(net::make_strand(*ioc)), retry_timer(acceptor.get_executor()),
        shared(std::move(s)) {}

  void Accept() {
    acceptor.async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (!acceptor.is_open() || ec == net::error::operation_aborted) return;
      if (ec) {
        // Out of file descriptors and the like: back off instead of spinning.
        std::fprintf(stderr, "pagoda serve: accept failed: %s\n", ec.message().c_str());
        retry_timer.expires_after(std::chrono::milliseconds(100));
        retry_timer.async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec) Accept();
        });
        return;
      }
      beast::error_code opt_ec;
      socket.set_option(tcp::no_delay(true), opt_ec);  // stream chunks go out at once
      std::shared_ptr<HttpSession> session;
      {
        std::lock_guard<std::mutex> lock(shared->mu);
        if (shared->stopped) return;
        uint64_t id = shared->next_session_id++;
        session = std::make_shared<HttpSession>(shared, std::move(socket), id);
        shared->sessions[id] = session;
      }
      session->Start();
      Accept();
    });
  }
};

HttpServer::HttpServer(HttpServerOptions options, std::shared_ptr<const Router> router)
    : options_(std::move(options)), router_(std::move(router)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  if (running_) return FailedPrecondition("HTTP server already started");
  shared_ = std::make_shared<ServerShared>();
  shared_->options = options_;
  shared_->router = router_;
  shared_->ioc = std::make_shared<net::io_context>(options_.io_threads);
  impl_ = std::make_unique<Impl>(shared_->ioc, shared_);
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  beast::error_code ec;
  tcp::resolver resolver(*shared_->ioc);
  auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port),
                                    tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) return InvalidArgument("cannot resolve " + where + ": " + ec.message());
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    impl_.reset();
    return Internal("cannot listen on " + where + ": " + ec.message());
  }
  bound_port_ = impl_->acceptor.local_endpoint().port();
  impl_->Accept();
  running_ = true;
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
    threads_.emplace_back([ioc = shared_->ioc] { ioc->run(); });
  }
  return Status::Ok();
}

size_t HttpServer::num_connections() const {
  if (!shared_) return 0;
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->sessions.size();
}

void HttpServer::Stop() {
  if (!running_) return;
  running_ = false;
  std::vector<std::shared_ptr<HttpSession>> sessions;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stopped = true;
    for (auto& [id, weak] : shared_->sessions) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  net::post(impl_->acceptor.get_executor(), [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->retry_timer.cancel();
  });
  for (auto& s : sessions) s->Close();
  sessions.clear();
  // The I/O threads return once every connection has wound down; a
  // watchdog stops the context if something still lingers.
  std::mutex mu;
  std::condition_variable cv;
  bool joined = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(3), [&] { return joined; })) shared_->ioc->stop();
  });
  for (auto& t : threads_) t.join();
  threads_.clear();
  {
    std::lock_guard<std::mutex> lock(mu);
    joined = true;
  }
  cv.notify_all();
  watchdog.join();
  // Run what is still queued (closes, cancelled handlers) so no handler
  // keeps a session — and through it the context — alive.
  shared_->ioc->restart();
  shared_->ioc->poll();
  impl_.reset();
}

}  // namespace pagoda
