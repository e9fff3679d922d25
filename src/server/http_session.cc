#include "server/http_session.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include "common/log_format.h"
#include "server/server_state.h"

namespace reach::server {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kReadChunk = 4096;
// Lingering close: how long and how much we keep discarding the peer's bytes after our final
// answer, so that the kernel does not reset the connection before the peer has read it.
constexpr std::chrono::milliseconds kMaxLinger{2000};
constexpr std::size_t kMaxLingerBytes = 8 << 20;
// A response buffer larger than this (a long list of executions) is freed once written.
constexpr std::size_t kKeptResponseBytes = 64 << 10;

std::string FormatRemote(const tcp::socket& socket) {
  boost::system::error_code ec;
  tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  const auto address = peer.address();
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(peer.port());
}

bool IsHttpProtocolError(const boost::system::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category();
}

}  // namespace

// What every copy of a Respond shares. Exactly one answer reaches the session: the first
// call; later calls are logged and ignored; when the last copy is dropped without a call, the
// client gets a 500 instead of a hang.
struct HttpSession::ResponseSlot {
  ResponseSlot(std::shared_ptr<HttpSession> s, std::string id)
      : session(std::move(s)), request_id(std::move(id)) {}
  ~ResponseSlot() {
    if (answered.exchange(true)) return;
    session->state_->Log("http: handler dropped respond without calling it (request " + request_id +
                         ")");
    HttpResponse response;
    response.status = 500;
    response.body = ErrorBody("handler did not respond");
    session->PostResponse(std::move(response));
  }
  void Answer(HttpResponse response) {
    if (answered.exchange(true)) {
      session->state_->Log("http: respond called twice; the second answer is ignored");
      return;
    }
    session->PostResponse(std::move(response));
  }

  std::shared_ptr<HttpSession> session;
  const std::string request_id;  // a copy: the session's own fields belong to its executor
  std::atomic<bool> answered{false};
};

HttpSession::HttpSession(tcp::socket&& socket, std::shared_ptr<ServerState> state, Mode mode)
    : state_(std::move(state)),
      mode_(mode),
      stream_(std::move(socket)),
      executor_(stream_.get_executor()),
      remote_(FormatRemote(stream_.socket())) {
  if (mode_ == Mode::kServe) state_->connections().fetch_add(1);
}

HttpSession::~HttpSession() {
  FinishRequest();
  if (mode_ == Mode::kServe) state_->connections().fetch_sub(1);
  state_->Unregister(this);
}

void HttpSession::Start() {
  net::dispatch(executor_, [self = shared_from_this()] {
    if (self->phase_ == Phase::kClosed) return;  // Shutdown got here first
    if (self->mode_ == Mode::kReject) {
      self->request_started_ = Clock::now();
      self->request_.request_id = NewRequestId();
      self->WriteErrorResponse(503, ErrorBody("too many connections"));
      return;
    }
    self->DoWaitForRequest();
  });
}

// ---- Thread-safe entry points --------------------------------------------------------------

void HttpSession::PostResponse(HttpResponse response) {
  state_->PostUnlessClosed([&] {
    net::post(executor_, [self = shared_from_this(), response = std::move(response)]() mutable {
      self->WriteHandlerResponse(std::move(response));
    });
  });
}

void HttpSession::PostCloseIfIdle() {
  net::post(executor_, [self = shared_from_this()] {
    if (self->phase_ == Phase::kIdle) self->CloseNow();
  });
}

void HttpSession::PostClose() {
  net::post(executor_, [self = shared_from_this()] { self->CloseNow(); });
}

// ---- Reading -------------------------------------------------------------------------------

void HttpSession::DoWaitForRequest() {
  phase_ = Phase::kIdle;
  if (state_->draining()) {
    DoLingeringClose();
    return;
  }
  if (buffer_.size() > 0) {  // the client already sent (part of) the next request
    StartRequest();
    return;
  }
  // A new connection gets header_timeout to say something; a kept-alive one idle_timeout.
  const int64_t ms = first_request_ ? state_->options().header_timeout_ms
                                    : state_->options().idle_timeout_ms;
  stream_.expires_after(std::chrono::milliseconds(ms));
  stream_.async_read_some(buffer_.prepare(kReadChunk),
                          beast::bind_front_handler(&HttpSession::OnFirstBytes, shared_from_this()));
}

