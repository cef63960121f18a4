#include "server/http/router.h"

#include <utility>

namespace pagoda {

Router::Router(HttpErrorFormatter error_formatter) : error_formatter_(std::move(error_formatter)) {}

void Router::Add(const std::string& method, const std::string& path, HttpHandler handler) {
  routes_[path][method] = std::move(handler);
}

void Router::Dispatch(const std::shared_ptr<HttpExchange>& exchange) const {
  const HttpRequest& req = exchange->request();
  auto by_path = routes_.find(req.path);
  if (by_path == routes_.end()) {
    exchange->Respond(error_formatter_(404, "Not Found: " + req.path));
    return;
  }
  auto handler = by_path->second.find(req.method);
  if (handler == by_path->second.end()) {
    HttpResponse response = error_formatter_(405, "Method Not Allowed: " + req.method + " " + req.path);
    std::string allow;
    for (const auto& [method, unused] : by_path->second) {
      if (!allow.empty()) allow += ", ";
      allow += method;
    }
    response.headers.emplace_back("Allow", allow);
    exchange->Respond(std::move(response));
    return;
  }
  handler->second(exchange);
}

}  // namespace pagoda
