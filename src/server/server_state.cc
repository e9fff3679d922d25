#include "server/server_state.h"

#include <exception>
#include <utility>

namespace reach::server {

ServerState::ServerState(HttpServerOptions options, RequestHandler& handler)
    : options_(std::move(options)),
      handler_(handler),
      io_context_(options_.io_threads > 0 ? options_.io_threads : 1) {}

void ServerState::HoldWork() { work_.emplace(io_context_.get_executor()); }
void ServerState::ReleaseWork() { work_.reset(); }

void ServerState::Register(const std::shared_ptr<HttpSession>& session) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.emplace(session.get(), session);
}

void ServerState::Unregister(const HttpSession* session) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.erase(session);
}

std::vector<std::shared_ptr<HttpSession>> ServerState::Sessions() {
  std::vector<std::shared_ptr<HttpSession>> out;
  std::lock_guard lock(sessions_mutex_);
  out.reserve(sessions_.size());
  for (const auto& [ptr, weak] : sessions_)
    if (auto strong = weak.lock()) out.push_back(std::move(strong));
  return out;
}

void ServerState::BeginRequest() {
  std::lock_guard lock(requests_mutex_);
  ++in_flight_;
}

void ServerState::EndRequest() {
  std::lock_guard lock(requests_mutex_);
  if (in_flight_ > 0 && --in_flight_ == 0) requests_cv_.notify_all();
}

size_t ServerState::in_flight() const {
  std::lock_guard lock(requests_mutex_);
  return in_flight_;
}

bool ServerState::WaitNoRequests(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(requests_mutex_);
  return requests_cv_.wait_until(lock, deadline, [&] { return in_flight_ == 0; });
}

void ServerState::Close() {
  std::unique_lock lock(closed_mutex_);
  closed_ = true;
}

void ServerState::ThreadStarted() {
  std::lock_guard lock(threads_mutex_);
  ++running_threads_;
}

void ServerState::ThreadExited() {
  std::lock_guard lock(threads_mutex_);
  if (--running_threads_ == 0) threads_cv_.notify_all();
}

bool ServerState::WaitThreadsExited(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(threads_mutex_);
  return threads_cv_.wait_until(lock, deadline, [&] { return running_threads_ == 0; });
}

void ServerState::Log(const std::string& message) noexcept {
  if (!options_.log) return;
  try {
    options_.log(message);
  } catch (...) {
    // A failing log sink must not take the server down; nothing else to report it to.
  }
}

void ServerState::ReportResponse(const HttpRequest& request, int status, double seconds) noexcept {
  if (!options_.on_response) return;
  try {
    options_.on_response(request, status, seconds);
  } catch (const std::exception& e) {
    Log(std::string("http: on_response threw: ") + e.what());
  } catch (...) {
    Log("http: on_response threw");
  }
}

}  // namespace reach::server
