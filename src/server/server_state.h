#pragma once
// ServerState: what HttpServer, its listener and its sessions share. Internal to the server.
//
// Why a shared_ptr and why it owns the io_context: a `Respond` handed to the handler keeps its
// session alive, and may be called (or dropped) on a worker thread after the HttpServer object
// is gone. The session's socket must then still find its io_context, so the io_context lives as
// long as the last session — i.e. in this object, which every session holds. `closed_` (set
// once the io threads are joined) makes such late responses a no-op instead of a post into a
// context nobody runs.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "server/http_server.h"
#include "server/http_types.h"

namespace reach::server {

class HttpSession;

class ServerState {
 public:
  ServerState(HttpServerOptions options, RequestHandler& handler);

  const HttpServerOptions& options() const { return options_; }
  RequestHandler& handler() { return handler_; }
  boost::asio::io_context& io_context() { return io_context_; }

  // Keeps the io threads running while nothing is pending (e.g. after StopAccepting, waiting
  // for a handler). Released by Shutdown so that run() returns once the last close completes.
  void HoldWork();
  void ReleaseWork();

  // ---- Sessions (all thread-safe) --------------------------------------------------------
  void Register(const std::shared_ptr<HttpSession>& session);
  void Unregister(const HttpSession* session);
  std::vector<std::shared_ptr<HttpSession>> Sessions();
  std::atomic<size_t>& connections() { return connections_; }

  // ---- Requests in flight: from a request's first byte to its response written -----------
  void BeginRequest();
  void EndRequest();
  size_t in_flight() const;
  // Waits until no request is in flight or `deadline` passes; true when none is left.
  bool WaitNoRequests(std::chrono::steady_clock::time_point deadline);

  // Draining: responses close their connection and idle connections are closed.
  bool draining() const { return draining_.load(std::memory_order_acquire); }
  void SetDraining() { draining_.store(true, std::memory_order_release); }

  // Runs `post` (which posts onto the io_context) unless the server is closed. Thread-safe.
  // Returns false when closed (the caller drops what it wanted to post).
  template <class F>
  bool PostUnlessClosed(F&& post) {
    std::shared_lock lock(closed_mutex_);
    if (closed_) return false;
    post();
    return true;
  }
  void Close();

  // ---- Io thread accounting, for a bounded join ------------------------------------------
  void ThreadStarted();
  void ThreadExited();
  // Waits until every io thread has left run() or `deadline` passes.
  bool WaitThreadsExited(std::chrono::steady_clock::time_point deadline);

  // Calls the options' callbacks; never throws.
  void Log(const std::string& message) noexcept;
  void ReportResponse(const HttpRequest& request, int status, double seconds) noexcept;

 private:
  const HttpServerOptions options_;
  RequestHandler& handler_;
  boost::asio::io_context io_context_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;

  std::mutex sessions_mutex_;
  std::unordered_map<const HttpSession*, std::weak_ptr<HttpSession>> sessions_;  // guarded
  std::atomic<size_t> connections_{0};

  mutable std::mutex requests_mutex_;
  std::condition_variable requests_cv_;
  size_t in_flight_ = 0;  // guarded by requests_mutex_

  std::mutex threads_mutex_;
  std::condition_variable threads_cv_;
  int running_threads_ = 0;  // guarded by threads_mutex_

  std::atomic<bool> draining_{false};
  std::shared_mutex closed_mutex_;
  bool closed_ = false;  // guarded by closed_mutex_
};

}  // namespace reach::server