void HttpSession::OnFirstBytes(const boost::system::error_code& ec, std::size_t bytes) {
  if (phase_ == Phase::kClosed) return;
  if (ec) {  // timeout (the stream already closed the socket), EOF, reset, or PostClose
    CloseNow();
    return;
  }
  buffer_.commit(bytes);
  StartRequest();
}

void HttpSession::StartRequest() {
  phase_ = Phase::kReading;
  // Nothing of the last request reaches this one's on_response (a request refused before it
  // was parsed has no method or path).
  request_.method.clear();
  request_.target.clear();
  request_.path.clear();
  request_.request_id.clear();
  request_.error_body.clear();
  request_open_ = true;
  state_->BeginRequest();
  request_started_ = Clock::now();
  // One deadline for the whole request (header, 100-continue, body): a client trickling bytes
  // cannot extend it.
  stream_.expires_after(std::chrono::milliseconds(state_->options().header_timeout_ms));
  DoReadHeader();
}

void HttpSession::DoReadHeader() {
  parser_.emplace();
  parser_->body_limit(state_->options().max_body_bytes);
  parser_->header_limit(state_->options().max_header_bytes);
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&HttpSession::OnReadHeader, shared_from_this()));
}

void HttpSession::OnReadHeader(const boost::system::error_code& ec, std::size_t) {
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    AnswerReadError(ec);
    return;
  }
  const auto& header = parser_->get();
  auto expect = header.find(http::field::expect);
  if (expect != header.end() && beast::iequals(expect->value(), "100-continue") &&
      header.version() >= 11 && !parser_->is_done()) {
    // curl and others wait (about a second) for this before sending a body.
    continue_line_ = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(continue_line_),
                     [self = shared_from_this()](const boost::system::error_code& write_ec, std::size_t) {
                       if (self->phase_ == Phase::kClosed) return;
                       if (write_ec) {
                         self->CloseNow();
                         return;
                       }
                       self->DoReadBody();
                     });
    return;
  }
  DoReadBody();
}

void HttpSession::DoReadBody() {
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::OnReadBody, shared_from_this()));
}

void HttpSession::OnReadBody(const boost::system::error_code& ec, std::size_t) {
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    AnswerReadError(ec);
    return;
  }
  Dispatch();
}

void HttpSession::AnswerReadError(const boost::system::error_code& ec) {
  // Keep what was parsed for on_response and the X-Request-Id of the answer: the request line
  // is there once the target is (a body refused for its Content-Length fails before the header
  // counts as done).
  if (parser_ && (parser_->is_header_done() || !parser_->get().target().empty())) {
    const auto& header = parser_->get();
    request_.method = std::string(header.method_string());
    request_.target = std::string(header.target());
    // The path as sent (not decoded), for on_response's route.
    request_.path = request_.target.substr(0, request_.target.find('?'));
    request_.request_id = RequestIdFrom(header);
    version_ = header.version();
  } else {
    request_.request_id = NewRequestId();
  }
  if (ec == http::error::body_limit) {
    WriteErrorResponse(413, ErrorBody("body too large", state_->options().max_body_bytes));
  } else if (ec == http::error::header_limit) {
    WriteErrorResponse(431, ErrorBody("headers too large"));
  } else if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
             ec == beast::error::timeout) {
    CloseNow();  // the client went away or was too slow: nobody to answer
  } else if (IsHttpProtocolError(ec)) {
    WriteErrorResponse(400, ErrorBody("bad request"));
  } else {
    CloseNow();  // a socket error
  }
}

// ---- Handling ------------------------------------------------------------------------------

