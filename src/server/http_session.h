#pragma once
// HttpSession: one TCP connection. Internal to HttpServer.
//
// Lifetime: shared_ptr, kept alive by whatever holds it — a pending read/write/timer handler,
// a posted response, or a `Respond` the handler has not called yet. It ends when none is left.
// All member functions except the thread-safe ones below run on the connection's executor: a
// strand of its own with several io threads, the io_context's with one (either way, one
// handler at a time).
//
// The request cycle, one state at a time (no handler call overlaps another on a connection):
//   kIdle     waiting for a request's first byte: idle_timeout (header_timeout for the first
//             request on a new connection)
//   kReading  header, then (after "100 Continue" if asked) body, all by one deadline
//             header_timeout after the first byte; limits checked by the Beast parser
//   kHandling the handler has the request; no timer (the handler owns the pace); the next
//             request is not read
//   kWriting  the response, within write_timeout; then kIdle again, or a close
//   kClosing  after a response with Connection: close: shut down our side, then read and
//             discard until the peer closes (bounded), so the peer gets our answer instead of a
//             reset caused by unread bytes
//   kClosed

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>

#include "server/http_codec.h"
#include "server/http_types.h"

namespace reach::server {

class ServerState;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  enum class Mode { kServe, kReject };

  // `socket` must have been accepted on the executor the listener chose (a strand of the
  // server's io_context when several threads run it). The session counts
  // itself in state->connections() unless it only rejects.
  HttpSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<ServerState> state, Mode mode);
  ~HttpSession();

  // Starts the request cycle (or the 503). Call once, right after construction.
  void Start();

  // ---- Thread-safe -------------------------------------------------------------------------
  // Queues `response` for writing on the connection's executor; dropped when the server is closed.
  void PostResponse(HttpResponse response);
  // Closes the connection if it is between requests (Shutdown's drain).
  void PostCloseIfIdle();
  // Closes the connection whatever it is doing (end of Shutdown).
  void PostClose();

 private:
  enum class Phase { kIdle, kReading, kHandling, kWriting, kClosing, kClosed };
  struct ResponseSlot;  // what a Respond holds: see http_session.cc
  using Clock = std::chrono::steady_clock;

  void DoWaitForRequest();
  void OnFirstBytes(const boost::system::error_code& ec, std::size_t bytes);
  void StartRequest();
  void DoReadHeader();
  void OnReadHeader(const boost::system::error_code& ec, std::size_t bytes);
  void DoReadBody();
  void OnReadBody(const boost::system::error_code& ec, std::size_t bytes);
  void Dispatch();
  void WriteHandlerResponse(HttpResponse response);
  // An answer the server makes itself (400, 413, 431, 500, 503); always closes afterwards.
  // `head_request`: only when the request line was read (its method is known to be HEAD).
  void WriteErrorResponse(int status, std::string body, bool head_request = false);
  void DoWrite(int status);
  void OnWrite(int status, const boost::system::error_code& ec, std::size_t bytes);
  void DoLingeringClose();
  void OnLingerRead(const boost::system::error_code& ec, std::size_t bytes);
  void CloseNow();
  void FinishRequest();  // the in-flight count and the request's state, once per request
  void AnswerReadError(const boost::system::error_code& ec);

  // Declared first so that it is destroyed last: the socket below needs the io_context the
  // state owns.
  std::shared_ptr<ServerState> state_;
  const Mode mode_;
  boost::beast::tcp_stream stream_;
  const boost::asio::any_io_executor executor_;  // the connection's executor (from the accept)
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::string remote_;

  Phase phase_ = Phase::kIdle;
  bool first_request_ = true;
  bool request_open_ = false;        // counted in state_->in_flight()
  bool close_after_write_ = false;
  bool head_request_ = false;
  bool keep_alive_ = false;          // what the client asked for
  unsigned version_ = 11;            // the request's HTTP version, echoed in the response
  Clock::time_point request_started_{};
  HttpRequest request_;              // the current request's method, target, path, request id
  // The response being written, as bytes (FormatResponse); kept between the requests of a
  // connection so that its capacity is reused, unless one grew it past kKeptResponseBytes.
  std::string response_;
  std::string continue_line_;        // "HTTP/1.1 100 Continue\r\n\r\n" while it is written
  std::size_t lingered_bytes_ = 0;
};

}  // namespace reach::server
