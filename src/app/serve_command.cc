#include "app/serve_command.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include <boost/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/heap.h"
#include "common/log_format.h"
#include "common/thread_name.h"
#include "dsl/flow_compiler.h"
#include "engine/engine.h"
#include "engine/engine_service.h"
#include "nodes/builtin_kinds.h"
#include "server/api_handler.h"
#include "server/config.h"
#include "server/http_metrics.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/systemd_notify.h"
#include "storage/sqlite_store.h"

namespace reach::app {
namespace {

namespace json = boost::json;
using Files = std::vector<std::pair<std::string, std::string>>;

// Sandbox mode: every send is fully built and recorded (logged and counted), never delivered.
class SandboxSink final : public engine::SendSink {
 public:
  explicit SandboxSink(server::CounterFamily& sends) : sends_(sends) {}
  bool Accept(storage::StoreTxn& txn, const storage::ExecutionRecord& e, const std::string& key,
              const engine::SendRequest& r, std::string&) override {
    // Recorded once the step is durable (a job the store runs again records it once).
    txn.AfterCommit([this, line = fmt::format("send mode=sandbox channel={} node={} execution={} key={} request={}",
                                              r.channel, r.node, e.id, key, json::serialize(r.payload)),
                     channel = r.channel] {
      sends_.WithLabels({channel, "sandbox"}).Inc();
      spdlog::info("{}", line);
    });
    return true;
  }

 private:
  server::CounterFamily& sends_;
};

// spdlog flag `%*`: the syslog priority of the message's level (3 error ... 7 debug).
class SyslogPriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    char p = '6';
    switch (msg.level) {
      case spdlog::level::critical: p = '2'; break;
      case spdlog::level::err: p = '3'; break;
      case spdlog::level::warn: p = '4'; break;
      case spdlog::level::info: p = '6'; break;
      default: p = '7';
    }
    dest.push_back(p);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SyslogPriorityFlag>(); }
};

// spdlog flag `%q`: the message with every control character escaped (EscapeLogText), so that
// one call writes one line whatever its values hold (a request path decoded from %0A, an error
// quoting a file): journald takes each line for an entry of its own, and a leading <N> for its
// priority.
class OneLineMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    bool plain = true;
    for (char c : payload) plain = plain && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
    if (plain) {
      dest.append(payload.data(), payload.data() + payload.size());
      return;
    }
    std::string escaped;
    EscapeLogText(payload, escaped);
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<OneLineMessageFlag>(); }
};

// The "error" of a JSON answer's body ({"error": "...", ...}), else the body itself.
std::string ErrorOfAnswer(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object())
    if (const json::value* e = v.as_object().if_contains("error"); e && e->is_string()) return std::string(e->as_string());
  return body;
}

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// Reads the flow files of `paths` (directories: their *.yaml), compiling them to check. On
// error prints every diagnostic and returns false.
bool ReadFlows(const std::vector<std::string>& paths, Files& files, std::string& errors,
               std::vector<std::string>* flow_names = nullptr) {
  dsl::FlowCompiler compiler(nodes::BuiltinKinds());
  for (const std::string& p : paths) {
    if (!std::filesystem::exists(p)) {
      errors = p + ": no such file or directory\n";
      return false;
    }
    if (Status s = compiler.AddPath(p); !s.ok()) {
      errors = s.message() + "\n";
      return false;
    }
  }
  dsl::Diagnostics diags;
  auto graph = compiler.Compile(diags);
  if (!graph) {
    errors = diags.Format(compiler.sources());
    return false;
  }
  if (flow_names)
    for (const auto& f : graph->files()) flow_names->push_back(f.name);
  for (uint32_t i = 0; i < compiler.sources().size(); ++i)
    files.emplace_back(compiler.sources().name(i), compiler.sources().text(i));
  return true;
}

