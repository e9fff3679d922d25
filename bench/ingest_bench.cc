// Durable ingest over HTTP on loopback, against a bare server in the same run.
//
//   full: the real stack in-process — HttpServer + ApiHandler + EngineService + SqliteStore
//         (synchronous=FULL, group commit) — with the journey  condition -> sandbox send -> wait
//         enrolled by every event (each event a new user, so each one writes an event, a user,
//         an execution, a wait and a timer, and renders a send);
//   bare: the same HttpServer with a handler that answers 202 at once (no parsing, no store).
//
// A closed-loop load generator (C keep-alive connections, one request in flight each, driven by
// one thread over epoll as wrk does) measures the maximum rate of each, alternating rounds,
// medians reported. C defaults to 256: enough requests in flight that the durable server is
// bound by its CPU rather than by the commit's round trip (with 32, each batch holds ~11
// events and the machine idles half the time waiting for the fsync). Then an open-loop run at
// half of the full stack's rate, over L connections (a thread each), measures latency from
// each request's scheduled send time (so a stall is counted, not hidden): p50 / p99.
//
// Run: build/bench/ingest_bench [--seconds 4] [--rounds 3] [--connections 256]
//                               [--latency-connections 64] [--io-threads 1] [--inline-sync] [--full-only]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "engine_bench_support.h"
#include "engine/engine.h"
#include "engine/engine_service.h"
#include "nodes/builtin_kinds.h"
#include "server/api_handler.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "storage/sqlite_store.h"

namespace {

using SteadyClock = std::chrono::steady_clock;

const char* kFlow = R"YAML(flow:
  nodes:
    - {id: interested, type: condition, if: 'event.campaign == "bench"'}
    - id: hello
      type: wechat.template
      template_id: TPL_BENCH
      data: { first: "Hi {{user.id}}" }
    - {id: wait_reply, type: wait_event, event: reply, timeout: 3d}
  chain:
    - name: bench_journey
      trigger: { event: visit }
      entry: { reentry: always }
      value: "THEN(interested, hello, wait_reply)"
)YAML";

class CountingSink final : public reach::engine::SendSink {
 public:
  bool Accept(reach::storage::StoreTxn&, const reach::storage::ExecutionRecord&, const std::string&,
              const reach::engine::SendRequest&, std::string&) override {
    sends.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  std::atomic<uint64_t> sends{0};
};

class BareHandler final : public reach::server::RequestHandler {
 public:
  void Handle(reach::server::HttpRequest, reach::server::Respond respond) override {
    respond({202, "application/json", R"({"id":"1","status":"accepted"})", {}});
  }
};

// One keep-alive connection speaking just enough HTTP/1.1 for this benchmark.
class Connection {
 public:
  explicit Connection(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      std::perror("connect");
      std::exit(1);
    }
  }
  ~Connection() { close(fd_); }

  // Sends one POST and reads the response; returns the status (0 on error).
  int Post(const std::string& body) {
    std::string req = "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
    if (write(fd_, req.data(), req.size()) != static_cast<ssize_t>(req.size())) return 0;
    buffer_.clear();
    char chunk[4096];
    for (;;) {
      ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n <= 0) return 0;
      buffer_.append(chunk, static_cast<size_t>(n));
      size_t head = buffer_.find("\r\n\r\n");
      if (head == std::string::npos) continue;
      size_t cl = buffer_.find("Content-Length: ");
      size_t length = cl != std::string::npos ? std::strtoul(buffer_.c_str() + cl + 16, nullptr, 10) : 0;
      if (buffer_.size() >= head + 4 + length) return std::atoi(buffer_.c_str() + 9);
    }
  }

 private:
  int fd_;
  std::string buffer_;
};

std::atomic<uint64_t> g_next_event{0};

std::string NextEvent() {
  uint64_t n = g_next_event.fetch_add(1);
  std::string id = std::to_string(n);
  return R"({"type":"visit","user_id":"bench-)" + id + R"(","identities":{"openid":"o-bench-)" + id +
         R"("},"properties":{"campaign":"bench"},"message_id":"b-)" + id + "\"}";
}

