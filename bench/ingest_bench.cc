// Durable ingest over HTTP on loopback, against a bare server in the same run.
//
//   full: the real stack in-process — HttpServer + ApiHandler + EngineService + SqliteStore
//         (synchronous=FULL, group commit) — with the journey  condition -> sandbox send -> wait
//         enrolled by every event (each event a new user, so each one writes an event, a user,
//         an execution, a wait and a timer, and renders a send);
//   bare: a plain Beast server answering 202 to every request (Beast's own asynchronous
//         example, on one thread: PlainBeastServer below), the baseline the issue names.
//
// A closed-loop load generator (C keep-alive connections, one request in flight each, driven by
// one thread over epoll as wrk does) measures the maximum rate of each, alternating rounds,
// medians reported. Each server's rate in a round is its best over the connection counts
// given (default 256 and 1024): a server that acknowledges only durable writes needs more
// requests in flight to reach its maximum (each commit's fsync is a round trip every request
// of the batch waits for: at 256 connections the writer idled 40 % of the time, and at 32 each
// batch held ~11 events), while the bare server is often slower with more connections than it
// needs. Every count's rates are printed. Then an open-loop run at half of the full stack's
// rate, over L connections, measures latency from each request's scheduled send time (so a
// stall is counted, not hidden; requests go out on a periodic tick, 500 us by default, whose
// wait is counted too): p50 / p99. L is 256 by default: enough that the client's connections
// never limit the run at the goal (Little's law: ~19,000 events/s at a 10 ms p99 keeps ~190 in
// flight in a slow spell); with 64, once the full stack's rate put half load near 19,000/s, a
// few milliseconds' stall used up every connection and the requests behind it queued in the
// generator for hundreds of milliseconds, a limit of the client, not of the server.
//
// Run: build/bench/ingest_bench [--seconds 4] [--rounds 3] [--connections 256,1024]
//                               [--latency-connections 256] [--latency-load 0.5] [--latency-tick-us 500]
//                               [--latency-runs 3]
//                               [--latency-rate R]  (events/s for the latency run instead of a
//                                                    fraction of the measured rate: for A/B runs)
//                               [--io-threads 1]
//                               [--batch-delay-us 0]
//                               [--min-fsync-interval-us 500]  (StoreOptions::min_fsync_interval_us)
//                               [--delivery-chunk 32]  (EngineService::set_delivery_chunk; 0: all)
//                               [--inline-sync] [--full-only]
//                               [--keep]  (leave the store's directory, printed at the end, for
//                                          inspection with sqlite3; removed otherwise)
//                               [--cpus ROLE=CPUS ...]  (io, writer, sync, checkpointer: cpu_affinity)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "common/thread_name.h"
#include "engine_bench_support.h"
#include "engine/engine.h"
#include "engine/engine_service.h"
#include "nodes/builtin_kinds.h"
#include "server/api_handler.h"
#include "server/http_metrics.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "storage/sqlite_store.h"
#include "storage/sqlite_wal_vfs.h"

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

// Reach's HttpServer with a handler that answers 202 at once (no parsing, no store).
class BareHandler final : public reach::server::RequestHandler {
 public:
  void Handle(reach::server::HttpRequest, reach::server::Respond respond) override {
    respond({202, "application/json", R"({"id":"1","status":"accepted"})", {}});
  }
};

