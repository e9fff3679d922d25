// What an fsync costs the rest of the machine: a thread writes and fdatasyncs a file at a given
// rate and size on one CPU while a spinner bound to another CPU reads the clock in a loop and
// counts every gap over 1 ms: time in which it did not run. Each configuration runs after a
// baseline without I/O, in the same invocation, so that both share the machine's minute.
//
// Between its fsyncs the writing thread spins by default (`--between spin`), so that both CPUs
// are busy as a loaded daemon's are; `--between sleep` leaves its CPU idle instead. On the 2-vCPU
// test VM the spinner lost ~0 ms without I/O, and with it lost time in proportion to the
// fsyncs per second far more than to the bytes (docs/benchmarks.md, session 13): the host
// serves each flush with CPU time of its own, which it takes from the vCPUs when they do not
// idle. With `--between sleep` it lost nothing: the host then ran in the idle CPU's time.
//
// Run: build/bench/fsync_stall_bench [--seconds 4] [--dir /var/tmp] [--spin-cpu 0] [--sync-cpu 1]
//                                    [--configs 4096x500,4096x2000,131072x500,131072x2000,524288x500]
//                                    [--between spin|sleep] [--sync fdatasync|write]
//      (each config SIZExRATE: bytes written before each fdatasync, fdatasyncs per second)
//
// `--sync write` sends each write to the device and waits for it (sync_file_range) without a
// cache flush: what a write request alone costs, against a write and a flush.
//
// Why it exists: Reach's sync thread fsyncs the WAL, and StoreOptions::min_fsync_interval_us
// bounds how often.
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  size_t size = 0;  // bytes written before each fdatasync
  int rate = 0;     // fdatasyncs a second
};

struct SpinResult {
  int gaps_1ms = 0, gaps_5ms = 0;
  double max_gap_ms = 0, total_gap_ms = 0;
};

struct SyncResult {
  std::vector<double> ms;  // each fdatasync's time, sorted
};

bool BindTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

SpinResult Spin(double seconds, int cpu) {
  BindTo(cpu);
  SpinResult r;
  const auto start = Clock::now();
  auto last = start;
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (true) {
    const auto now = Clock::now();
    const double gap = std::chrono::duration<double, std::milli>(now - last).count();
    if (gap > 1) {
      ++r.gaps_1ms;
      if (gap > 5) ++r.gaps_5ms;
      r.max_gap_ms = std::max(r.max_gap_ms, gap);
      r.total_gap_ms += gap;
    }
    last = now;
    if (now >= end) break;
  }
  return r;
}

constexpr size_t kFileBytes = 256u << 20;

// Written whole first, so that the timed writes overwrite allocated blocks as a WAL does after
// its first pass.
int Prepare(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
  if (fd < 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
  std::vector<char> block(1 << 20, 'x');
  for (size_t off = 0; off < kFileBytes; off += block.size()) {
    if (::pwrite(fd, block.data(), block.size(), static_cast<off_t>(off)) < 0) std::perror("pwrite");
  }
  ::fsync(fd);
  return fd;
}

SyncResult Sync(int fd, Config config, double seconds, int cpu, bool busy, bool flush) {
  BindTo(cpu);
  SyncResult r;
  std::vector<char> buf(config.size, 'y');
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / config.rate));
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  size_t off = 0;
  for (int64_t n = 0;; ++n) {
    const auto at = start + interval * n;
    if (at >= end) break;
    if (busy) {
      while (Clock::now() < at) {
      }
    } else {
      std::this_thread::sleep_until(at);
    }
    if (::pwrite(fd, buf.data(), buf.size(), static_cast<off_t>(off)) < 0) std::perror("pwrite");
    off = (off + buf.size()) % (kFileBytes - buf.size());
    const auto before = Clock::now();  // the write's own time is in the pwrite's page cache copy
    if (flush) {
      ::fdatasync(fd);
    } else {
      ::sync_file_range(fd, static_cast<off_t>(off), static_cast<off_t>(buf.size()),
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    }
    r.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - before).count());
  }
  std::sort(r.ms.begin(), r.ms.end());
  return r;
}

double Pct(const std::vector<double>& v, double p) {
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 4;
  std::string dir = "/var/tmp";
  int spin_cpu = 0, sync_cpu = 1;
  bool busy = true;
  bool flush = true;  // fdatasync after each write; false: the write only (sync_file_range)
  std::string configs_arg = "4096x500,4096x2000,131072x500,131072x2000,524288x500";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (a == "--dir") dir = argv[i + 1];
    else if (a == "--spin-cpu") spin_cpu = std::atoi(argv[i + 1]);
    else if (a == "--sync-cpu") sync_cpu = std::atoi(argv[i + 1]);
    else if (a == "--configs") configs_arg = argv[i + 1];
    else if (a == "--between") busy = std::string(argv[i + 1]) != "sleep";
    else if (a == "--sync") flush = std::string(argv[i + 1]) != "write";
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  std::vector<Config> configs;
  for (size_t pos = 0; pos < configs_arg.size();) {
    size_t comma = configs_arg.find(',', pos);
    if (comma == std::string::npos) comma = configs_arg.size();
    const std::string item = configs_arg.substr(pos, comma - pos);
    Config c;
    if (std::sscanf(item.c_str(), "%zux%d", &c.size, &c.rate) != 2 || c.size == 0 || c.rate <= 0) {
      std::fprintf(stderr, "bad config '%s' (want SIZExRATE, e.g. 4096x500)\n", item.c_str());
      return 2;
    }
    configs.push_back(c);
    pos = comma + 1;
  }
  std::printf("command: build/bench/fsync_stall_bench --seconds %g --dir %s --spin-cpu %d --sync-cpu %d --configs %s "
              "--between %s --sync %s\n",
              seconds, dir.c_str(), spin_cpu, sync_cpu, configs_arg.c_str(), busy ? "spin" : "sleep",
              flush ? "fdatasync" : "write");
  const std::string path = dir + "/reach-fsync-stall-" + std::to_string(::getpid());
  for (const Config& config : configs) {
    for (const bool with_io : {false, true}) {
      SpinResult spin;
      SyncResult sync;
      const int fd = with_io ? Prepare(path) : -1;
      std::thread spinner([&] { spin = Spin(seconds, spin_cpu); });
      if (with_io) sync = Sync(fd, config, seconds, sync_cpu, busy, flush);
      spinner.join();
      if (fd >= 0) {
        ::close(fd);
        ::unlink(path.c_str());
      }
      if (with_io) {
        std::printf("%7zu bytes x %4d %s/s: ", config.size, config.rate, flush ? "fdatasync" : "write    ");
      } else {
        std::printf("  baseline, no I/O:            ");
      }
      std::printf("spinner on CPU %d lost %6.1f ms of %.0f (gaps over 1 ms: %3d, over 5 ms: %3d, longest %5.1f ms)",
                  spin_cpu, spin.total_gap_ms, seconds * 1e3, spin.gaps_1ms,
                  spin.gaps_5ms, spin.max_gap_ms);
      if (with_io) {
        std::printf("; %s p50 %.2f, p99 %.2f, max %.2f ms", flush ? "fdatasync" : "write", Pct(sync.ms, 0.5),
                    Pct(sync.ms, 0.99),
                    sync.ms.empty() ? 0 : sync.ms.back());
      }
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  return 0;
}
