#pragma once
// Helpers for the daemon integration tests (daemon_test.cc): the real `reach serve` as a child
// process, talked to over loopback HTTP.
//
// DaemonProcess contract:
//   - Start() forks and execs REACH_BINARY `serve --listen L --db D --flows F [--config C]`
//     with a clean environment (the test's own, minus every REACH_* secret and systemd
//     variable, plus what the test adds), stdout on a pipe and stderr in a file; it returns
//     once the daemon printed `listening HOST:PORT` (then port() is known), or false when the
//     process exited or stayed silent past the timeout (stderr() tells why).
//   - RunToExit() is for daemons expected to refuse to start: it waits for the exit code.
//   - The destructor SIGKILLs and reaps a child still running; the child also gets SIGKILL
//     when the test process dies (PR_SET_PDEATHSIG), so no test leaves a daemon behind.
//   - Not thread-safe: one test thread drives one DaemonProcess (requests may come from any
//     thread; they only need port()).
//
// Every wait here is a bounded poll: a daemon that hangs fails the test instead of hanging it.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "server/http_test_client.h"

#ifndef REACH_BINARY
#error "REACH_BINARY must name the built reach executable (tests/CMakeLists.txt)"
#endif

extern char** environ;

namespace reach::server::testing {

using namespace std::chrono_literals;

// Generous bounds for a loaded 2-core machine: they only matter when something is wrong.
inline constexpr std::chrono::milliseconds kStartTimeout = 30s;
inline constexpr std::chrono::milliseconds kRequestTimeout = 15s;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
// Paths stay short: a unix socket path inside it must fit sun_path (108 bytes).
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/reach-daemon-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) != nullptr) path_ = buffer.data();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Writes `text` to `path` (creating its directory), replacing what was there.
inline void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Polls `done` every 20 ms until it returns true or `timeout` passes; returns its last answer.
inline bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

// ---- HTTP --------------------------------------------------------------------------------

struct HttpReply {
  int status = 0;  // 0: no answer (refused, closed, timed out)
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased

  // The body as JSON; null when it is not JSON.
  boost::json::value Json() const {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(body, ec);
    return ec ? boost::json::value(nullptr) : v;
  }
};

// One request on a fresh connection to 127.0.0.1:port. `headers`: extra header lines, each
// ending in \r\n. A JSON body gets Content-Type: application/json.
inline HttpReply Http(uint16_t port, std::string_view method, std::string_view target,
                      std::string_view body = {}, std::string_view headers = {},
                      std::chrono::milliseconds timeout = kRequestTimeout) {
  TestClient client(port);
  HttpReply reply;
  if (!client.connected()) return reply;
  std::string extra(headers);
  if (!body.empty() && (body.front() == '{' || body.front() == '['))
    extra += "Content-Type: application/json\r\n";
  if (!client.Send(MakeRequest(method, target, body, extra))) return reply;
  ClientResponse response = client.ReadResponse(timeout);
  reply.status = response.status;
  reply.body = std::move(response.body);
  reply.headers = std::move(response.headers);
  return reply;
}

inline std::string Bearer(const std::string& key) { return "Authorization: Bearer " + key + "\r\n"; }

// The value of the sample `series` (e.g. `reach_events_total{result="accepted"}`, exactly as
// rendered) in a Prometheus text exposition; 0 when absent (a counter never incremented).
inline double MetricValue(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ')
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
  }
  return 0;
}

// ---- sd_notify ---------------------------------------------------------------------------

// A unix datagram socket standing in for systemd's notification socket (NOTIFY_SOCKET).
class NotifySocket {
 public:
  explicit NotifySocket(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
    bound_ = fd_ >= 0 && path_.native().size() < sizeof address.sun_path &&
             ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  bool bound() const { return bound_; }
  const std::filesystem::path& path() const { return path_; }

  // The next datagram, or nullopt when none arrives within `timeout`.
  std::optional<std::string> Receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buffer[4096];
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer, static_cast<size_t>(n));
  }

  // Receives until a datagram containing `needle` arrives (returned) or `timeout` passes;
  // every datagram seen is appended to `seen` when given.
  std::optional<std::string> WaitFor(const std::string& needle, std::chrono::milliseconds timeout,
                                     std::vector<std::string>* seen = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto message = Receive(left);
      if (!message) return std::nullopt;
      if (seen) seen->push_back(*message);
      if (message->find(needle) != std::string::npos) return message;
    }
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool bound_ = false;
};

// ---- The daemon process ------------------------------------------------------------------

struct DaemonOptions {
  std::filesystem::path db;      // --db
  std::filesystem::path flows;   // --flows (a directory or a file)
  std::filesystem::path config;  // --config when not empty
  std::string listen = "127.0.0.1:0";
  std::vector<std::pair<std::string, std::string>> env;  // added to the cleaned environment
  // Sets WATCHDOG_PID=<the child's own pid> in the child between fork and exec: systemd names
  // the main PID there, and sd_watchdog_enabled() ignores WATCHDOG_USEC meant for another.
  bool watchdog_pid_is_child = false;
};

