#pragma once
// What engine_bench and timer_bench share: the benchmark flow, its event, timing and memory
// helpers, and a tiny argument parser. Header-only: each bench is one executable.
//
// The flow (both benches): an event-triggered 5-node chain with one wait,
//
//   cart ──▶ a (noop) ──▶ cond (condition on the event) ──▶ w (wait_event `paid`, 1h) ──▶ b ──▶ c
//
// An enrolling event runs a, cond and w and suspends at w: one execution row and one wakeup row
// (the wait for `paid` by the user, with w's timeout). When the timeout fires, w is false and
// the execution runs b and c to completion.

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/records.h"
#include "storage/sqlite_wal_vfs.h"

namespace reach::bench {

inline constexpr char kBenchFlow[] = R"yaml(flow:
  nodes:
    - {id: a, type: noop}
    - {id: cond, type: condition, if: 'event.properties.amount > 10'}
    - {id: w, type: wait_event, event: paid, timeout: 1h}
    - {id: b, type: noop}
    - {id: c, type: noop}
  chain:
    - name: cart
      trigger: { event: cart }
      entry: { reentry: always }
      value: "THEN(a, cond, w, b, c)"
)yaml";
inline constexpr char kBenchChain[] = "cart";

// The i-th enrolling event: user "u<i % users>", unique message_id.
inline storage::EventRecord BenchEvent(int64_t i, int64_t users, int64_t now_ms) {
  storage::EventRecord e;
  e.type = "cart";
  e.message_id = "msg-" + std::to_string(i);
  e.user_id = "u" + std::to_string(i % users);
  e.properties = {{"amount", 129.5}, {"sku", "SKU-" + std::to_string(i % 300)}};
  e.timestamp_ms = now_ms;
  e.received_ms = now_ms;
  e.request_id = "req-" + std::to_string(i);
  return e;
}

using SteadyClock = std::chrono::steady_clock;

inline double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// CPU seconds (user + system) this process has used: figures that a busy neighbour on a shared
// machine does not distort the way it distorts wall-clock rates.
inline double ProcessCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Each live thread's time on a CPU and time runnable but waiting for one, by thread name
// (/proc/self/task/*/schedstat, nanoseconds; threads of the same name summed): where a rate that
// is not CPU-bound loses its time.
struct ThreadTime {
  std::string name;
  double run_ms = 0;
  double wait_ms = 0;  // runnable, waiting for a CPU
};

inline std::vector<ThreadTime> ThreadTimes() {
  std::vector<ThreadTime> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(entry.path() / "comm");
    std::ifstream sched(entry.path() / "schedstat");
    std::string name;
    double run_ns = 0, wait_ns = 0;
    if (!std::getline(comm, name) || !(sched >> run_ns >> wait_ns)) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const ThreadTime& t) { return t.name == name; });
    if (it == out.end()) it = out.insert(out.end(), ThreadTime{name});
    it->run_ms += run_ns / 1e6;
    it->wait_ms += wait_ns / 1e6;
  }
  return out;
}

// `after` less `before`, by name (a thread that ended in between is left out of both).
inline std::vector<ThreadTime> ThreadTimesSince(const std::vector<ThreadTime>& before, std::vector<ThreadTime> after) {
  for (ThreadTime& t : after) {
    for (const ThreadTime& b : before) {
      if (b.name != t.name) continue;
      t.run_ms -= b.run_ms;
      t.wait_ms -= b.wait_ms;
    }
  }
  return after;
}

// "name run/waited ms" for the threads whose name starts with `prefix`.
inline std::string FormatThreadTimes(const std::vector<ThreadTime>& times, const std::string& prefix) {
  std::string out;
  char buf[128];
  for (const ThreadTime& t : times) {
    if (t.name.compare(0, prefix.size(), prefix) != 0) continue;
    std::snprintf(buf, sizeof buf, "%s%s %.0f/%.0f", out.empty() ? "" : ", ", t.name.c_str(), t.run_ms, t.wait_ms);
    out += buf;
  }
  return out;
}

// WAL frames written between two readings: a frame is a 4 KiB page and its 24-byte header.
inline double WalPages(const storage::WalVfsCounters& before, const storage::WalVfsCounters& after) {
  return static_cast<double>(after.bytes - before.bytes) / (4096.0 + 24.0);
}

