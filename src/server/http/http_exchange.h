// HttpExchange: one request and its response on a connection, handed to a
// route handler. The handler may answer at once or later, from any thread
// (the engine's output thread, typically): every method is thread-safe and
// none blocks — writes queue up and the connection's I/O thread drains them.
//
// A response is either whole (Respond) or streamed (StartStream, Write...,
// EndStream: HTTP/1.1 chunked transfer, used for server-sent events).
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "server/http/http_types.h"

namespace pagoda {

class HttpExchange {
 public:
  virtual ~HttpExchange() = default;

  virtual const HttpRequest& request() const = 0;

  // Sends a complete response. Only the first Respond/StartStream counts.
  virtual void Respond(HttpResponse response) = 0;

  // Starts a chunked response; then Write() any number of times and
  // EndStream() once.
  virtual void StartStream(int status, std::string content_type, HttpHeaders headers) = 0;
  // Queues `data` as one chunk. Returns false once the client is gone (the
  // data is dropped), so producers can stop early.
  virtual bool Write(std::string data) = 0;
  virtual void EndStream() = 0;

  // `on_close` runs once, on an I/O thread, if the client disconnects — or
  // is dropped for not reading its stream — before the response completes.
  // It never runs after a response completed normally. If the client is
  // already gone it runs at once (posted). Set it before starting work that
  // it must cancel.
  virtual void SetOnClose(std::function<void()> on_close) = 0;

  virtual bool client_gone() const = 0;
  // Bytes queued for this connection and not yet written: the producer's
  // view of backpressure.
  virtual size_t pending_bytes() const = 0;
};

}  // namespace pagoda
