#pragma once
// The daemon's configuration (`reach serve --config reach.yaml`): what it is, its defaults,
// and the YAML that sets it. Every key is optional; no file at all means all defaults.
//
//   listen: 127.0.0.1:8080          # HOST:PORT, [IPv6]:PORT; port 0 = ephemeral
//   db: ./var/reach.db
//   flows: [./flows]                # directories or files; a single string is a list of one
//   api_keys: [k1, k2]              # + REACH_API_KEY (comma-separated) from the environment
//   webhook_secret: s               # HMAC secret for X-Reach-Signature; REACH_WEBHOOK_SECRET wins
//   http: {max_body_bytes: 1048576, header_timeout_ms: 10000, idle_timeout_ms: 60000,
//          max_connections: 1024, io_threads: 1}
//   store: {max_batch_jobs: 1024, max_batch_delay_us: 0, synchronous: full,  # full | normal
//           fsync: overlapped,   # overlapped | in_commit
//           min_fsync_interval_us: 500,
//           writer_cache_mb: 16, event_wait_sweep_min_stale: 10000, event_wait_sweep_chunk: 1000}
//   cpu_affinity: {io: 0, writer: 1}  # threads bound to CPUs (lists like "0-1,3"), by role:
//                                     #   io, writer, sync, checkpointer, timer; unset: the kernel
//                                     #   places them (the default)
//   shutdown_timeout_ms: 10000
//   log_level: info                 # trace | debug | info | warn | error | critical | off
//   channels:                       # wecom, wechat, sms, webhook; each `mode: sandbox` unless
//     wecom: {mode: live, ...}      #   set to `live`; other keys are the channel's own
//   quiet_hours: ...                # kept as JSON for the engine
//   caps: ...                       # kept as JSON for the engine
//
// Errors: every bad key or value is reported, each as `file:line:col: message` (unknown keys
// with a did-you-mean), all of them in one Status (one per line). Secret values (api_keys,
// webhook_secret, anything under channels) never appear in an error message or in Redacted().

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "common/status.h"

namespace reach::server {

struct HttpConfig {
  uint64_t max_body_bytes = 1 << 20;
  int64_t header_timeout_ms = 10'000;
  int64_t idle_timeout_ms = 60'000;
  uint64_t max_connections = 1024;
  int io_threads = 1;
};

struct StoreConfig {
  uint64_t max_batch_jobs = 1024;
  int64_t max_batch_delay_us = 0;
  bool synchronous_full = true;  // `synchronous: full` (true) or `normal` (false)
  // `fsync: overlapped` (true: a thread of its own fsyncs the WAL while the writer runs the next
  // batch) or `in_commit` (false: the writer fsyncs inside COMMIT). With synchronous: full only.
  bool fsync_overlapped = true;
  // With `fsync: overlapped`: an fdatasync starts at most once per this many µs (StoreOptions).
  int64_t min_fsync_interval_us = 500;
  int64_t writer_cache_mb = 16;
  // The sweep of stale event_waits entries (StoreOptions, docs/storage.md).
  int64_t event_wait_sweep_min_stale = 10000;
  int event_wait_sweep_chunk = 1000;
};

// Threads bound to CPUs, by role (docs/operations.md, "CPU affinity"). Empty: not bound.
struct CpuAffinityConfig {
  std::vector<int> io, writer, sync, checkpointer, timer;

 private:
  template <class Self>  // CpuAffinityConfig or const CpuAffinityConfig
  static auto Roles(Self& self) {
    using List = decltype(&self.io);
    return std::array<std::pair<std::string_view, List>, 5>{{{"io", &self.io},
                                                             {"writer", &self.writer},
                                                             {"sync", &self.sync},
                                                             {"checkpointer", &self.checkpointer},
                                                             {"timer", &self.timer}}};
  }

 public:
  // (role, its CPUs) in the order the config lists them: io, writer, sync, checkpointer, timer.
  auto ByRole() const { return Roles(*this); }
  // The CPUs of `role` to set; nullptr for a role not in ByRole().
  std::vector<int>* Of(std::string_view role) {
    for (const auto& [name, cpus] : Roles(*this))
      if (name == role) return cpus;
    return nullptr;
  }
};

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string db = "./var/reach.db";
  std::vector<std::string> flows = {"./flows"};
  std::vector<std::string> api_keys;  // secret
  std::string webhook_secret;         // secret; "" = signed webhooks refused
  HttpConfig http;
  StoreConfig store;
  CpuAffinityConfig cpu_affinity;
  int64_t shutdown_timeout_ms = 10'000;
  std::string log_level = "info";
  // {"wecom": {"mode": "sandbox", ...}, "wechat": ..., "sms": ..., "webhook": ...}: every known
  // channel present, each with a "mode" of "sandbox" or "live". May hold secrets.
  boost::json::value channels = DefaultChannels();
  boost::json::value quiet_hours;  // null when not configured
  boost::json::value caps;         // null when not configured
  std::string source;              // the file it came from; "" for defaults

  // The effective configuration as indented JSON (which is also YAML, and reads back through
  // LoadConfig): api keys, the webhook secret and secret-looking keys under channels,
  // quiet_hours and caps (names containing secret, token, password, key, credential, private)
  // replaced by "***". For `reach serve --print-config` and the start-up log.
  std::string Redacted() const;

  static boost::json::value DefaultChannels();
};

// Reads an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// The process environment (getenv).
EnvLookup ProcessEnvironment();

// Loads `path` ("" = defaults only), then applies REACH_API_KEY and REACH_WEBHOOK_SECRET from
// `env`. kNotFound / kIoError when the file cannot be read, kInvalidArgument with every error
// (`path:line:col: message`, one per line) when it does not validate. Never throws.
Result<Config> LoadConfig(const std::string& path);
Result<Config> LoadConfig(const std::string& path, const EnvLookup& env);
// The same from YAML text; `file_name` prefixes the error positions.
Result<Config> ParseConfig(std::string_view yaml, const std::string& file_name, const EnvLookup& env);

// Splits "HOST:PORT" / "[IPv6]:PORT" into host (brackets removed) and port (0..65535).
// kInvalidArgument naming what is wrong otherwise.
Status ParseListen(const std::string& listen, std::string& host, uint16_t& port);

}  // namespace reach::server