// The flow set to run: the stored one with the files from disk replacing theirs (flows deployed
// through the API stay), deployed when it differs from the stored one.
Status DeployFromDisk(storage::Store& store, engine::Engine& engine, const Files& disk,
                      const std::vector<std::string>& disk_flows, std::string& errors, bool& changed) {
  changed = false;
  return store.Write([&](storage::StoreTxn& txn) -> Status {
    Files files = disk;
    if (auto graph = engine.current()) {
      auto set = txn.GetFlowSet(graph->version());
      if (!set.ok()) return set.status();
      if (*set)
        for (const json::value& f : (*set)->files) {
          const json::object& o = f.as_object();
          std::string path(o.at("path").as_string());
          if (path.rfind("api/", 0) != 0) continue;
          // A flow file on disk wins over an API-deployed flow of the same name.
          const json::value* name = o.if_contains("name");
          if (name && name->is_string() &&
              std::find(disk_flows.begin(), disk_flows.end(), std::string(name->as_string())) != disk_flows.end()) {
            spdlog::warn("flow name={} source=disk replaces={}", LogValue(name->as_string()), LogQuoted(path));
            continue;
          }
          files.emplace_back(path, std::string(o.at("text").as_string()));
        }
    }
    std::string before = engine.current() ? engine.current()->version() : "";
    Status s = engine.Deploy(txn, files, errors);
    if (s.ok()) changed = engine.current()->version() != before;
    return s;
  });
}

// cpu_affinity: each role's CPUs must be ones this process may use (a cgroup or systemd's
// CPUAffinity= may have narrowed them); then every thread of that role is bound as it starts.
Status BindThreadsToCpus(const server::CpuAffinityConfig& affinity) {
  const std::vector<int> allowed = AllowedCpus();
  for (const auto& [role, cpus] : affinity.ByRole()) {
    for (int cpu : *cpus)
      if (!std::binary_search(allowed.begin(), allowed.end(), cpu))
        return Status::Invalid("cpu_affinity." + std::string(role) + ": CPU " + std::to_string(cpu) +
                               " is not one this process may run on (allowed: " + FormatCpuList(allowed) + ")");
  }
  for (const auto& [role, cpus] : affinity.ByRole()) SetThreadCpus(ThreadNameOfRole(role), *cpus);
  return Status::Ok();
}

}  // namespace

