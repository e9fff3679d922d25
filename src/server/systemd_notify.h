#pragma once
// SystemdNotifier: the daemon's side of systemd's Type=notify protocol (sd_notify(3)):
// READY=1 once serving, STATUS= lines for `systemctl status`, WATCHDOG=1 pings, STOPPING=1 when
// draining. Without NOTIFY_SOCKET in the environment (not under systemd, tests) every call is a
// no-op. Thread-safe (sd_notify opens a datagram socket per call and keeps no state).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace reach::server {

class SystemdNotifier {
 public:
  // "READY=1" with an optional STATUS line.
  void Ready(std::string_view status = {}) const;
  // "STATUS=<text>"; newlines in `text` become spaces (the protocol is line-based).
  void Status(std::string_view text) const;
  // "STOPPING=1": the service is shutting down (SIGTERM received, draining).
  void Stopping() const;
  // "WATCHDOG=1": the keep-alive ping.
  void Watchdog() const;
  // The unit's WatchdogSec for this process (sd_watchdog_enabled), or nullopt when the
  // watchdog is off or not meant for this PID. The caller pings every half of it.
  std::optional<std::chrono::microseconds> WatchdogInterval() const;
  // Whether a notification socket is configured at all (NOTIFY_SOCKET set).
  bool Enabled() const;

 private:
  // Sends `state`; failures are ignored: a lost notification must not stop the daemon, and
  // systemd's own timeouts report a daemon that never said READY.
  void Send(const std::string& state) const;
};

}  // namespace reach::server