// Closed loop, the way wrk drives a server: `connections` keep-alive connections, one request in
// flight on each, all driven by one thread over epoll (a thread per connection would cost the
// machine more than the server it measures). Returns the rate; `cpu_us` gets the process's CPU
// time per request (server, store and generator together: the machine's whole cost of one).
double MaxRate(uint16_t port, int connections, double seconds, uint64_t& errors, double& cpu_us) {
  struct Conn {
    int fd = -1;
    std::string out;   // the request being written
    size_t written = 0;
    std::string in;    // the response being read
  };
  const int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<size_t>(connections));
  auto start_request = [&](Conn& c) {
    const std::string body = NextEvent();
    c.out = "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
    c.written = 0;
    c.in.clear();
  };
  for (size_t i = 0; i < conns.size(); ++i) {
    Conn& c = conns[i];
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      std::perror("connect");
      std::exit(1);
    }
    fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    start_request(c);
  }
  uint64_t done = 0, bad = 0, counted_from = 0;
  double cpu0 = 0;
  const auto begin = SteadyClock::now();
  const auto warm = begin + std::chrono::milliseconds(200);  // connections settle first
  const auto end = warm + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(seconds));
  bool counting = false;
  std::vector<epoll_event> events(conns.size());
  char chunk[8192];
  // Writes what is left of `c`'s request, then reads whatever answer has come; on a whole
  // answer, counts it and starts the next request at once.
  auto pump = [&](Conn& c) {
    for (;;) {
      while (c.written < c.out.size()) {
        ssize_t n = write(c.fd, c.out.data() + c.written, c.out.size() - c.written);
        if (n <= 0) return;  // EAGAIN: EPOLLOUT comes back
        c.written += static_cast<size_t>(n);
      }
      for (;;) {
        ssize_t n = read(c.fd, chunk, sizeof chunk);
        if (n <= 0) break;
        c.in.append(chunk, static_cast<size_t>(n));
      }
      const size_t head = c.in.find("\r\n\r\n");
      if (head == std::string::npos) return;
      const size_t cl = c.in.find("Content-Length: ");
      const size_t length = cl != std::string::npos ? std::strtoul(c.in.c_str() + cl + 16, nullptr, 10) : 0;
      if (c.in.size() < head + 4 + length) return;
      if (std::atoi(c.in.c_str() + 9) == 202) {
        ++done;
      } else {
        ++bad;
      }
      start_request(c);
    }
  };
  for (;;) {
    const auto now = SteadyClock::now();
    if (!counting && now >= warm) {
      counting = true;
      counted_from = done;
      cpu0 = reach::bench::ProcessCpuSeconds();
    }
    if (now >= end) break;
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10);
    for (int i = 0; i < n; ++i) pump(conns[events[i].data.u64]);
  }
  const uint64_t n = done - counted_from;
  const double elapsed = std::chrono::duration<double>(SteadyClock::now() - warm).count();
  cpu_us = n ? (reach::bench::ProcessCpuSeconds() - cpu0) / static_cast<double>(n) * 1e6 : 0;
  for (Conn& c : conns) close(c.fd);
  close(ep);
  errors += bad;
  return static_cast<double>(n) / elapsed;
}

