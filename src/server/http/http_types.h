// HttpRequest / HttpResponse: the plain values that cross between the HTTP
// transport (http_session.cc, the only place that knows Beast) and the
// route handlers. Plain values: thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pagoda {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // target without the query string
  HttpHeaders headers; // names lower-cased
  std::string body;
  std::string remote;  // peer address, for logs

  // The value of header `name` (case-insensitive), or "" when absent.
  std::string_view Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  HttpHeaders headers;
  std::string body;
};

// "OK", "Not Found", ... for the status codes pagoda sends.
const char* HttpReasonPhrase(int status);

}  // namespace pagoda