int Serve(const ServeArgs& args) {
  // Logs: one line per event, key=value fields, to stderr; journald adds the time, so a
  // timestamp is printed only when stderr is a terminal.
  auto logger = spdlog::stderr_logger_mt("reach");
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<OneLineMessageFlag>('q');
  if (isatty(2)) {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %q");
  } else {
    // journald reads a leading <N> as the syslog priority (and adds the time itself).
    formatter->add_flag<SyslogPriorityFlag>('*').set_pattern("<%*>%l %q");
  }
  logger->set_formatter(std::move(formatter));
  spdlog::set_default_logger(logger);

  auto config_result = server::LoadConfig(args.config);
  if (!config_result.ok()) {
    std::cerr << config_result.status().message() << "\n";
    return 1;
  }
  server::Config config = std::move(*config_result);
  if (!args.listen.empty()) config.listen = args.listen;
  if (!args.db.empty()) config.db = args.db;
  if (!args.flows.empty()) config.flows = args.flows;
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (args.print_config) {
    std::cout << config.Redacted() << "\n";
    return 0;
  }
  std::string host;
  uint16_t port = 0;
  if (Status s = server::ParseListen(config.listen, host, port); !s.ok()) {
    std::cerr << "reach serve: listen: " << s.message() << "\n";
    return 1;
  }
  if (config.api_keys.empty() && !IsLoopback(host)) {
    std::cerr << "reach serve: no API key is configured, so Reach listens on loopback only; set REACH_API_KEY "
                 "(or api_keys in the config) to listen on "
              << config.listen << "\n";
    return 1;
  }
  if (config.api_keys.empty()) spdlog::warn("auth=none reason=\"no API key configured\" listen={} (loopback only)", config.listen);

  Files disk;
  std::vector<std::string> disk_flows;
  std::string errors;
  if (!ReadFlows(config.flows, disk, errors, &disk_flows)) {
    std::cerr << errors;
    return 1;
  }

  // Signals are taken by the main thread only (sigtimedwait); every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  server::MetricsRegistry metrics;
  auto& commit_jobs = metrics.AddHistogram("reach_commit_batch_jobs", "Jobs per committed transaction",
                                           {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000});
  auto& commit_seconds = metrics.AddHistogram("reach_commit_seconds", "Time to run and commit a batch",
                                              {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1});
  auto& fsync_seconds = metrics.AddHistogram("reach_wal_fsync_seconds", "Time of each fsync of the WAL (one covers every commit since the last)",
                                             {0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1});
  auto& checkpoint_seconds = metrics.AddHistogram(
      "reach_store_checkpoint_seconds",
      "Time of each WAL checkpoint (copy into the database file and its fsync), by who ran it",
      {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5}, {"by"});
  for (const char* by : {"checkpointer", "writer"}) checkpoint_seconds.WithLabels({by});  // at 0 from the start
  server::HttpMetrics http_metrics(metrics);
  auto& steps = metrics.AddCounter("reach_steps_total", "Finished node steps, by node kind and result",
                                   {"kind", "result"});
  auto& sends = metrics.AddCounter("reach_sends_total", "Sends handed to channels", {"channel", "mode"});

  std::filesystem::path db_path(config.db);
  if (db_path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(db_path.parent_path(), ec);
  }
  if (Status s = BindThreadsToCpus(config.cpu_affinity); !s.ok()) {
    std::cerr << "reach serve: " << (config.source.empty() ? "" : config.source + ": ") << s.message() << "\n";
    return 1;
  }
  storage::StoreOptions store_options;
  store_options.path = config.db;
  store_options.max_batch_jobs = config.store.max_batch_jobs;
  store_options.max_batch_delay_us = config.store.max_batch_delay_us;
  store_options.synchronous_full = config.store.synchronous_full;
  store_options.overlap_sync = config.store.fsync_overlapped;
  store_options.min_fsync_interval_us = config.store.min_fsync_interval_us;
  store_options.writer_cache_mb = config.store.writer_cache_mb;
  store_options.event_wait_sweep_min_stale = config.store.event_wait_sweep_min_stale;
  store_options.event_wait_sweep_chunk = config.store.event_wait_sweep_chunk;
  store_options.on_commit = [&](size_t jobs, int64_t micros) {
    commit_jobs.Get().Observe(static_cast<double>(jobs));
    commit_seconds.Get().Observe(static_cast<double>(micros) / 1e6);
  };
  store_options.on_sync = [&](int64_t micros) { fsync_seconds.Get().Observe(static_cast<double>(micros) / 1e6); };
  store_options.on_checkpoint = [&](bool by_writer, int64_t micros) {
    checkpoint_seconds.WithLabels({by_writer ? "writer" : "checkpointer"}).Observe(static_cast<double>(micros) / 1e6);
  };
  auto store_result = storage::OpenSqliteStore(store_options);
  if (!store_result.ok()) {
    std::cerr << "reach serve: " << config.db << ": " << store_result.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<storage::Store> store = std::move(*store_result);

  engine::SystemClock clock;
  SandboxSink sink(sends);
  engine::Engine engine(nodes::BuiltinKinds(), nodes::BuiltinExecutors(), clock, &sink);
  engine.set_step_observer([&](const std::string& kind, bool failed) {
    steps.WithLabels({kind, failed ? "failed" : "ok"}).Inc();
  });
  engine::EngineService service(*store, engine, clock);
  service.set_on_round_failed([](const char* what, const Status& s) {
    if (s.ok()) {
      spdlog::info("timer thread recovered work={}", what);
    } else {
      spdlog::error("timer thread round failed work={} code={} reason={}", what, StatusCodeName(s.code()),
                    LogQuoted(s.message()));
    }
  });
  service.set_on_fanout_skipped([](const std::string& user_id, const std::string& reason) {
    spdlog::warn("fanout skipped user={} reason={}", LogValue(user_id), LogQuoted(reason));
  });
  service.set_on_unrunnable([](int64_t id, const std::string& reason) {
    spdlog::error("execution failed unrunnable execution={} reason={}", id, LogQuoted(reason));
  });
  if (Status s = service.Start(); !s.ok()) {
    std::cerr << "reach serve: loading flows from the store: " << s.message() << "\n";
    return 1;
  }
  bool changed = false;
  if (Status s = DeployFromDisk(*store, engine, disk, disk_flows, errors, changed); !s.ok()) {
    std::cerr << (errors.empty() ? s.message() + "\n" : errors);
    return 1;
  }
  spdlog::info("flows loaded set_version={} chains={} deployed={} db={}", engine.current()->version(),
               engine.current()->chains().size(), changed, config.db);

  // Gauges read at scrape time (on a reader thread).
  metrics.AddCollector([&](std::string& out) {
    auto g = store->NewReader()->GetGauges();
    if (!g.ok()) return;
    out += "# HELP reach_executions Executions by status\n# TYPE reach_executions gauge\n";
    for (int i = 0; i < 5; ++i) {
      out += "reach_executions{status=\"" +
             std::string(storage::ExecutionStatusName(static_cast<storage::ExecutionStatus>(i))) + "\"} " +
             std::to_string(g->executions_by_status[i]) + "\n";
    }
    out += "# HELP reach_waits_pending Waits for an event not yet resolved (an execution may hold several)\n# TYPE reach_waits_pending gauge\n";
    out += "reach_waits_pending " + std::to_string(g->waits) + "\n";
    out += "# HELP reach_timers_pending Timers not yet fired\n# TYPE reach_timers_pending gauge\n";
    out += "reach_timers_pending " + std::to_string(g->timers) + "\n";
    out += "# HELP reach_waits_stale Wait entries fired timers left for the store's sweep\n# TYPE reach_waits_stale gauge\n";
    out += "reach_waits_stale " + std::to_string(g->stale_waits) + "\n";
    const auto& c = service.counters();
    out += "# HELP reach_timer_lag_seconds How late the last batch of timers fired\n# TYPE reach_timer_lag_seconds gauge\n";
    out += "reach_timer_lag_seconds " + std::to_string(static_cast<double>(c.timer_lag_ms.load()) / 1000.0) + "\n";
    out += "# HELP reach_timers_fired_total Timers fired\n# TYPE reach_timers_fired_total counter\n";
    out += "reach_timers_fired_total " + std::to_string(c.timers_fired.load()) + "\n";
    out += "# HELP reach_timer_rounds_failed_total Rounds of the timer thread (timers, schedules, fan-outs) that failed (retried after the longest sleep)\n"
           "# TYPE reach_timer_rounds_failed_total counter\n";
    out += "reach_timer_rounds_failed_total " + std::to_string(c.timer_rounds_failed.load()) + "\n";
    out += "# HELP reach_executions_unrunnable_total Executions ended as failed because their run after a timer "
           "failed on every try, or their resume on an event failed (stored data that does not parse, a bug)\n"
           "# TYPE reach_executions_unrunnable_total counter\n";
    out += "reach_executions_unrunnable_total " + std::to_string(c.executions_unrunnable.load()) + "\n";
    out += "# HELP reach_fanout_users_skipped_total Users an audience fan-out passed over because their stored row "
           "does not read\n# TYPE reach_fanout_users_skipped_total counter\n";
    out += "reach_fanout_users_skipped_total " + std::to_string(c.fanout_users_skipped.load()) + "\n";
    out += "# HELP reach_timer_runs_ahead_total Runs after a timer done by the timer thread ahead of the writer: written as "
           "recorded, or redone on the writer (the execution changed in between)\n"
           "# TYPE reach_timer_runs_ahead_total counter\n";
    out += "reach_timer_runs_ahead_total{outcome=\"written\"} " + std::to_string(c.timer_runs_ahead.load()) + "\n";
    out += "reach_timer_runs_ahead_total{outcome=\"redone\"} " + std::to_string(c.timer_runs_redone.load()) + "\n";
    out += "# HELP reach_executions_started_total Executions started\n# TYPE reach_executions_started_total counter\n";
    out += "reach_executions_started_total " + std::to_string(c.executions_started.load()) + "\n";
    auto sc = store->counters();
    out += "# HELP reach_store_batches_total Transactions committed\n# TYPE reach_store_batches_total counter\n";
    out += "reach_store_batches_total " + std::to_string(sc.batches) + "\n";
    out += "# HELP reach_store_checkpoints_total WAL checkpoints, by who ran them (the writer itself when the WAL reaches 256 MB)\n"
           "# TYPE reach_store_checkpoints_total counter\n";
    out += "reach_store_checkpoints_total{by=\"checkpointer\"} " + std::to_string(sc.checkpoints) + "\n";
    out += "reach_store_checkpoints_total{by=\"writer\"} " + std::to_string(sc.writer_checkpoints) + "\n";
    out += "# HELP reach_store_checkpoint_failures_total WAL checkpoints that failed (I/O errors; the frames stay in the WAL)\n"
           "# TYPE reach_store_checkpoint_failures_total counter\n";
    out += "reach_store_checkpoint_failures_total " + std::to_string(sc.checkpoint_failures) + "\n";
  });

  server::ApiOptions api_options;
  api_options.api_keys = config.api_keys;
  api_options.webhook_secret = config.webhook_secret;
  server::ApiHandler api(api_options, *store, engine, service, clock, metrics);

  server::HttpServerOptions http_options;
  http_options.address = host;
  http_options.port = port;
  http_options.io_threads = config.http.io_threads;
  http_options.max_body_bytes = config.http.max_body_bytes;
  http_options.header_timeout_ms = config.http.header_timeout_ms;
  http_options.idle_timeout_ms = config.http.idle_timeout_ms;
  http_options.max_connections = config.http.max_connections;
  http_options.on_response = [&](const server::HttpRequest& r, int status, double seconds) {
    http_metrics.Observe(r, status, seconds);
    if (status >= 500)
      spdlog::warn("http status={} method={} path={} request_id={} error={}", status, LogValue(r.method),
                   LogValue(r.path), LogValue(r.request_id), LogQuoted(ErrorOfAnswer(r.error_body)));
    else if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("http status={} method={} path={} request_id={} seconds={:.4f}", status, LogValue(r.method),
                    LogValue(r.path), LogValue(r.request_id), seconds);
  };
  http_options.log = [](std::string line) { spdlog::warn("http {}", line); };
  server::HttpServer http(http_options, api);
  if (Status s = http.Start(); !s.ok()) {
    std::cerr << "reach serve: " << config.listen << ": " << s.message() << "\n";
    return 1;
  }
  // The store's files on disk, at each scrape (a stat each): the database grows with the data;
  // the -wal is reused up to the WAL's bound (256 MB) and longer only while checkpoints cannot
  // keep up (a long read holding old pages, a slow disk).
  metrics.AddCollector([db_path = config.db](std::string& out) {
    out += "# HELP reach_store_file_bytes Size of the store's files: the database and its write-ahead log\n"
           "# TYPE reach_store_file_bytes gauge\n";
    // SQLite keeps the -wal beside the file a symbolic link names.
    std::error_code resolved;
    const std::filesystem::path canonical = std::filesystem::canonical(db_path, resolved);
    const std::string db = resolved ? db_path : canonical.string();
    for (const auto& [file, path] : {std::pair<const char*, std::string>{"db", db}, {"wal", db + "-wal"}}) {
      std::error_code ec;
      const uintmax_t bytes = std::filesystem::file_size(path, ec);
      // A missing -wal (between the last connection's close and the next open) is 0 bytes.
      if (!ec || ec == std::errc::no_such_file_or_directory) {
        out += "reach_store_file_bytes{file=\"" + std::string(file) + "\"} " + std::to_string(ec ? 0 : bytes) + "\n";
      }
    }
  });
  // The heap, at each scrape: `allocated` creeping up under a steady load is a leak; `held` far
  // above it is memory the allocator keeps for reuse (docs/operations.md).
  metrics.AddCollector([](std::string& out) {
    const HeapStats heap = ReadHeapStats();
    out += "# HELP reach_heap_bytes Heap memory: allocated (held by the program), held (by the allocator from the system)\n"
           "# TYPE reach_heap_bytes gauge\n";
    out += "reach_heap_bytes{state=\"allocated\"} " + std::to_string(heap.allocated) + "\n";
    out += "reach_heap_bytes{state=\"held\"} " + std::to_string(heap.held) + "\n";
  });
  metrics.AddCollector([&](std::string& out) {
    out += "# HELP reach_http_connections Open HTTP connections\n# TYPE reach_http_connections gauge\n";
    out += "reach_http_connections " + std::to_string(http.active_connections()) + "\n";
  });
  // Events are answered on the io thread (their memory freed where it was allocated, one
  // hand-off per batch); after the server stopped, on the store's thread again.
  service.set_event_delivery([&http](std::function<void()> fn) { http.Post(std::move(fn)); });
  api.set_ready(true);

  server::SystemdNotifier notifier;
  std::string listening = host + ":" + std::to_string(http.port());
  notifier.Ready("serving on " + listening + ", flow set " + engine.current()->version());
  spdlog::info("ready listen={} set_version={} pid={} allocator=\"{}\"", listening, engine.current()->version(), getpid(),
               HeapAllocatorName());
  // For scripts and tests that start on port 0: the address, alone on a line of stdout.
  std::printf("listening %s\n", listening.c_str());
  std::fflush(stdout);

  auto watchdog = notifier.WatchdogInterval();
  auto tick = watchdog ? std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog / 2)
                       : std::chrono::milliseconds(1000);
  if (tick.count() < 1) tick = std::chrono::milliseconds(1);
  // A thread cpu_affinity could not bind says so (each thread once, as it starts: looked for at
  // every tick, since the threads name themselves on their own time).
  auto report_unbound_threads = [] {
    for (const CpuBindFailure& f : TakeCpuBindFailures())
      spdlog::warn("cpu_affinity not applied thread={} error={} hint={}", f.thread, LogQuoted(std::strerror(f.error)),
                   LogQuoted(f.error == EPERM ? "a seccomp filter forbids sched_setaffinity (systemd: "
                                                "SystemCallFilter=~@resources); use the unit's CPUAffinity= instead"
                                              : "see sched_setaffinity(2)"));
  };
  report_unbound_threads();
  for (;;) {
    timespec ts{static_cast<time_t>(tick.count() / 1000), static_cast<long>((tick.count() % 1000) * 1000000)};
    int sig = sigtimedwait(&signals, nullptr, &ts);
    report_unbound_threads();
    if (sig < 0) {
      // The tick: ping the watchdog only while the writer still answers.
      if (watchdog && store->Write([](storage::StoreTxn&) { return Status::Ok(); }).ok()) notifier.Watchdog();
      continue;
    }
    if (sig == SIGHUP) {
      Files files;
      std::vector<std::string> names;
      std::string reload_errors;
      auto one_line = [](std::string text) {
        while (!text.empty() && text.back() == '\n') text.pop_back();
        for (char& c : text)
          if (c == '\n') c = '|';
        return text;
      };
      if (!ReadFlows(config.flows, files, reload_errors, &names)) {
        spdlog::error("reload failed=true errors={}", LogQuoted(one_line(reload_errors)));
        notifier.Status("reload failed; still serving flow set " + engine.current()->version());
        continue;
      }
      bool reloaded = false;
      Status s = DeployFromDisk(*store, engine, files, names, reload_errors, reloaded);
      if (!s.ok()) spdlog::error("reload failed=true error={}", LogQuoted(one_line(s.message())));
      else spdlog::info("reload set_version={} changed={}", engine.current()->version(), reloaded);
      notifier.Status("serving on " + listening + ", flow set " + engine.current()->version());
      continue;
    }
    break;  // SIGTERM / SIGINT
  }

  // Drain: refuse new intake, answer what is in flight, commit, stop.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config.shutdown_timeout_ms);
  notifier.Stopping();
  spdlog::info("stopping drain_timeout_ms={}", config.shutdown_timeout_ms);
  api.set_draining(true);
  http.StopAccepting();
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  http.Shutdown(std::max(left, std::chrono::milliseconds(0)));
  service.set_event_delivery(nullptr);
  service.Stop();
  store->Close();
  Status health = store->health();
  spdlog::info("stopped clean={}", health.ok());
  return health.ok() ? 0 : 1;
}

}  // namespace reach::app
