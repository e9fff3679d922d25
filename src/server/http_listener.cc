#include "server/http_listener.h"

#include <chrono>
#include <utility>

#include <boost/asio/strand.hpp>

#include "server/http_session.h"
#include "server/server_state.h"

namespace reach::server {
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
// Pause after an accept error (EMFILE, ENFILE, ENOBUFS) so a persistent one does not spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};
}  // namespace

HttpListener::HttpListener(std::shared_ptr<ServerState> state)
    : state_(std::move(state)),
      acceptor_(state_->io_context()),
      retry_timer_(state_->io_context()) {}

Status HttpListener::Open(const tcp::endpoint& endpoint) {
  std::lock_guard lock(mutex_);
  boost::system::error_code ec;
  const std::string where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  if (acceptor_.open(endpoint.protocol(), ec); ec)
    return Status::Io("cannot open a socket for " + where + ": " + ec.message());
  if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec)
    return Status::Io("cannot set SO_REUSEADDR on " + where + ": " + ec.message());
  if (acceptor_.bind(endpoint, ec); ec) return Status::Io("cannot bind " + where + ": " + ec.message());
  if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec)
    return Status::Io("cannot listen on " + where + ": " + ec.message());
  tcp::endpoint bound = acceptor_.local_endpoint(ec);
  if (ec) return Status::Io("cannot read the bound address of " + where + ": " + ec.message());
  port_ = bound.port();
  return Status::Ok();
}

void HttpListener::Run() { DoAccept(); }

void HttpListener::Close() {
  std::lock_guard lock(mutex_);
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_timer_.cancel();
}

void HttpListener::DoAccept() {
  std::lock_guard lock(mutex_);
  if (closed_) return;
  // With several io threads each connection gets its own strand: its handlers never run
  // concurrently, so the session needs no locks. With one (the default) the io_context alone
  // runs them one at a time, and a strand would only add its own queueing to every handler:
  // ~5 k instructions of each POST /v1/events, a tenth of the io thread's (callgrind,
  // bench/ingest_bench: 50.9 k -> 45.6 k per request).
  net::io_context& io = state_->io_context();
  const net::any_io_executor executor = state_->options().io_threads > 1
                                            ? net::any_io_executor(net::make_strand(io))
                                            : net::any_io_executor(io.get_executor());
  acceptor_.async_accept(executor,
                         [self = shared_from_this()](const boost::system::error_code& ec,
                                                     tcp::socket socket) {
                           self->OnAccept(ec, std::move(socket));
                         });
}

void HttpListener::OnAccept(const boost::system::error_code& ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted) return;  // Close()
  if (ec) {
    state_->Log("http: accept failed: " + ec.message());
    RetryAcceptLater();
    return;
  }
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);  // small JSON answers: do not wait for Nagle
  // Only this accept loop adds connections, so the check cannot be overtaken by another accept.
  const bool reject = state_->connections().load() >= state_->options().max_connections;
  auto session = std::make_shared<HttpSession>(std::move(socket), state_,
                                               reject ? HttpSession::Mode::kReject
                                                      : HttpSession::Mode::kServe);
  state_->Register(session);
  session->Start();
  DoAccept();
}

void HttpListener::RetryAcceptLater() {
  std::lock_guard lock(mutex_);
  if (closed_) return;
  retry_timer_.expires_after(kAcceptRetryDelay);
  retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->DoAccept();
  });
}

}  // namespace reach::server
