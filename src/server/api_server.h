// ApiServer: the OpenAI-compatible server — routes, authentication and the
// HTTP server — over an EngineClient it does not own (the caller keeps the
// engine alive until the server is stopped). `pagoda serve` and the server
// tests use it; it is the only thing outside src/server/ that knows a
// server exists.
//
// Thread-safety: Create/Start/Stop from the owning thread; requests are
// served on the HTTP server's I/O threads.
#pragma once

#include <memory>

#include "base/status.h"
#include "engine/engine_client.h"
#include "server/http/http_server.h"
#include "server/server_context.h"

namespace pagoda {

class ApiServer {
 public:
  static StatusOr<std::unique_ptr<ApiServer>> Create(EngineClient* engine, ServeOptions options);
  ~ApiServer();

  Status Start();
  void Stop();
  int port() const { return http_->port(); }
  const ServerContext& context() const { return *context_; }

 private:
  ApiServer() = default;
  std::unique_ptr<ServerContext> context_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace pagoda