class DaemonProcess {
 public:
  explicit DaemonProcess(DaemonOptions options) : options_(std::move(options)) {
    static int counter = 0;
    stderr_path_ = options_.db.parent_path() / ("daemon-" + std::to_string(++counter) + ".stderr");
  }
  ~DaemonProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
  }
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Spawns the daemon and waits for its `listening` line. False when it exited or stayed
  // silent past `timeout` (see stderr()).
  bool Start(std::chrono::milliseconds timeout = kStartTimeout) {
    if (!Spawn()) return false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string out;
    for (;;) {
      size_t line_end = out.find('\n');
      if (line_end != std::string::npos) {
        std::string line = out.substr(0, line_end);
        out.erase(0, line_end + 1);
        const std::string prefix = "listening ";
        if (line.rfind(prefix, 0) == 0) {
          address_ = line.substr(prefix.size());
          port_ = static_cast<uint16_t>(std::stoi(address_.substr(address_.rfind(':') + 1)));
          return true;
        }
        continue;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{stdout_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 200))) < 0) return false;
      if (p.revents == 0) continue;
      char chunk[512];
      ssize_t n = ::read(stdout_fd_, chunk, sizeof chunk);
      if (n <= 0) return false;  // EOF: the daemon exited before it was ready
      out.append(chunk, static_cast<size_t>(n));
    }
  }

  // Spawns the daemon and waits for it to exit; returns its exit code (-signal when a signal
  // ended it; nullopt when it could not be spawned or still runs after `timeout`, and then the
  // destructor kills it).
  std::optional<int> RunToExit(std::chrono::milliseconds timeout = kStartTimeout) {
    if (!Spawn()) return std::nullopt;
    return WaitExit(timeout);
  }

  // Sends `signal` to the daemon.
  void Signal(int signal) const {
    if (pid_ > 0) ::kill(pid_, signal);
  }

  // Waits up to `timeout` for the daemon to exit and reaps it: its exit code, -signal when a
  // signal ended it, nullopt when it is still running.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return exit_code_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        return exit_code_;
      }
      if (r < 0 || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(10ms);
    }
  }

  // SIGKILL, then reap: a crash at an arbitrary point.
  void Kill() {
    Signal(SIGKILL);
    WaitExit(kStartTimeout);
  }

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // What the daemon wrote to stderr so far (its logs and errors).
  std::string stderr_text() const { return ReadFile(stderr_path_); }

 private:
  bool Spawn() {
    // Everything the child needs is built before fork: after fork only async-signal-safe calls.
    std::vector<std::string> args = {REACH_BINARY, "serve", "--listen", options_.listen,
                                     "--db", options_.db.string(), "--flows", options_.flows.string()};
    if (!options_.config.empty()) {
      args.push_back("--config");
      args.push_back(options_.config.string());
    }
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view entry(*e);
      std::string_view name = entry.substr(0, entry.find('='));
      if (name.rfind("REACH_", 0) == 0 || name == "NOTIFY_SOCKET" || name.rfind("WATCHDOG_", 0) == 0 ||
          name == "LISTEN_FDS" || name == "LISTEN_PID")
        continue;
      env.emplace_back(entry);
    }
    for (const auto& [k, v] : options_.env) env.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    char watchdog_pid[32] = "WATCHDOG_PID=";
    if (options_.watchdog_pid_is_child) envp.push_back(watchdog_pid);
    envp.push_back(nullptr);

    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return false;
    int err = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (err < 0) {
      ::close(out[0]);
      ::close(out[1]);
      return false;
    }
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
      // The child: die with the test process; stdout to the pipe, stderr to the file.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      ::dup2(out[1], 1);
      ::dup2(err, 2);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      if (options_.watchdog_pid_is_child) AppendNumber(watchdog_pid, ::getpid());
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err);
    if (pid < 0) {
      ::close(out[0]);
      return false;
    }
    pid_ = pid;
    stdout_fd_ = out[0];
    return true;
  }

  // Writes `n` in decimal at the end of the C string `buffer` (which has room): snprintf is not
  // async-signal-safe, so the child formats its pid by hand.
  static void AppendNumber(char* buffer, long n) {
    char digits[24];
    int count = 0;
    do {
      digits[count++] = static_cast<char>('0' + n % 10);
      n /= 10;
    } while (n > 0);
    char* end = buffer;
    while (*end) ++end;
    while (count > 0) *end++ = digits[--count];
    *end = '\0';
  }

  DaemonOptions options_;
  std::filesystem::path stderr_path_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::optional<int> exit_code_;
  std::string address_;
  uint16_t port_ = 0;
};

// Starts a daemon with `options`; fails the test (returning null) when it does not come up.
inline std::unique_ptr<DaemonProcess> StartOrFail(DaemonOptions options) {
  auto daemon = std::make_unique<DaemonProcess>(std::move(options));
  if (!daemon->Start()) {
    ADD_FAILURE() << "the daemon did not start; stderr:\n" << daemon->stderr_text();
    return nullptr;
  }
  return daemon;
}

// ---- Answers -----------------------------------------------------------------------------

// A JSON string's text; any other value serialized.
inline std::string Str(const boost::json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : boost::json::serialize(v);
}

// The started execution's id from an accepted event's answer ("" when none).
inline std::string StartedId(const HttpReply& r) {
  boost::json::value v = r.Json();
  if (!v.is_object() || !v.as_object().contains("started")) return "";
  const boost::json::array& started = v.as_object().at("started").as_array();
  return started.empty() ? "" : Str(started[0]);
}

// Flow `name`'s record in GET /v1/flows (empty when it is not listed).
inline boost::json::object FlowRecord(uint16_t port, const std::string& name) {
  boost::json::value v = Http(port, "GET", "/v1/flows").Json();
  if (!v.is_object()) return {};
  for (const boost::json::value& f : v.as_object().at("flows").as_array())
    if (f.as_object().at("name") == name.c_str()) return f.as_object();
  return {};
}

}  // namespace reach::server::testing
