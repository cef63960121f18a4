// Router: maps (method, path) to a handler. Unknown paths get 404 and known
// paths with another method 405 (with an Allow header), with bodies from the
// error formatter the owner supplies — the router itself knows no API
// format. Built once before the server starts, then read-only: Dispatch is
// safe from any number of I/O threads.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "server/http/http_exchange.h"

namespace pagoda {

using HttpHandler = std::function<void(std::shared_ptr<HttpExchange>)>;
// Builds the response for a routing error (404, 405) with a message.
using HttpErrorFormatter = std::function<HttpResponse(int status, const std::string& message)>;

class Router {
 public:
  explicit Router(HttpErrorFormatter error_formatter);

  // Registers `handler` for exact `path` and `method` ("GET", "POST").
  void Add(const std::string& method, const std::string& path, HttpHandler handler);
  void Dispatch(const std::shared_ptr<HttpExchange>& exchange) const;

  const HttpErrorFormatter& error_formatter() const { return error_formatter_; }

 private:
  HttpErrorFormatter error_formatter_;
  std::map<std::string, std::map<std::string, HttpHandler>> routes_;  // path -> method -> handler
};

}  // namespace pagoda
