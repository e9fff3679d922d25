#pragma once
// HttpListener: accepts connections and starts an HttpSession for each — or, past
// max_connections, a session that only answers 503 and closes. Internal to HttpServer.
//
// The acceptor is touched by the accept loop (io threads) and by Close() (any thread, possibly
// a handler on an io thread); a mutex serialises the two instead of a strand so that Close()
// is synchronous without risking a wait on the very thread that would run it.

#include <cstdint>
#include <memory>
#include <mutex>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/status.h"

namespace reach::server {

class ServerState;

class HttpListener : public std::enable_shared_from_this<HttpListener> {
 public:
  explicit HttpListener(std::shared_ptr<ServerState> state);

  // Opens, binds (SO_REUSEADDR) and listens. kIoError with the system's reason on failure.
  Status Open(const boost::asio::ip::tcp::endpoint& endpoint);
  // The bound port, valid after a successful Open().
  uint16_t port() const { return port_; }
  // Starts the accept loop.
  void Run();
  // Closes the acceptor: the pending accept completes with operation_aborted and the loop
  // ends. Thread-safe, idempotent.
  void Close();

 private:
  void DoAccept();
  void OnAccept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);
  void RetryAcceptLater();

  std::shared_ptr<ServerState> state_;
  std::mutex mutex_;                        // guards acceptor_ and closed_
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;   // after accept errors such as EMFILE
  bool closed_ = false;
  uint16_t port_ = 0;
};

}  // namespace reach::server