// Open loop at `rate` requests/s spread over the connections; latency from the scheduled time.
std::vector<double> Latencies(uint16_t port, int connections, double rate, double seconds) {
  std::vector<std::vector<double>> per(static_cast<size_t>(connections));
  std::vector<std::thread> threads;
  auto start = SteadyClock::now() + std::chrono::milliseconds(50);
  double interval = connections / rate;  // seconds between one connection's requests
  for (int c = 0; c < connections; ++c)
    threads.emplace_back([&, c] {
      Connection conn(port);
      for (int i = 0;; ++i) {
        auto scheduled = start + std::chrono::duration_cast<SteadyClock::duration>(
                                     std::chrono::duration<double>((i + static_cast<double>(c) / connections) * interval));
        if (scheduled > start + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(seconds)))
          break;
        std::this_thread::sleep_until(scheduled);
        conn.Post(NextEvent());
        per[static_cast<size_t>(c)].push_back(std::chrono::duration<double>(SteadyClock::now() - scheduled).count());
      }
    });
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& v : per) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  return all;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 4;
  int rounds = 3, connections = 256, latency_connections = 64, io_threads = 1;
  bool overlap_sync = true;
  bool full_only = false;  // for profiling the full stack alone: no bare rounds, no latency run
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--inline-sync") {
      overlap_sync = false;
      continue;
    }
    if (a == "--full-only") {
      full_only = true;
      continue;
    }
    if (i + 1 >= argc) break;
    if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
    else if (a == "--connections") connections = std::atoi(argv[i + 1]);
    else if (a == "--latency-connections") latency_connections = std::atoi(argv[i + 1]);
    else if (a == "--io-threads") io_threads = std::atoi(argv[i + 1]);
    ++i;
  }
  std::printf(
      "command: build/bench/ingest_bench --seconds %g --rounds %d --connections %d --latency-connections %d "
      "--io-threads %d%s\n",
      seconds, rounds, connections, latency_connections, io_threads, overlap_sync ? "" : " --inline-sync");

  // The full stack.
  std::string dir = (std::filesystem::temp_directory_path() / "reach-ingest-XXXXXX").string();
  if (!mkdtemp(dir.data())) return 1;
  reach::storage::StoreOptions so;
  so.path = dir + "/reach.db";
  so.overlap_sync = overlap_sync;
  auto store = reach::storage::OpenSqliteStore(so);
  if (!store.ok()) return 1;
  reach::engine::SystemClock clock;
  CountingSink sink;
  reach::engine::Engine engine(reach::nodes::BuiltinKinds(), reach::nodes::BuiltinExecutors(), clock, &sink);
  reach::engine::EngineService service(**store, engine, clock);
  std::string errors;
  if (!(*store)->Write([&](reach::storage::StoreTxn& t) { return engine.Deploy(t, {{"bench.yaml", kFlow}}, errors); }).ok()) {
    std::fprintf(stderr, "%s", errors.c_str());
    return 1;
  }
  if (!service.Start().ok()) return 1;
  reach::server::MetricsRegistry metrics;
  reach::server::ApiHandler api({}, **store, engine, service, clock, metrics);
  api.set_ready(true);
  reach::server::HttpServerOptions ho;
  ho.address = "127.0.0.1";
  ho.io_threads = io_threads;  // both servers alike
  reach::server::HttpServer full(ho, api);
  BareHandler bare_handler;
  reach::server::HttpServer bare(ho, bare_handler);
  if (!full.Start().ok() || !bare.Start().ok()) return 1;

  std::vector<double> full_rates, bare_rates;
  uint64_t errs = 0;
  for (int r = 0; r < rounds; ++r) {
    double bare_cpu = 0, full_cpu = 0;
    bare_rates.push_back(full_only ? 1 : MaxRate(bare.port(), connections, seconds, errs, bare_cpu));
    const auto before = (*store)->counters();
    full_rates.push_back(MaxRate(full.port(), connections, seconds, errs, full_cpu));
    const auto after = (*store)->counters();
    const double batches = static_cast<double>(after.batches - before.batches);
    std::printf("round %d: bare %.0f req/s (%.1f us cpu/req), full %.0f events/s (%.1f us cpu/event; %.1f jobs per commit, "
                "%.2f ms from BEGIN to durable)\n",
                r + 1, bare_rates.back(), bare_cpu, full_rates.back(), full_cpu,
                batches > 0 ? static_cast<double>(after.jobs - before.jobs) / batches : 0.0,
                batches > 0 ? static_cast<double>(after.commit_micros_total - before.commit_micros_total) / batches / 1e3 : 0.0);
  }
  double f = Median(full_rates), b = Median(bare_rates);
  // Each round measures bare and full back to back, so the ratio within a round shares the
  // VM's speed of that minute; its median moves less than the ratio of the two medians.
  std::vector<double> ratios;
  for (size_t r = 0; r < full_rates.size(); ++r) ratios.push_back(full_rates[r] / bare_rates[r]);
  std::printf("\ndurable ingest (condition -> sandbox send -> wait, synchronous=FULL, fsync %s): median %.0f events/s\n",
              overlap_sync ? "overlapped" : "in COMMIT", f);
  std::printf("bare Beast server answering 202:                                    median %.0f req/s\n", b);
  std::printf("ratio full / bare: %.2f (median of per-round ratios %.2f)   (errors: %llu, sends rendered: %llu)\n",
              f / b, Median(ratios),
              static_cast<unsigned long long>(errs), static_cast<unsigned long long>(sink.sends.load()));

  std::vector<double> lat = full_only ? std::vector<double>{} : Latencies(full.port(), latency_connections, f / 2, seconds);
  std::printf(
      "\nlatency at half load (%.0f events/s, open loop over %d connections, %zu requests): p50 %.2f ms, p99 %.2f ms, "
      "max %.2f ms\n",
      f / 2, latency_connections, lat.size(), Percentile(lat, 0.5) * 1e3, Percentile(lat, 0.99) * 1e3, lat.empty() ? 0 : lat.back() * 1e3);

  full.Shutdown(std::chrono::milliseconds(2000));
  bare.Shutdown(std::chrono::milliseconds(2000));
  service.Stop();
  (*store)->Close();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