void HttpSession::Dispatch() {
  BeastRequest message = parser_->release();
  parser_.reset();
  head_request_ = message.method() == http::verb::head;
  keep_alive_ = message.keep_alive();
  version_ = message.version();

  HttpRequest request;
  const bool decoded = ToHttpRequest(std::move(message), remote_, request);
  // Keep what on_response and the log lines read (method, target, path, request id), in the
  // room of the last request's; the handler gets the request itself.
  request_.method.assign(request.method);
  request_.target.assign(request.target);
  request_.path.assign(request.path);
  request_.request_id.assign(request.request_id);
  if (!decoded) {
    WriteErrorResponse(400, ErrorBody("bad request"), head_request_);
    return;
  }

  phase_ = Phase::kHandling;
  stream_.expires_never();  // the handler sets the pace; Shutdown bounds it
  auto slot = std::make_shared<ResponseSlot>(shared_from_this(), request_.request_id);
  Respond respond = [slot](HttpResponse response) { slot->Answer(std::move(response)); };
  try {
    // Moved, not copied (a copy is an allocation per request); a throw answers through `slot`.
    state_->handler().Handle(std::move(request), std::move(respond));
  } catch (const std::exception& e) {
    state_->Log("http: handler threw method=" + LogValue(request_.method) + " path=" + LogValue(request_.path) +
                " error=" + LogQuoted(e.what()));
    HttpResponse error{500, "application/json", ErrorBody("internal error"), {}};
    slot->Answer(std::move(error));  // ignored if the handler answered before throwing
  } catch (...) {
    state_->Log("http: handler threw method=" + LogValue(request_.method) + " path=" + LogValue(request_.path));
    slot->Answer(HttpResponse{500, "application/json", ErrorBody("internal error"), {}});
  }
}

// ---- Writing -------------------------------------------------------------------------------

void HttpSession::WriteHandlerResponse(HttpResponse response) {
  if (phase_ != Phase::kHandling) return;  // closed meanwhile (Shutdown, timeout)
  const bool keep_alive = keep_alive_ && !state_->draining();
  close_after_write_ = !keep_alive;
  if (response.status >= 500) request_.error_body = response.body;  // for the log line
  DoWrite(FormatResponse(std::move(response), request_.request_id, version_, keep_alive, head_request_, response_));
}

void HttpSession::WriteErrorResponse(int status, std::string body, bool head_request) {
  close_after_write_ = true;
  if (status >= 500) request_.error_body = body;  // for the log line
  HttpResponse response{status, "application/json", std::move(body), {}};
  DoWrite(FormatResponse(std::move(response), request_.request_id, version_, /*keep_alive=*/false, head_request,
                         response_));
}

void HttpSession::DoWrite(int status) {
  phase_ = Phase::kWriting;
  stream_.expires_after(std::chrono::milliseconds(state_->options().write_timeout_ms));
  net::async_write(stream_, net::buffer(response_),
                   [self = shared_from_this(), status](const boost::system::error_code& ec, std::size_t bytes) {
                     self->OnWrite(status, ec, bytes);
                   });
}

void HttpSession::OnWrite(int status, const boost::system::error_code& ec, std::size_t) {
  if (response_.capacity() > kKeptResponseBytes) std::string().swap(response_);
  const double seconds =
      std::chrono::duration<double>(Clock::now() - request_started_).count();
  state_->ReportResponse(request_, status, seconds);
  FinishRequest();
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    CloseNow();
    return;
  }
  if (close_after_write_ || state_->draining()) {
    DoLingeringClose();
    return;
  }
  first_request_ = false;
  DoWaitForRequest();  // StartRequest clears request_, keeping its strings' room
}

// ---- Closing -------------------------------------------------------------------------------

void HttpSession::DoLingeringClose() {
  phase_ = Phase::kClosing;
  boost::system::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    CloseNow();
    return;
  }
  buffer_.consume(buffer_.size());
  const auto linger = std::min<std::chrono::milliseconds>(
      kMaxLinger, std::chrono::milliseconds(state_->options().header_timeout_ms));
  stream_.expires_after(linger);
  stream_.async_read_some(buffer_.prepare(kReadChunk),
                          beast::bind_front_handler(&HttpSession::OnLingerRead, shared_from_this()));
}

void HttpSession::OnLingerRead(const boost::system::error_code& ec, std::size_t bytes) {
  if (phase_ == Phase::kClosed) return;
  lingered_bytes_ += bytes;
  if (ec || lingered_bytes_ > kMaxLingerBytes) {  // EOF: the peer has our answer and is gone
    CloseNow();
    return;
  }
  // Nothing is committed: the same scratch space is reused; the deadline set above still holds.
  stream_.async_read_some(buffer_.prepare(kReadChunk),
                          beast::bind_front_handler(&HttpSession::OnLingerRead, shared_from_this()));
}

void HttpSession::CloseNow() {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosed;
  FinishRequest();
  boost::system::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();  // also cancels the stream's timers; pending operations end with an error
}

void HttpSession::FinishRequest() {
  if (!request_open_) return;
  request_open_ = false;
  state_->EndRequest();
}

}  // namespace reach::server
