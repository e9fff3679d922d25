#include "server/http_server.h"

#include <exception>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/thread_name.h"
#include "server/http_listener.h"
#include "server/http_session.h"
#include "server/server_state.h"

namespace reach::server {
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// After the drain, how long closed connections get to unwind before the io_context is stopped.
constexpr std::chrono::milliseconds kCloseGrace{1000};

Status ValidateOptions(const HttpServerOptions& o) {
  if (o.io_threads < 1 || o.io_threads > 1024) return Status::Invalid("http: io_threads must be 1..1024");
  if (o.max_body_bytes == 0) return Status::Invalid("http: max_body_bytes must be positive");
  if (o.max_header_bytes < 256) return Status::Invalid("http: max_header_bytes must be at least 256");
  if (o.header_timeout_ms <= 0 || o.idle_timeout_ms <= 0 || o.write_timeout_ms <= 0)
    return Status::Invalid("http: timeouts must be positive");
  if (o.max_connections == 0) return Status::Invalid("http: max_connections must be positive");
  return Status::Ok();
}

// A numeric address as is; a host name through the resolver (blocking, once, at start-up).
Result<tcp::endpoint> ResolveEndpoint(net::io_context& io_context, const std::string& address,
                                      uint16_t port) {
  boost::system::error_code ec;
  net::ip::address ip = net::ip::make_address(address, ec);
  if (!ec) return tcp::endpoint(ip, port);
  tcp::resolver resolver(io_context);
  auto results = resolver.resolve(address, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || results.empty())
    return Status::Invalid("http: cannot resolve listen address '" + address + "': " +
                           (ec ? ec.message() : "no address"));
  return results.begin()->endpoint();
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, RequestHandler& handler)
    : state_(std::make_shared<ServerState>(std::move(options), handler)) {}

HttpServer::~HttpServer() { Shutdown(std::chrono::milliseconds(0)); }

Status HttpServer::Start() {
  std::lock_guard lock(lifecycle_mutex_);
  if (started_) return Status::Precondition("http: server already started");
  const HttpServerOptions& options = state_->options();
  if (Status s = ValidateOptions(options); !s.ok()) return s;
  Result<tcp::endpoint> endpoint = ResolveEndpoint(state_->io_context(), options.address, options.port);
  if (!endpoint.ok()) return endpoint.status();

  auto listener = std::make_shared<HttpListener>(state_);
  if (Status s = listener->Open(*endpoint); !s.ok()) return s;
  listener_ = std::move(listener);
  port_ = listener_->port();
  listener_->Run();
  state_->HoldWork();
  started_ = true;
  try {
    threads_.reserve(static_cast<size_t>(options.io_threads));
    for (int i = 0; i < options.io_threads; ++i) {
      state_->ThreadStarted();  // counted before the thread exists: Shutdown cannot miss it
      threads_.emplace_back([this] { RunIoThread(); });
    }
  } catch (const std::exception& e) {  // std::system_error: no more threads
    state_->ThreadExited();
    ShutdownLocked(std::chrono::milliseconds(0));
    return Status::Internal(std::string("http: cannot start io threads: ") + e.what());
  }
  return Status::Ok();
}

void HttpServer::RunIoThread() noexcept {
  NameThisThread("reach-io");
  // A handler that throws unwinds out of run(); log it and keep serving.
  for (;;) {
    try {
      state_->io_context().run();
      break;
    } catch (const std::exception& e) {
      state_->Log(std::string("http: exception on an io thread: ") + e.what());
    } catch (...) {
      state_->Log("http: unknown exception on an io thread");
    }
  }
  state_->ThreadExited();
}

void HttpServer::StopAccepting() {
  if (listener_) listener_->Close();
}

void HttpServer::Shutdown(std::chrono::milliseconds drain) {
  std::lock_guard lock(lifecycle_mutex_);
  ShutdownLocked(drain);
}

void HttpServer::ShutdownLocked(std::chrono::milliseconds drain) {
  if (!started_ || stopped_) return;
  if (state_->io_context().get_executor().running_in_this_thread()) {
    // Joining ourselves would deadlock; stop intake and leave the rest to another caller.
    state_->Log("http: Shutdown called from an io thread; only intake was stopped");
    StopAccepting();
    state_->SetDraining();
    return;
  }
  stopped_ = true;
  const auto deadline = std::chrono::steady_clock::now() + drain;
  StopAccepting();
  state_->SetDraining();
  for (const auto& session : state_->Sessions()) session->PostCloseIfIdle();
  if (!state_->WaitNoRequests(deadline))
    state_->Log("http: shutdown drain timed out with " + std::to_string(state_->in_flight()) +
                " request(s) unanswered");
  for (const auto& session : state_->Sessions()) session->PostClose();
  state_->ReleaseWork();
  if (!state_->WaitThreadsExited(std::chrono::steady_clock::now() + kCloseGrace))
    state_->io_context().stop();
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
  threads_.clear();
  state_->Close();  // late responses are dropped from now on
  // Handlers still queued (only after a forced stop) would hold sessions, which hold the
  // io_context that holds the handlers: run them out. Every socket is closed, so they only end.
  state_->io_context().restart();
  for (int round = 0; round < 100 && state_->io_context().poll() > 0; ++round) {
  }
  // listener_ stays (closed): StopAccepting() may still be called from another thread.
}

void HttpServer::Post(std::function<void()> fn) { net::post(state_->io_context(), std::move(fn)); }

size_t HttpServer::active_connections() const { return state_->connections().load(); }

size_t HttpServer::in_flight_requests() const { return state_->in_flight(); }

}  // namespace reach::server