// The block device a path lives on, as /proc/diskstats counts it: its write requests, the
// bytes they wrote and the flushes (cache flushes: each fsync's) it completed. The whole disk
// (a partition's parent: flushes are counted there), whoever wrote; zeros when not found.
struct DiskCounters {
  uint64_t writes = 0;
  uint64_t bytes_written = 0;
  uint64_t flushes = 0;
};

inline std::string DiskOf(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return "";
  const std::string dev = "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  std::error_code ec;
  std::filesystem::path real = std::filesystem::canonical(dev, ec);
  if (ec) return "";
  if (std::filesystem::exists(real / "partition", ec)) real = real.parent_path();
  return real.filename().string();
}

inline DiskCounters DiskCountersNow(const std::string& disk) {
  DiskCounters out;
  std::ifstream stats("/proc/diskstats");
  std::string line;
  while (!disk.empty() && std::getline(stats, line)) {
    std::istringstream fields(line);
    uint64_t major_number = 0, minor_number = 0;
    std::string name;
    fields >> major_number >> minor_number >> name;
    if (name != disk) continue;
    // After the name (Documentation/admin-guide/iostats.rst): reads completed, merged, sectors,
    // ms; writes completed, merged, sectors, ms; in flight, io ms, weighted ms; discards
    // completed, merged, sectors, ms; flushes completed, ms. Sectors of 512 bytes.
    uint64_t v[17] = {};
    for (uint64_t& x : v) fields >> x;
    out.writes = v[4];
    out.bytes_written = v[6] * 512;
    out.flushes = v[15];
    break;
  }
  return out;
}

inline double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

inline std::string CommandLine(int argc, char** argv) {
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  return command;
}

// A kB figure of /proc/self/status ("VmRSS", "VmHWM"), or -1.
inline int64_t ProcStatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') return std::atoll(line.c_str() + n + 1);
  return -1;
}

// Resets VmHWM (the peak RSS) to the current RSS (Linux >= 4.0; false when not permitted).
inline bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

// A fresh directory under /var/tmp (a disk, not tmpfs), or `dir` (created when missing).
inline std::string BenchDir(const std::string& dir, const char* name) {
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    return dir;
  }
  std::string pattern = std::string("/var/tmp/") + name + "_XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  return pattern;
}

inline void MachineNotes() {
  std::string cpu = "?";
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  std::printf("machine: %u hardware threads, %s; sqlite %s\n", std::thread::hardware_concurrency(), cpu.c_str(),
              sqlite3_libversion());
}

// `--name value` flags into int64 / string fields; exits with `usage` on anything else.
class Flags {
 public:
  Flags(int argc, char** argv, const char* usage) : argc_(argc), argv_(argv), usage_(usage) {}
  bool Int(int& i, const char* name, int64_t& out) {
    if (std::strcmp(argv_[i], name) != 0) return false;
    out = std::atoll(Value(i));
    return true;
  }
  bool Str(int& i, const char* name, std::string& out) {
    if (std::strcmp(argv_[i], name) != 0) return false;
    out = Value(i);
    return true;
  }
  bool Bool(int& i, const char* name, bool& out) {
    if (std::strcmp(argv_[i], name) != 0) return false;
    out = true;
    return true;
  }
  [[noreturn]] void Usage() const {
    std::fprintf(stderr, "usage: %s %s\n", argv_[0], usage_);
    std::exit(2);
  }

 private:
  const char* Value(int& i) {
    if (i + 1 >= argc_) Usage();
    return argv_[++i];
  }
  int argc_;
  char** argv_;
  const char* usage_;
};

// For the raw sqlite3 baselines: exits with the error when `rc` is not a success.
inline void Check(int rc, sqlite3* db, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
  std::fprintf(stderr, "raw: %s: %s\n", what, sqlite3_errmsg(db));
  std::exit(1);
}

// Opens `path` (a store's file) with raw sqlite3 and the store's pragmas (sqlite_connection.cc,
// sqlite_schema.cc, sqlite_store.cc: WAL, synchronous=FULL, temp_store=MEMORY, the journal size
// limit), for a baseline that writes what the store writes with nothing of the store around it.
inline sqlite3* OpenRawLikeTheStore(const std::string& path) {
  sqlite3* db = nullptr;
  Check(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr), db, "open");
  Check(sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY; "
                     "PRAGMA journal_size_limit=67108864;",
                     nullptr, nullptr, nullptr),
        db, "pragmas");
  return db;
}

}  // namespace reach::bench
