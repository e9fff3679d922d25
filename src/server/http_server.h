#pragma once
// HttpServer: the daemon's HTTP/1.1 listener (Boost.Beast on Asio) serving one RequestHandler.
//
// Shape (the Beast "advanced server"): one io_context run by `io_threads` threads; a listener
// accepting on address:port; one HttpSession per connection (on its own strand when several
// threads run the io_context), kept alive by
// the asynchronous operations and the pending `Respond` that hold it. A session reads one
// request, hands it to the handler and reads the next only after the response is written
// (no pipelining of handler calls on one connection).
//
// Limits and timeouts, each answered the same way every time:
//   - a body over `max_body_bytes`             -> 413 {"error":"body too large","limit":N}, close
//   - a header block over `max_header_bytes`   -> 431 {"error":"headers too large"}, close
//   - malformed HTTP, a bad target or escape   -> 400 {"error":"bad request"}, close
//   - a request not complete `header_timeout_ms` after its first byte (or a new connection
//     silent that long)                        -> closed without an answer
//   - a kept-alive connection silent for `idle_timeout_ms` between requests -> closed
//   - more than `max_connections` connections  -> 503 {"error":"too many connections"}, close
//   - a handler that throws                    -> 500 {"error":"internal error"}
//   - a handler that drops `respond` uncalled  -> 500 {"error":"handler did not respond"}
// Every response carries Content-Type, Content-Length, X-Request-Id and `Server: reach`.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "server/http_types.h"

namespace reach::server {

class ServerState;
class HttpListener;

struct HttpServerOptions {
  std::string address = "127.0.0.1";  // numeric address or a host name resolved at Start()
  uint16_t port = 0;                   // 0: an ephemeral port, see HttpServer::port()
  int io_threads = 1;                  // threads running the io_context (>= 1)
  uint64_t max_body_bytes = 1 << 20;
  uint32_t max_header_bytes = 16 * 1024;
  int64_t header_timeout_ms = 10'000;  // whole request, from its first byte
  int64_t idle_timeout_ms = 60'000;    // between requests on a kept-alive connection
  int64_t write_timeout_ms = 30'000;   // a response not taken by the client in time is dropped
  size_t max_connections = 1024;
  // Called once per answered request (handler answers and the server's own 4xx/5xx alike)
  // after the response is written (or failed to be), with the time since the request's first
  // byte. The request holds its method, target, path and request id (not its headers, query or
  // body). For errors found before the request was parsed, method/path are empty. Runs on an
  // io thread: keep it cheap (a metrics increment). Optional.
  std::function<void(const HttpRequest&, int status, double seconds)> on_response;
  // Diagnostics (accept failures, handler exceptions, misuse of `respond`). Optional; runs on
  // any thread.
  std::function<void(std::string)> log;
};

class HttpServer {
 public:
  // `handler` must outlive the server. Nothing happens until Start().
  HttpServer(HttpServerOptions options, RequestHandler& handler);
  // Shutdown(0) when still running.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens on options.address:port, then starts the io threads. Fails with
  // kInvalidArgument for a bad address or option, kIoError when the address cannot be bound.
  // Call once.
  Status Start();

  // The bound port (the ephemeral one when options.port was 0); 0 before Start().
  uint16_t port() const { return port_; }

  // Closes the listening socket: new connections are refused, requests already accepted
  // continue. Thread-safe, idempotent, may be called from a handler.
  void StopAccepting();

  // Graceful stop: stops accepting, closes idle kept-alive connections, waits up to `drain` for
  // requests in flight to be answered (their responses carry `Connection: close`), then closes
  // every connection, stops the io_context and joins its threads. Responses arriving later are
  // dropped. Thread-safe and idempotent, but must not be called from an io thread (it joins
  // them): from a handler, hand it to another thread.
  void Shutdown(std::chrono::milliseconds drain);

  // Runs `fn` on an io thread, later (never before returning). What is still queued when
  // Shutdown stops the io threads runs on the thread calling Shutdown (its last poll); what is
  // posted after that is dropped without being called. Thread-safe.
  void Post(std::function<void()> fn);

  // Open connections (for /metrics and tests). Thread-safe.
  size_t active_connections() const;
  // Requests read (or being read) but not yet answered. Thread-safe.
  size_t in_flight_requests() const;

 private:
  void RunIoThread() noexcept;
  void ShutdownLocked(std::chrono::milliseconds drain);

  std::shared_ptr<ServerState> state_;  // shared with every session (see server_state.h)
  std::shared_ptr<HttpListener> listener_;
  std::mutex lifecycle_mutex_;  // serialises Start() and Shutdown()
  std::vector<std::thread> threads_;
  std::atomic<uint16_t> port_{0};
  bool started_ = false;  // guarded by lifecycle_mutex_
  bool stopped_ = false;  // guarded by lifecycle_mutex_
};

}  // namespace reach::server
