#include "server/systemd_notify.h"

#include <cstdint>
#include <cstdlib>

#include <systemd/sd-daemon.h>

namespace reach::server {

namespace {

std::string OneLine(std::string_view text) {
  std::string line(text);
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  return line;
}

}  // namespace

void SystemdNotifier::Send(const std::string& state) const {
  if (!Enabled()) return;
  (void)sd_notify(/*unset_environment=*/0, state.c_str());
}

void SystemdNotifier::Ready(std::string_view status) const {
  std::string state = "READY=1";
  if (!status.empty()) state += "\nSTATUS=" + OneLine(status);
  Send(state);
}

void SystemdNotifier::Status(std::string_view text) const { Send("STATUS=" + OneLine(text)); }

void SystemdNotifier::Stopping() const { Send("STOPPING=1"); }

void SystemdNotifier::Watchdog() const { Send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> SystemdNotifier::WatchdogInterval() const {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(/*unset_environment=*/0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(static_cast<int64_t>(usec));
}

bool SystemdNotifier::Enabled() const {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && socket[0] != '\0';
}

}  // namespace reach::server