// The baseline: a plain Beast server answering 202 to every request, written as Beast's own
// asynchronous HTTP server example is (beast::tcp_stream with a 30 s deadline per read,
// flat_buffer, http::async_read of a string_body request, http::async_write of the response,
// keep-alive as the request asks), on one thread running one io_context, like the full stack's
// io thread. Not Reach's HttpServer with a trivial handler: a change to Reach's HTTP layer
// would then move both sides of the ratio.
class PlainBeastServer {
 public:
  PlainBeastServer() : acceptor_(io_) {
    const boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(boost::asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(boost::asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~PlainBeastServer() {
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  class Session : public std::enable_shared_from_this<Session> {
   public:
    explicit Session(boost::asio::ip::tcp::socket socket) : stream_(std::move(socket)) {}
    void Read() {
      request_ = {};
      stream_.expires_after(std::chrono::seconds(30));
      boost::beast::http::async_read(stream_, buffer_, request_,
                                     [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                                       if (!ec) self->Write();
                                     });
    }

   private:
    void Write() {
      response_ = {boost::beast::http::status::accepted, request_.version()};
      response_.set(boost::beast::http::field::server, "bare");
      response_.set(boost::beast::http::field::content_type, "application/json");
      response_.keep_alive(request_.keep_alive());
      response_.body() = R"({"id":"1","status":"accepted"})";
      response_.prepare_payload();
      boost::beast::http::async_write(stream_, response_,
                                      [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                                        if (!ec && self->response_.keep_alive()) self->Read();
                                      });
    }
    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    boost::beast::http::request<boost::beast::http::string_body> request_;
    boost::beast::http::response<boost::beast::http::string_body> response_;
  };

  void Accept() {
    acceptor_.async_accept(io_, [this](boost::beast::error_code ec, boost::asio::ip::tcp::socket socket) {
      if (!ec) {
        socket.set_option(boost::asio::ip::tcp::no_delay(true));
        std::make_shared<Session>(std::move(socket))->Read();
      }
      if (acceptor_.is_open()) Accept();
    });
  }

  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
};

std::atomic<uint64_t> g_next_event{0};

std::string NextEvent() {
  uint64_t n = g_next_event.fetch_add(1);
  std::string id = std::to_string(n);
  return R"({"type":"visit","user_id":"bench-)" + id + R"(","identities":{"openid":"o-bench-)" + id +
         R"("},"properties":{"campaign":"bench"},"message_id":"b-)" + id + "\"}";
}

// Keep-alive connections on one epoll set, each with at most one request in flight, all driven
// by the calling thread (as wrk does: a thread per connection would cost the machine more than
// the server it measures).
class Clients {
 public:
  static constexpr uint64_t kTimerTag = ~uint64_t{0};  // the epoll tag of an added timerfd

  Clients(uint16_t port, int n) : ep_(epoll_create1(0)), conns_(static_cast<size_t>(n)) {
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
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
      Watch(c.fd, i);
    }
    events_.resize(conns_.size() + 1);
  }
  ~Clients() {
    for (Conn& c : conns_) close(c.fd);
    close(ep_);
  }
  size_t size() const { return conns_.size(); }
  void Watch(int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = tag;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }
  // Starts the next event on connection i (idle). Only writes: the answer is read when epoll
  // reports it (edge-triggered, so nothing may be read here and left unreported).
  void Send(size_t i) {
    Conn& c = conns_[i];
    const std::string body = NextEvent();
    c.out = "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
    c.written = 0;
    c.in.clear();
    c.busy = true;
    Write(c);
  }
  // Waits up to `timeout_ms` and moves every ready connection on; on_done(i, status) for each
  // whole answer (the connection is idle then). on_timer() when the timerfd fires.
  template <class Done, class Timer>
  void Poll(int timeout_ms, const Done& on_done, const Timer& on_timer) {
    const int n = epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
    for (int k = 0; k < n; ++k) {
      if (events_[k].data.u64 == kTimerTag) {
        on_timer();
        continue;
      }
      const size_t i = events_[k].data.u64;
      Conn& c = conns_[i];
      Write(c);
      // Reads until the answer is whole or nothing is left. Stopping at a whole answer without
      // reading to EAGAIN is safe under EPOLLET: one request is in flight per connection, so
      // nothing can follow the answer until the next request, whose answer is a new edge (it
      // saves a read that fails with EAGAIN per request, as wrk does).
      char chunk[8192];
      bool whole = false;
      for (;;) {
        ssize_t got = read(c.fd, chunk, sizeof chunk);
        if (got <= 0) break;
        c.in.append(chunk, static_cast<size_t>(got));
        if (c.busy && (whole = AnswerWhole(c.in))) break;
      }
      if (!c.busy || !whole) continue;
      c.busy = false;
      on_done(i, std::atoi(c.in.c_str() + 9));
    }
  }

 private:
  struct Conn {
    int fd = -1;
    std::string out;   // the request being written
    size_t written = 0;
    std::string in;    // the answer being read
    bool busy = false; // a request is out and its answer not whole yet
  };
  static bool AnswerWhole(const std::string& in) {
    const size_t head = in.find("\r\n\r\n");
    if (head == std::string::npos) return false;
    const size_t cl = in.find("Content-Length: ");
    const size_t length = cl != std::string::npos ? std::strtoul(in.c_str() + cl + 16, nullptr, 10) : 0;
    return in.size() >= head + 4 + length;
  }
  // Writes what is left of the request (EAGAIN: EPOLLOUT comes back).
  static void Write(Conn& c) {
    while (c.written < c.out.size()) {
      ssize_t n = write(c.fd, c.out.data() + c.written, c.out.size() - c.written);
      if (n <= 0) return;
      c.written += static_cast<size_t>(n);
    }
  }

  int ep_;
  std::vector<Conn> conns_;
  std::vector<epoll_event> events_;
};

// Closed loop: every connection sends its next event as soon as the last is answered. Returns
// the rate; `cpu_us` gets the process's CPU time per request (server, store and generator
// together: the machine's whole cost of one).
double MaxRate(uint16_t port, int connections, double seconds, uint64_t& errors, double& cpu_us) {
  Clients clients(port, connections);
  uint64_t done = 0, bad = 0, counted_from = 0;
  double cpu0 = 0;
  const auto warm = SteadyClock::now() + std::chrono::milliseconds(200);  // connections settle first
  const auto end = warm + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(seconds));
  bool counting = false;
  for (size_t i = 0; i < clients.size(); ++i) clients.Send(i);
  auto on_done = [&](size_t i, int status) {
    if (status == 202) {
      ++done;
    } else {
      ++bad;
    }
    clients.Send(i);
  };
  for (;;) {
    const auto now = SteadyClock::now();
    if (!counting && now >= warm) {
      counting = true;
      counted_from = done;
      cpu0 = reach::bench::ProcessCpuSeconds();
    }
    if (now >= end) break;
    clients.Poll(10, on_done, [] {});
  }
  const uint64_t n = done - counted_from;
  const double elapsed = std::chrono::duration<double>(SteadyClock::now() - warm).count();
  cpu_us = n ? (reach::bench::ProcessCpuSeconds() - cpu0) / static_cast<double>(n) * 1e6 : 0;
  errors += bad;
  return static_cast<double>(n) / elapsed;
}

// Open loop at `rate` events/s for `seconds`, from the same one-thread client over
// `connections` connections: each event has a scheduled send time and goes out on an idle
// connection at the first tick of a periodic timerfd (every `tick`) at or after that time, or
// when a connection frees up; its latency runs from the scheduled time to the whole answer, so
// an event that waited for the tick, for a free connection or for the generator counts that
// wait (no coordinated omission). The tick, rather than a timer armed per event, keeps the
// generator's cost per request to a write and a read: on this 2-core machine it shares the
// CPUs with the server it measures (arming a timerfd and waking for each event cost it ~40 us
// per request, as much as the server's io thread). Returns the sorted latencies, in seconds,
// of the requests scheduled after the warm-up.
// `sent_late`, when given, gets how long after its scheduled time each counted request was
// written: the generator's own delay (a tick, a connection, its wait for a CPU), which the
// latency includes as a client on a busy machine would see it.
std::vector<double> Latencies(uint16_t port, int connections, double rate, double seconds, double warmup,
                              std::chrono::microseconds tick, std::vector<double>* sent_late = nullptr) {
  Clients clients(port, connections);
  const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  clients.Watch(timer, Clients::kTimerTag);
  const auto start = SteadyClock::now() + std::chrono::milliseconds(50);
  const auto interval = std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(1.0 / rate));
  const uint64_t total = static_cast<uint64_t>(rate * (seconds + warmup));
  const auto counted_from = start + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(warmup));
  uint64_t done = 0;
  std::vector<SteadyClock::time_point> scheduled_on(clients.size());
  std::vector<size_t> idle;
  for (size_t i = 0; i < clients.size(); ++i) idle.push_back(clients.size() - 1 - i);
  std::vector<double> latencies;
  latencies.reserve(total);
  uint64_t sent = 0;
  {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count();
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
    const auto tick_ns = std::chrono::nanoseconds(tick).count();
    spec.it_interval.tv_sec = static_cast<time_t>(tick_ns / 1000000000);
    spec.it_interval.tv_nsec = static_cast<long>(tick_ns % 1000000000);
    if (timerfd_settime(timer, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
      std::perror("timerfd_settime");
      std::exit(1);
    }
  }
  // Sends every event whose time has come, while a connection is idle.
  auto send_due = [&] {
    const auto now = SteadyClock::now();
    while (sent < total && !idle.empty()) {
      const auto at = start + interval * static_cast<int64_t>(sent);
      if (at > now) return;
      const size_t i = idle.back();
      idle.pop_back();
      scheduled_on[i] = at;
      if (sent_late && at >= counted_from) sent_late->push_back(std::chrono::duration<double>(now - at).count());
      ++sent;
      clients.Send(i);
    }
  };
  auto on_done = [&](size_t i, int) {
    ++done;
    if (scheduled_on[i] >= counted_from) {
      latencies.push_back(std::chrono::duration<double>(SteadyClock::now() - scheduled_on[i]).count());
    }
    idle.push_back(i);
    send_due();  // an event late for want of a connection goes now
  };
  auto on_timer = [&] {
    uint64_t expirations = 0;
    if (read(timer, &expirations, sizeof expirations) < 0) {}
    send_due();
  };
  const auto give_up =
      start + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(warmup + seconds + 10));
  while (done < total && SteadyClock::now() < give_up) clients.Poll(100, on_done, on_timer);
  close(timer);
  // A request never answered (or never sent) counts as infinitely late, not as absent: the
  // percentiles then show it (the warm-up's share left out as for the answered ones).
  const uint64_t unanswered = total - done;
  const double counted_share = (seconds) / (seconds + warmup);
  for (uint64_t i = 0; i < static_cast<uint64_t>(static_cast<double>(unanswered) * counted_share + 0.5); ++i)
    latencies.push_back(std::numeric_limits<double>::infinity());
  if (unanswered > 0) std::fprintf(stderr, "latency run: %llu requests unanswered\n", static_cast<unsigned long long>(unanswered));
  std::sort(latencies.begin(), latencies.end());
  if (sent_late) std::sort(sent_late->begin(), sent_late->end());
  return latencies;
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
  int rounds = 3, latency_connections = 256, io_threads = 1;
  int64_t batch_delay_us = 0;
  int64_t delivery_chunk = reach::engine::EngineService::kDeliveryChunk;
  int64_t min_fsync_interval_us = reach::storage::StoreOptions{}.min_fsync_interval_us;
  int64_t latency_tick_us = 500;  // the open-loop generator's send tick
  int latency_runs = 3;           // latency runs at the reduced load (their p99s' median is the figure)
  double latency_load = 0.5;  // the latency run's rate, as a fraction of the full stack's
  std::string cpus_arg;       // --cpus ROLE=LIST, repeated: threads bound to CPUs (cpu_affinity)
  double latency_rate = 0;    // > 0: the latency run's rate in events/s, whatever the rounds gave
  std::vector<int> connection_counts = {256, 1024};
  std::string connections_arg = "256,1024";
  bool overlap_sync = true;
  bool keep = false;       // leave the store's directory behind
  bool full_only = false;  // for profiling the full stack alone: no bare rounds, no latency run
  bool answer_on_sync = false;  // events' `done`s on the store's sync thread, not the io thread
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--inline-sync") {
      overlap_sync = false;
      continue;
    }
    if (a == "--keep") {
      keep = true;
      continue;
    }
    if (a == "--full-only") {
      full_only = true;
      continue;
    }
    if (a == "--answer-on-sync") {
      answer_on_sync = true;
      continue;
    }
    if (i + 1 >= argc) break;
    if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
    else if (a == "--connections") {
      connections_arg = argv[i + 1];
      connection_counts.clear();
      for (size_t at = 0; at < connections_arg.size();) {
        const size_t comma = std::min(connections_arg.find(',', at), connections_arg.size());
        const int n = std::atoi(connections_arg.substr(at, comma - at).c_str());
        if (n > 0) connection_counts.push_back(n);
        at = comma + 1;
      }
      if (connection_counts.empty()) return 2;
    }
    else if (a == "--latency-connections") latency_connections = std::atoi(argv[i + 1]);
    else if (a == "--latency-runs") latency_runs = std::max(1, std::atoi(argv[i + 1]));
    else if (a == "--io-threads") io_threads = std::atoi(argv[i + 1]);
    else if (a == "--batch-delay-us") batch_delay_us = std::atoll(argv[i + 1]);
    else if (a == "--delivery-chunk") delivery_chunk = std::max<int64_t>(0, std::atoll(argv[i + 1]));
    else if (a == "--min-fsync-interval-us") min_fsync_interval_us = std::atoll(argv[i + 1]);
    else if (a == "--latency-load") latency_load = std::atof(argv[i + 1]);
    else if (a == "--latency-rate") latency_rate = std::atof(argv[i + 1]);
    else if (a == "--cpus") {
      if (reach::Status s = reach::SetRoleCpus(argv[i + 1]); !s.ok()) {
        std::fprintf(stderr, "--cpus: %s\n", s.message().c_str());
        return 2;
      }
      cpus_arg += std::string(" --cpus ") + argv[i + 1];
    }
    else if (a == "--latency-tick-us") latency_tick_us = std::max<int64_t>(1, std::atoll(argv[i + 1]));
    ++i;
  }
  std::printf(
      "command: build/bench/ingest_bench --seconds %g --rounds %d --connections %s --latency-connections %d "
      "--latency-%s %g --latency-tick-us %lld --latency-runs %d --io-threads %d --batch-delay-us %lld "
      "--min-fsync-interval-us %lld --delivery-chunk %lld%s%s%s\n",
      seconds, rounds, connections_arg.c_str(), latency_connections, latency_rate > 0 ? "rate" : "load",
      latency_rate > 0 ? latency_rate : latency_load,
      static_cast<long long>(latency_tick_us), latency_runs, io_threads, static_cast<long long>(batch_delay_us),
      static_cast<long long>(min_fsync_interval_us), static_cast<long long>(delivery_chunk),
      overlap_sync ? "" : " --inline-sync", answer_on_sync ? " --answer-on-sync" : "", cpus_arg.c_str());

  // The full stack.
  std::string dir = (std::filesystem::temp_directory_path() / "reach-ingest-XXXXXX").string();
  if (!mkdtemp(dir.data())) return 1;
  const std::string disk = reach::bench::DiskOf(dir);  // its /proc/diskstats name, for the latency runs
  reach::storage::StoreOptions so;
  so.path = dir + "/reach.db";
  so.overlap_sync = overlap_sync;
  so.max_batch_delay_us = batch_delay_us;
  so.min_fsync_interval_us = min_fsync_interval_us;
  // Each batch's time from BEGIN to durable during the latency run (on the sync thread).
  std::mutex commit_mutex;
  std::vector<double> commit_times, sync_times;
  // When each WAL fsync and each checkpoint ran (steady clock, µs), to tell the slow fsyncs that
  // ran beside a checkpoint (docs/benchmarks.md, session 11).
  struct Span {
    int64_t from, to;
    bool by_writer;
  };
  std::vector<Span> sync_spans, checkpoint_spans;
  const auto span_ending_now = [](int64_t micros, bool by_writer) {
    const int64_t now =
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now().time_since_epoch()).count();
    return Span{now - micros, now, by_writer};
  };
  std::atomic<bool> recording_commits{false};
  so.on_sync = [&](int64_t micros) {
    if (!recording_commits.load(std::memory_order_relaxed)) return;
    const Span span = span_ending_now(micros, false);
    std::lock_guard<std::mutex> lock(commit_mutex);
    sync_times.push_back(static_cast<double>(micros) / 1e6);
    sync_spans.push_back(span);
  };
  so.on_checkpoint = [&](bool by_writer, int64_t micros) {
    if (!recording_commits.load(std::memory_order_relaxed)) return;
    const Span span = span_ending_now(micros, by_writer);
    std::lock_guard<std::mutex> lock(commit_mutex);
    checkpoint_spans.push_back(span);
  };
  so.on_commit = [&](size_t, int64_t micros) {
    if (!recording_commits.load(std::memory_order_relaxed)) return;
    std::lock_guard<std::mutex> lock(commit_mutex);
    commit_times.push_back(static_cast<double>(micros) / 1e6);
  };
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
  ho.io_threads = io_threads;  // Reach's servers; the plain Beast baseline runs one thread
  // The full stack counts each request as `reach serve` does (the transport alone does not).
  reach::server::HttpMetrics http_metrics(metrics);
  reach::server::HttpServerOptions full_options = ho;
  full_options.on_response = [&http_metrics](const reach::server::HttpRequest& r, int status, double seconds) {
    http_metrics.Observe(r, status, seconds);
  };
  reach::server::HttpServer full(full_options, api);
  PlainBeastServer bare;
  // Reach's own HTTP layer answering 202 at once: what the full stack pays for the transport
  // alone (timeouts, limits, request ids, metrics), next to the plain Beast baseline.
  BareHandler transport_handler;
  reach::server::HttpServer transport(ho, transport_handler);
  if (!full.Start().ok() || !transport.Start().ok()) return 1;
  // As `reach serve` does: events are answered on the io thread (EngineService::set_event_delivery).
  service.set_delivery_chunk(static_cast<size_t>(delivery_chunk));
  if (!answer_on_sync) service.set_event_delivery([&full](std::function<void()> fn) { full.Post(std::move(fn)); });

  std::vector<double> full_rates, bare_rates, transport_rates;
  uint64_t errs = 0;
  for (int r = 0; r < rounds; ++r) {
    double best_bare = 0, best_full = 0, best_transport = 0;
    for (const int connections : connection_counts) {
      double bare_cpu = 0, full_cpu = 0, transport_cpu = 0;
      const double bare_rate = full_only ? 1 : MaxRate(bare.port(), connections, seconds, errs, bare_cpu);
      const double transport_rate =
          full_only ? 1 : MaxRate(transport.port(), connections, seconds, errs, transport_cpu);
      const auto before = (*store)->counters();
      const auto wal_before = reach::storage::WalVfsCountersNow();
      const auto threads_before = reach::bench::ThreadTimes();
      const double full_rate = MaxRate(full.port(), connections, seconds, errs, full_cpu);
      const auto threads = reach::bench::ThreadTimesSince(threads_before, reach::bench::ThreadTimes());
      const auto after = (*store)->counters();
      const auto wal_after = reach::storage::WalVfsCountersNow();
      best_bare = std::max(best_bare, bare_rate);
      best_transport = std::max(best_transport, transport_rate);
      best_full = std::max(best_full, full_rate);
      const double batches = static_cast<double>(after.batches - before.batches);
      const double jobs = static_cast<double>(after.jobs - before.jobs);
      std::printf("round %d, %4d connections: bare %.0f req/s (%.1f us cpu/req), Reach transport %.0f req/s (%.1f us), "
                  "full %.0f events/s (%.1f us cpu/event; "
                  "%.1f jobs per commit, %.2f ms from BEGIN to durable, %.1f WAL pages per event, %llu checkpoints)\n",
                  r + 1, connections, bare_rate, bare_cpu, transport_rate, transport_cpu, full_rate, full_cpu,
                  batches > 0 ? jobs / batches : 0.0,
                  batches > 0 ? static_cast<double>(after.commit_micros_total - before.commit_micros_total) / batches / 1e3
                              : 0.0,
                  jobs > 0 ? reach::bench::WalPages(wal_before, wal_after) / jobs : 0.0,
                  static_cast<unsigned long long>(after.checkpoints + after.writer_checkpoints - before.checkpoints -
                                                  before.writer_checkpoints));
      // Where the full stack's CPU went, per event the writer ran (the warm-up included).
      std::string per_event;
      for (const auto& t : threads) {
        if (t.run_ms < 1 || jobs <= 0) continue;
        char buf[96];
        std::snprintf(buf, sizeof buf, "%s%s %.1f", per_event.empty() ? "" : ", ", t.name.c_str(), t.run_ms * 1e3 / jobs);
        per_event += buf;
      }
      std::printf("         full stack, us on a CPU per event by thread: %s\n", per_event.c_str());
    }
    bare_rates.push_back(best_bare);
    transport_rates.push_back(best_transport);
    full_rates.push_back(best_full);
    std::printf("round %d: best bare %.0f req/s, best Reach transport %.0f req/s, best full %.0f events/s, ratio %.2f "
                "(to the transport %.2f)\n",
                r + 1, best_bare, best_transport, best_full, best_full / best_bare, best_full / best_transport);
    std::fflush(stdout);
  }
  double f = Median(full_rates), b = Median(bare_rates);
  // Each round measures bare and full back to back, so the ratio within a round shares the
  // VM's speed of that minute; its median moves less than the ratio of the two medians.
  std::vector<double> ratios, transport_ratios;
  for (size_t r = 0; r < full_rates.size(); ++r) {
    ratios.push_back(full_rates[r] / bare_rates[r]);
    transport_ratios.push_back(full_rates[r] / transport_rates[r]);
  }
  std::printf("\ndurable ingest (condition -> sandbox send -> wait, synchronous=FULL, fsync %s): median %.0f events/s\n",
              overlap_sync ? "overlapped" : "in COMMIT", f);
  std::printf("bare Beast server answering 202:                                    median %.0f req/s\n", b);
  std::printf("Reach's HTTP layer answering 202 (no parsing, no store):            median %.0f req/s "
              "(full / it: median of per-round ratios %.2f)\n",
              Median(transport_rates), Median(transport_ratios));
  std::printf("ratio full / bare: %.2f (median of per-round ratios %.2f)   (errors: %llu, sends rendered: %llu)\n",
              f / b, Median(ratios),
              static_cast<unsigned long long>(errs), static_cast<unsigned long long>(sink.sends.load()));

  const auto before_latency = (*store)->counters();
  // Steady state at half load, not the aftermath of the saturated rounds: a pause for the
  // checkpointer and the kernel's writeback to finish, then a second at the rate that is not
  // counted (as wrk2 calibrates before it records).
  // Several runs, each against the full stack then the bare server with the same schedule; the
  // goal is read on the median of the runs' p99s (one run's tail moves with the VM's minute as
  // much as with the server), and every run's figures and all requests pooled are printed too.
  std::vector<double> lat, bare_lat;  // every run's latencies, pooled
  std::vector<double> sent_late;      // every run's sends to the full stack: how late they went
  std::vector<double> p50s, p99s, bare_p50s, bare_p99s;
  std::string latency_threads;
  if (latency_rate > 0 && f > 0) latency_load = latency_rate / f;
  const double latency_events_per_s = f * latency_load;
  auto print_run = [](const std::vector<double>& l) {
    std::printf("p50 %.2f ms, p99 %.2f ms (p90 %.2f, p99.9 %.2f, max %.2f ms)", Percentile(l, 0.5) * 1e3,
                Percentile(l, 0.99) * 1e3, Percentile(l, 0.9) * 1e3, Percentile(l, 0.999) * 1e3,
                l.empty() ? 0 : l.back() * 1e3);
  };
  if (!full_only) {
    std::printf("\nlatency at %.0f %% load (%.0f events/s, open loop over %d connections, sent on a %lld us tick, "
                "%d runs of %g s after a 1 s warm-up each):\n",
                latency_load * 100, latency_events_per_s, latency_connections, static_cast<long long>(latency_tick_us),
                latency_runs, seconds);
    std::vector<reach::bench::ThreadTime> threads_total;
    for (int run = 0; run < latency_runs; ++run) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const auto before_run = (*store)->counters();
      const auto wal_before_run = reach::storage::WalVfsCountersNow();
      const reach::bench::DiskCounters disk_before_run = reach::bench::DiskCountersNow(disk);
      recording_commits = true;
      const auto threads_before = reach::bench::ThreadTimes();
      std::vector<double> late;
      std::vector<double> l = Latencies(full.port(), latency_connections, latency_events_per_s, seconds, 1.0,
                                        std::chrono::microseconds(latency_tick_us), &late);
      recording_commits = false;
      const auto threads = reach::bench::ThreadTimesSince(threads_before, reach::bench::ThreadTimes());
      for (const reach::bench::ThreadTime& t : threads) {
        auto it = std::find_if(threads_total.begin(), threads_total.end(),
                               [&](const reach::bench::ThreadTime& u) { return u.name == t.name; });
        if (it == threads_total.end()) it = threads_total.insert(threads_total.end(), reach::bench::ThreadTime{t.name});
        it->run_ms += t.run_ms;
        it->wait_ms += t.wait_ms;
      }
      const auto after_run = (*store)->counters();
      const auto wal_after_run = reach::storage::WalVfsCountersNow();
      const reach::bench::DiskCounters disk_after_run = reach::bench::DiskCountersNow(disk);
      // The same schedule against the bare server: the latency the machine, loopback TCP and
      // the generator add on their own.
      std::vector<double> b = Latencies(bare.port(), latency_connections, latency_events_per_s, seconds, 1.0,
                                        std::chrono::microseconds(latency_tick_us));
      const double run_batches = static_cast<double>(after_run.batches - before_run.batches);
      std::printf("  run %d: ", run + 1);
      print_run(l);
      std::printf(", %.1f jobs and %.1f WAL pages per commit; bare server ",
                  run_batches > 0 ? static_cast<double>(after_run.jobs - before_run.jobs) / run_batches : 0.0,
                  run_batches > 0 ? reach::bench::WalPages(wal_before_run, wal_after_run) / run_batches : 0.0);
      print_run(b);
      std::printf("\n         the generator's sends to the full stack after their scheduled time: p50 %.2f, "
                  "p99 %.2f ms\n",
                  Percentile(late, 0.5) * 1e3, Percentile(late, 0.99) * 1e3);
      if (!disk.empty()) {
        // The run's time and requests: its warm-up second and its counted seconds.
        const double run_seconds = seconds + 1.0;
        const double requests = latency_events_per_s * run_seconds;
        const auto bytes = static_cast<double>(disk_after_run.bytes_written - disk_before_run.bytes_written);
        const auto flushes = static_cast<double>(disk_after_run.flushes - disk_before_run.flushes);
        std::printf("         disk %s over the run: %.1f KB written, %.2f write requests and %.2f flushes per "
                    "event (%.0f MB/s, %.0f flushes/s)\n",
                    disk.c_str(), bytes / 1e3 / requests,
                    static_cast<double>(disk_after_run.writes - disk_before_run.writes) / requests, flushes / requests,
                    bytes / 1e6 / run_seconds, flushes / run_seconds);
      }
      std::fflush(stdout);
      sent_late.insert(sent_late.end(), late.begin(), late.end());
      p50s.push_back(Percentile(l, 0.5));
      p99s.push_back(Percentile(l, 0.99));
      bare_p50s.push_back(Percentile(b, 0.5));
      bare_p99s.push_back(Percentile(b, 0.99));
      lat.insert(lat.end(), l.begin(), l.end());
      bare_lat.insert(bare_lat.end(), b.begin(), b.end());
    }
    std::sort(lat.begin(), lat.end());
    std::sort(bare_lat.begin(), bare_lat.end());
    latency_threads = reach::bench::FormatThreadTimes(threads_total, "");
  }
  const auto after_latency = (*store)->counters();
  const double latency_batches = static_cast<double>(after_latency.batches - before_latency.batches);
  std::string run_p99s;
  for (const double p : p99s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.2f", run_p99s.empty() ? "" : " / ", p * 1e3);
    run_p99s += buf;
  }
  std::printf("median of the %zu runs: p50 %.2f ms, p99 %.2f ms (the runs' p99s: %s ms)\n", p99s.size(),
              p50s.empty() ? 0 : Median(p50s) * 1e3, p99s.empty() ? 0 : Median(p99s) * 1e3, run_p99s.c_str());
  std::printf("all runs' %zu requests pooled: ", lat.size());
  print_run(lat);
  std::sort(sent_late.begin(), sent_late.end());
  std::printf("\n  (sent after their scheduled time, counted in the above: p50 %.2f ms, p90 %.2f, p99 %.2f, max %.2f ms; "
              "its ticks and the time it did not run: CPUs the server held, or the VM's vCPUs stalled)",
              Percentile(sent_late, 0.5) * 1e3, Percentile(sent_late, 0.9) * 1e3, Percentile(sent_late, 0.99) * 1e3,
              sent_late.empty() ? 0 : sent_late.back() * 1e3);
  std::printf("\n  (%.1f jobs per commit, %.2f ms from BEGIN to durable)\n",
              latency_batches > 0 ? static_cast<double>(after_latency.jobs - before_latency.jobs) / latency_batches : 0.0,
              latency_batches > 0
                  ? static_cast<double>(after_latency.commit_micros_total - before_latency.commit_micros_total) /
                        latency_batches / 1e3
                  : 0.0);
  {
    std::lock_guard<std::mutex> lock(commit_mutex);
    std::sort(commit_times.begin(), commit_times.end());
    std::printf("  each batch from BEGIN to durable: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%zu batches)\n",
                Percentile(commit_times, 0.5) * 1e3, Percentile(commit_times, 0.9) * 1e3,
                Percentile(commit_times, 0.99) * 1e3, commit_times.empty() ? 0 : commit_times.back() * 1e3,
                commit_times.size());
    std::sort(sync_times.begin(), sync_times.end());
    std::printf("  each fdatasync of the WAL:        p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%zu fsyncs)\n",
                Percentile(sync_times, 0.5) * 1e3, Percentile(sync_times, 0.9) * 1e3, Percentile(sync_times, 0.99) * 1e3,
                sync_times.empty() ? 0 : sync_times.back() * 1e3, sync_times.size());
    std::vector<double> by_checkpointer, by_writer;
    for (const Span& c : checkpoint_spans) (c.by_writer ? by_writer : by_checkpointer).push_back((c.to - c.from) / 1e3);
    std::sort(by_checkpointer.begin(), by_checkpointer.end());
    std::sort(by_writer.begin(), by_writer.end());
    size_t slow_syncs = 0, slow_beside_checkpoint = 0;
    for (const Span& f : sync_spans) {
      if (f.to - f.from <= 5000) continue;
      ++slow_syncs;
      for (const Span& c : checkpoint_spans) {
        if (c.from < f.to && f.from < c.to) {
          ++slow_beside_checkpoint;
          break;
        }
      }
    }
    std::printf("  checkpoints: %zu by the checkpointer (p50 %.2f ms, max %.2f ms), %zu by the writer (max %.2f ms); "
                "WAL fsyncs over 5 ms: %zu, of them %zu beside a checkpoint\n",
                by_checkpointer.size(), Percentile(by_checkpointer, 0.5),
                by_checkpointer.empty() ? 0 : by_checkpointer.back(), by_writer.size(),
                by_writer.empty() ? 0 : by_writer.back(), slow_syncs, slow_beside_checkpoint);
  }
  std::printf("  threads over the runs, ms on a CPU / ms waiting for one: %s\n", latency_threads.c_str());
  std::printf("bare server, same schedules: median of the runs p50 %.2f ms, p99 %.2f ms; pooled ",
              bare_p50s.empty() ? 0 : Median(bare_p50s) * 1e3, bare_p99s.empty() ? 0 : Median(bare_p99s) * 1e3);
  print_run(bare_lat);
  std::printf("\n");

  full.Shutdown(std::chrono::milliseconds(2000));
  service.set_event_delivery(nullptr);
  transport.Shutdown(std::chrono::milliseconds(2000));
  service.Stop();
  (*store)->Close();
  if (keep) {
    std::printf("store kept: %s\n", so.path.c_str());
    return 0;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
