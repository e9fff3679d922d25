// timer_bench: timers fired per second and memory with 1,000,000 waiting executions, and the
// time from start to ready with that many.
//
//   load     A child process (fork, so that its memory never counts below) builds base.db:
//            the bench flow (engine_bench_support.h) is deployed and one `cart` event is run
//            through Engine::HandleEvent; the rows it leaves (execution, wakeup: the wait and
//            its timeout, node counters, user) are the template. Then E-1 copies of that
//            execution are written through StoreTxn (InsertExecution, AddWakeup; BumpNodeStats
//            once per job with the job's totals; users 0 .. U-1 first) in jobs of 250, 200
//            jobs per commit, each copy with its own user (i % U), event JSON and due time
//            T0 + 1h + i ms: exactly the state HandleEvent leaves, minus the events rows, which
//            timers never read. User n is `u<n>` (--user-ids ordered, the default: neighbours in
//            due order are neighbours in key order) or `o` and 24 hex digits hashed from n
//            (--user-ids hashed: ids in no order, as real ones are; a wait's by-user entry is
//            then on a page of its own). With --dir, base.db is kept (--reuse skips the load
//            next time, and refuses a store loaded with other --user-ids); it is copied to
//            work.db before the fire phase, which consumes timers. Without --dir everything goes
//            into a fresh /var/tmp directory, removed at the end.
//   startup  Median of R rounds, warm page cache and cold (posix_fadvise DONTNEED on the file
//            and its WAL first): OpenSqliteStore + Engine + EngineService::Start (which runs
//            Engine::LoadCurrent and starts the timer thread) + the first NextTimerDue (a write
//            job), on base.db and on empty.db (the same flow, no executions).
//   fire     R rounds, alternating:
//              raw     sqlite3: BEGIN IMMEDIATE; SELECT execution_id, wait_id FROM wakeups
//                      WHERE due_ms <= now ORDER BY due_ms, execution_id, wait_id LIMIT 1000;
//                      DELETE each by key; COMMIT — until F timers are gone. The floor: what
//                      any timer scheduler on this index must do.
//              engine  EngineService's timer thread (Start()), until F timers have fired
//                      durably: it reads due wakeups and their executions on its own reader,
//                      EngineOptions::timer_batch at a time, and keeps up to timer_jobs batches
//                      queued for the writer (Engine::FireTimers) while it reads the next.
//                      Each timer on the writer: take its wakeup (the wait's event_waits entry
//                      stays for the sweep), check the execution's revision, resume w
//                      (timeout: false), run b and c, complete the execution (the user is never
//                      read: no node needs it).
//            Rates are wall-clock; CPU time per timer (the whole process) is printed too, as it
//            moves less when the machine is shared. The process's RSS is sampled every 10 ms
//            during the engine rounds, and VmHWM (reset before the fire phase) is reported.
//   sweep    The rounds leave fewer stale event_waits entries than live ones, so no sweep pass
//            ran in them; its cost, to add per fired timer, is measured here: one pass over
//            work.db's event_waits (B one-job batches, the sweep on from the first) against the
//            same B batches with it off.
//
// Usage: timer_bench [--executions E] [--fire F] [--rounds R] [--users U] [--dir DIR] [--reuse]
//                    [--timer-batch B] [--timer-jobs J] [--user-ids ordered|hashed] [--cpus ROLE=CPUS ...]

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "common/thread_name.h"
#include "engine/engine.h"
#include "engine/engine_service.h"
#include "engine_bench_support.h"
#include "nodes/builtin_kinds.h"
#include "storage/sqlite_store.h"
#include "storage/sqlite_wal_vfs.h"

namespace {

using namespace reach;
using namespace reach::bench;
namespace fs = std::filesystem;

constexpr int64_t kT0 = 1'795'000'000'000;  // the load's clock
constexpr int64_t kHourMs = 3'600'000;
constexpr int kJob = 250;            // executions per load job
constexpr int kJobsPerCommit = 200;  // load jobs queued together (one commit)

struct Args {
  int64_t executions = 1'000'000;
  int64_t fire = 100'000;
  int64_t rounds = 3;
  int64_t users = 100'000;
  std::string dir;
  bool reuse = false;
  int64_t timer_batch = 0;  // 0: EngineOptions' default
  int64_t timer_jobs = 0;   // 0: EngineOptions' default
  // "ordered": users u0 .. u<U-1>, neighbours in key order as they are in due order; "hashed":
  // the same users under ids in no order ("o" and 24 hex digits), as real ids are.
  std::string user_ids = "ordered";
};

// User n's id (see Args::user_ids).
std::string UserId(const Args& args, int64_t n) {
  if (args.user_ids == "ordered") return "u" + std::to_string(n);
  auto mix = [](uint64_t z) {  // splitmix64's finalizer
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  const uint64_t a = mix(static_cast<uint64_t>(n) + 0x9e3779b97f4a7c15ULL), b = mix(a);
  char id[32];
  std::snprintf(id, sizeof id, "o%016llx%08llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b >> 32));
  return id;
}

void Must(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

std::unique_ptr<storage::Store> OpenStore(const std::string& path, storage::StoreOptions options = {}) {
  options.path = path;
  auto store = storage::OpenSqliteStore(options);
  if (!store.ok()) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), store.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*store);
}

void Deploy(storage::Store& store, engine::Engine& engine) {
  std::string errors;
  Must(store.Write([&](storage::StoreTxn& t) { return engine.Deploy(t, {{"bench.yaml", kBenchFlow}}, errors); }),
       "deploy");
}

// ---- load (in a child process) -----------------------------------------------------------------

void Load(const Args& args, const std::string& base, const std::string& empty) {
  engine::ManualClock clock(kT0);
  {
    auto store = OpenStore(empty);
    engine::Engine engine(nodes::BuiltinKinds(), nodes::BuiltinExecutors(), clock, nullptr);
    Deploy(*store, engine);
    store->Close();
  }
  auto store = OpenStore(base);
  engine::Engine engine(nodes::BuiltinKinds(), nodes::BuiltinExecutors(), clock, nullptr);
  Deploy(*store, engine);

  // The template: what HandleEvent leaves for one enrolling event.
  storage::ExecutionRecord tx;
  storage::WaitRecord tw;
  storage::UserRecord tu;
  Must(store->Write([&](storage::StoreTxn& txn) {
    storage::EventRecord e = BenchEvent(0, 1, kT0);
    engine::EventOutcome out;
    if (Status s = engine.HandleEvent(txn, e, out); !s.ok()) return s;
    if (out.started.size() != 1) return Status::Internal("the bench event enrolled nothing");
    auto x = txn.GetExecution(out.started[0]);
    if (!x.ok()) return x.status();
    tx = **x;
    auto waits = txn.FindWaits(e.user_id, "paid");
    if (!waits.ok()) return waits.status();
    if (waits->size() != 1) return Status::Internal("expected one wait");
    tw = (*waits)[0];
    auto timers = txn.DueWakeups(INT64_MAX, 10);
    if (!timers.ok()) return timers.status();
    if (timers->size() != 1 || (*timers)[0].wakeup.wait_id != tw.wait_id)
      return Status::Internal("expected one timer, the wait's timeout");
    auto u = txn.GetUser(e.user_id);
    if (!u.ok()) return u.status();
    tu = **u;
    return Status::Ok();
  }),
       "template");
  std::printf("template: trace %s, state %s\n", tx.trace.c_str(), boost::json::serialize(tx.state).c_str());

  const auto start = SteadyClock::now();
  for (int64_t first = 0; first < args.users; first += kJob) {
    Must(store->Write([&](storage::StoreTxn& txn) {
      for (int64_t i = first; i < std::min(args.users, first + kJob); ++i) {
        storage::UserRecord u = tu;
        u.id = UserId(args, i);
        if (Status s = txn.PutUser(u); !s.ok()) return s;
      }
      return Status::Ok();
    }),
         "users");
  }
  // Execution 1 is the template itself (a real one); the copies are executions 2 .. E, written
  // in jobs of kJob queued kJobsPerCommit at a time (group commit). Small jobs matter: a job's
  // savepoint makes its cost grow with the square of the pages it touches (engine.h).
  auto load = [&](int64_t first, int64_t last) {
    return [&, first, last](storage::StoreTxn& txn) -> Status {
      for (int64_t i = first; i < last; ++i) {
        storage::ExecutionRecord x = tx;
        x.id = 0;
        x.user_id = UserId(args, i % args.users);
        x.request_id = "req-" + std::to_string(i);
        boost::json::object& ev = x.event.as_object();
        ev["user_id"] = x.user_id;
        ev["message_id"] = "msg-" + std::to_string(i);
        ev["seq"] = i + 1;
        if (Status s = txn.InsertExecution(x); !s.ok()) return s;
        // The wait and its timeout: one wakeup, as the engine writes it.
        storage::WakeupRecord w;
        w.execution_id = x.id;
        w.wait_id = tw.wait_id;
        w.user_id = x.user_id;
        w.event_type = tw.event_type;
        w.due_ms = kT0 + kHourMs + i;
        w.created_ms = tw.created_ms;
        if (Status s = txn.AddWakeup(w); !s.ok()) return s;
      }
      const int64_t n = last - first;  // node counters as HandleEvent would have bumped them
      for (const char* node : {"a", "cond"})
        if (Status s = txn.BumpNodeStats(tx.chain, tx.chain_version, node, n, n, 0); !s.ok()) return s;
      return txn.BumpNodeStats(tx.chain, tx.chain_version, "w", n, 0, 0, n);
    };
  };
  int64_t next_report = 200000;
  for (int64_t first = 1; first < args.executions; first += kJob * kJobsPerCommit) {
    int64_t end = std::min(args.executions, first + kJob * kJobsPerCommit);
    for (int64_t j = first; j < end; j += kJob) {
      const int64_t last = std::min(end, j + kJob);
      if (last == end) Must(store->Write(load(j, last)), "load");  // waits for the whole group
      else store->Submit(load(j, last), [](const Status& s) { Must(s, "load"); });
    }
    if (end >= next_report || end == args.executions) {
      std::printf("  loaded %lld executions (%.0f/s)\n", static_cast<long long>(end), end / SecondsSince(start));
      std::fflush(stdout);
      next_report += 200000;
    }
  }
  Must(store->Write([&](storage::StoreTxn& txn) { return txn.PutMeta("bench.user_ids", args.user_ids); }), "meta");
  store->Close();
  std::printf("load: %lld executions in %.1f s (%.0f/s) through StoreTxn, %d-execution jobs, %d jobs per commit\n",
              static_cast<long long>(args.executions), SecondsSince(start), args.executions / SecondsSince(start), kJob,
              kJobsPerCommit);
}

// ---- startup -------------------------------------------------------------------------------

// Drops `path`'s pages (and its WAL's) from the page cache.
void EvictFromPageCache(const std::string& path) {
  for (const std::string& p : {path, path + "-wal", path + "-shm"}) {
    int fd = ::open(p.c_str(), O_RDONLY);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

// Seconds from nothing to "ready": store open, engine, service started, next timer known.
double TimeStartup(const std::string& path, int64_t& next_due) {
  const auto start = SteadyClock::now();
  auto store = OpenStore(path);
  // The load's clock: no timer is due yet, so the started timer thread only looks (a real
  // clock would let it fire the loaded timers while this is measured).
  engine::ManualClock clock(kT0);
  engine::Engine engine(nodes::BuiltinKinds(), nodes::BuiltinExecutors(), clock, nullptr);
  engine::EngineService service(*store, engine, clock);
  Must(service.Start(), "start");
  std::optional<int64_t> next;
  Must(store->Write([&](storage::StoreTxn& txn) {
    auto r = txn.NextTimerDue();
    if (!r.ok()) return r.status();
    next = *r;
    return Status::Ok();
  }),
       "next timer");
  const double seconds = SecondsSince(start);
  next_due = next.value_or(-1);
  service.Stop();
  store->Close();
  return seconds;
}

// ---- fire ----------------------------------------------------------------------------------

struct FireResult {
  double timers_per_second = 0;
  double cpu_us_per_timer = 0;  // the whole process's CPU time over the round
  int64_t fired = 0;
  // Engine only: the store's WAL checkpoints during the round (by its checkpointer thread and
  // by the writer itself) and the largest -wal file seen.
  uint64_t checkpoints = 0;
  uint64_t writer_checkpoints = 0;
  uint64_t commits = 0;  // the writer's commits (group commits) during the round
  int64_t max_wal_bytes = 0;
  // Engine only: timer runs done ahead of the writer and written as recorded, and those the
  // writer found changed and ran again.
  uint64_t runs_ahead = 0;
  uint64_t runs_redone = 0;
  // Engine only: each of the store's and the service's threads, ms on a CPU / ms runnable but
  // waiting for one, over the round.
  std::string threads;
  double wal_pages_per_timer = 0;  // WAL frames written per timer fired (commits' pages)
};

int64_t FileBytes(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  return error ? 0 : static_cast<int64_t>(size);
}

FireResult FireRaw(const std::string& path, int64_t count, int64_t now_ms) {
  sqlite3* db = OpenRawLikeTheStore(path);
  sqlite3_stmt *select, *remove;
  Check(sqlite3_prepare_v2(db,
                           "SELECT execution_id, wait_id FROM wakeups WHERE due_ms <= ?1 "
                           "ORDER BY due_ms, execution_id, wait_id LIMIT ?2",
                           -1, &select, nullptr),
        db, "prepare select");
  Check(sqlite3_prepare_v2(db, "DELETE FROM wakeups WHERE execution_id = ?1 AND wait_id = ?2", -1, &remove, nullptr),
        db, "prepare delete");
  std::vector<std::pair<int64_t, int64_t>> ids;
  int64_t done = 0;
  const double cpu_start = ProcessCpuSeconds();
  const auto start = SteadyClock::now();
  while (done < count) {
    Check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
    ids.clear();
    sqlite3_bind_int64(select, 1, now_ms);
    sqlite3_bind_int64(select, 2, std::min<int64_t>(1000, count - done));
    int rc;
    while ((rc = sqlite3_step(select)) == SQLITE_ROW)
      ids.emplace_back(sqlite3_column_int64(select, 0), sqlite3_column_int64(select, 1));
    Check(rc, db, "select");
    sqlite3_reset(select);
    for (const auto& [execution_id, wait_id] : ids) {
      sqlite3_bind_int64(remove, 1, execution_id);
      sqlite3_bind_int64(remove, 2, wait_id);
      Check(sqlite3_step(remove), db, "delete");
      sqlite3_reset(remove);
    }
    Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    if (ids.empty()) {
      std::fprintf(stderr, "raw: ran out of due timers\n");
      std::exit(1);
    }
    done += static_cast<int64_t>(ids.size());
  }
  const double seconds = SecondsSince(start);
  const double cpu = ProcessCpuSeconds() - cpu_start;
  sqlite3_finalize(select);
  sqlite3_finalize(remove);
  sqlite3_close(db);
  FireResult result;
  result.timers_per_second = static_cast<double>(done) / seconds;
  result.cpu_us_per_timer = cpu * 1e6 / static_cast<double>(done);
  result.fired = done;
  return result;
}

FireResult FireEngine(const std::string& path, int64_t count, int64_t now_ms, const Args& args) {
  auto store = OpenStore(path);
  engine::ManualClock clock(now_ms);
  engine::EngineOptions options;
  if (args.timer_batch > 0) options.timer_batch = static_cast<int>(args.timer_batch);
  if (args.timer_jobs > 0) options.timer_jobs = static_cast<int>(args.timer_jobs);
  engine::Engine engine(nodes::BuiltinKinds(), nodes::BuiltinExecutors(), clock, nullptr, options);
  // The daemon's timer thread: Start() loads the flows and it fires what is due (every timer
  // here) until stopped; this thread watches the count of timers durably fired.
  engine::EngineService service(*store, engine, clock);
  FireResult r;
  const auto wal_start = storage::WalVfsCountersNow();
  const double cpu_start = ProcessCpuSeconds();
  const auto start = SteadyClock::now();
  Must(service.Start(), "start");
  const auto idle_limit = std::chrono::seconds(10);
  auto last_change = SteadyClock::now();
  uint64_t seen = 0;
  while (static_cast<int64_t>(seen) < count) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    r.max_wal_bytes = std::max(r.max_wal_bytes, FileBytes(path + "-wal"));
    const uint64_t now_seen = service.counters().timers_fired.load();
    if (now_seen != seen) {
      seen = now_seen;
      last_change = SteadyClock::now();
    } else if (SteadyClock::now() - last_change > idle_limit) {
      std::fprintf(stderr, "engine: no timer fired for 10 s (%llu of %lld)\n", static_cast<unsigned long long>(seen),
                   static_cast<long long>(count));
      std::exit(1);
    }
  }
  r.fired = static_cast<int64_t>(seen);
  r.timers_per_second = static_cast<double>(r.fired) / SecondsSince(start);
  r.cpu_us_per_timer = (ProcessCpuSeconds() - cpu_start) * 1e6 / static_cast<double>(r.fired);
  r.threads = FormatThreadTimes(ThreadTimes(), "reach-");  // the service's threads, started with it
  r.wal_pages_per_timer = static_cast<double>(storage::WalVfsCountersNow().bytes - wal_start.bytes) / 4120.0 /
                          static_cast<double>(r.fired);
  service.Stop();
  r.runs_ahead = service.counters().timer_runs_ahead.load();
  r.runs_redone = service.counters().timer_runs_redone.load();
  const storage::Store::Counters counters = store->counters();
  r.checkpoints = counters.checkpoints;
  r.writer_checkpoints = counters.writer_checkpoints;
  r.commits = counters.batches;
  store->Close();
  return r;
}

// The first column of `sql`'s first row as text (nullopt: no row), on a read-only connection
// of its own.
std::optional<std::string> QueryValue(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  Check(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), db, "open");
  sqlite3_stmt* stmt = nullptr;
  Check(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), db, "prepare");
  std::optional<std::string> value;
  if (sqlite3_step(stmt) == SQLITE_ROW) value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

int64_t QueryCount(const std::string& path, const char* sql) { return std::stoll(QueryValue(path, sql).value_or("-1")); }

struct SweepResult {
  int64_t batches = 0, rows_before = 0, rows_after = 0, live = 0;
  double sweep_seconds = 0, sweep_cpu = 0, empty_seconds = 0, empty_cpu = 0;
};

// One pass of the event_waits sweep over what the rounds left: every fired timer's entry is
// stale (the raw rounds' too: they delete wakeup rows only). B one-job batches (B = the table's
// rows / chunk + 2, enough for the pass) with the sweep off, then B with it on from the first
// batch (min 0, ratio 0): the difference is the pass.
SweepResult MeasureSweep(const std::string& path) {
  SweepResult r;
  const int chunk = storage::StoreOptions{}.event_wait_sweep_chunk;
  r.rows_before = QueryCount(path, "SELECT count(*) FROM event_waits");
  r.live = QueryCount(path, "SELECT count(*) FROM wakeups WHERE event_type IS NOT NULL");
  r.batches = r.rows_before / chunk + 2;
  auto run = [&](storage::StoreOptions options, double& seconds, double& cpu) {
    auto store = OpenStore(path, options);
    const double cpu_start = ProcessCpuSeconds();
    const auto start = SteadyClock::now();
    for (int64_t i = 0; i < r.batches; ++i)
      Must(store->Write([i](storage::StoreTxn& txn) { return txn.PutMeta("bench.sweep", std::to_string(i)); }),
           "sweep batch");
    seconds = SecondsSince(start);
    cpu = ProcessCpuSeconds() - cpu_start;
    store->Close();
  };
  storage::StoreOptions off, on;
  off.event_wait_sweep_min_stale = std::numeric_limits<int64_t>::max();
  on.event_wait_sweep_min_stale = 0;
  on.event_wait_sweep_stale_ratio = 0;
  run(off, r.empty_seconds, r.empty_cpu);
  run(on, r.sweep_seconds, r.sweep_cpu);
  r.rows_after = QueryCount(path, "SELECT count(*) FROM event_waits");
  return r;
}

// The largest VmRSS seen while it runs (sampled every 10 ms).
class RssSampler {
 public:
  RssSampler() : thread_([this] {
      while (!stop_) {
        max_kb_ = std::max<int64_t>(max_kb_, ProcStatusKb("VmRSS"));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }) {}
  ~RssSampler() {
    stop_ = true;
    thread_.join();
  }
  int64_t max_kb() const { return max_kb_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> max_kb_{0};
  std::thread thread_;
};

Args Parse(int argc, char** argv) {
  Args args;
  Flags flags(argc, argv, "[--executions E] [--fire F] [--rounds R] [--users U] [--dir DIR] [--reuse] "
                          "[--timer-batch B] [--timer-jobs J] [--user-ids ordered|hashed] [--cpus ROLE=CPUS ...]");
  for (int i = 1; i < argc; ++i) {
    // Threads bound to CPUs by role, as reach.yaml's cpu_affinity does (writer, sync,
    // checkpointer, timer).
    std::string cpus;
    if (flags.Str(i, "--cpus", cpus)) {
      if (Status s = SetRoleCpus(cpus); !s.ok()) {
        std::fprintf(stderr, "--cpus: %s\n", s.message().c_str());
        std::exit(2);
      }
      continue;
    }
    if (!flags.Int(i, "--executions", args.executions) && !flags.Int(i, "--fire", args.fire) &&
        !flags.Int(i, "--rounds", args.rounds) && !flags.Int(i, "--users", args.users) &&
        !flags.Str(i, "--dir", args.dir) && !flags.Bool(i, "--reuse", args.reuse) &&
        !flags.Int(i, "--timer-batch", args.timer_batch) && !flags.Int(i, "--timer-jobs", args.timer_jobs) &&
        !flags.Str(i, "--user-ids", args.user_ids))
      flags.Usage();
  }
  if (args.executions <= 0 || args.fire <= 0 || args.rounds <= 0 || args.users <= 0) flags.Usage();
  if (args.user_ids != "ordered" && args.user_ids != "hashed") flags.Usage();
  if (2 * args.fire * args.rounds > args.executions) {
    std::fprintf(stderr, "--executions must be at least 2 * --fire * --rounds (raw and engine each fire F a round)\n");
    std::exit(2);
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  const bool own_dir = args.dir.empty();  // a fresh temporary directory: removed at the end
  const std::string dir = BenchDir(args.dir, "reach_timer_bench");
  const std::string base = dir + "/base.db", empty = dir + "/empty.db", work = dir + "/work.db";
  std::printf("command: %s\n", CommandLine(argc, argv).c_str());
  MachineNotes();
  std::printf("dir: %s  executions: %lld  users: %lld  fire: %lld per round  rounds: %lld  synchronous: FULL\n\n",
              dir.c_str(), static_cast<long long>(args.executions), static_cast<long long>(args.users),
              static_cast<long long>(args.fire), static_cast<long long>(args.rounds));
  std::fflush(stdout);

  // ---- load ----
  if (args.reuse && fs::exists(base) && fs::exists(empty)) {
    std::printf("load: reusing %s\n", base.c_str());
    // A store loaded before the option existed has no mark: its ids are ordered.
    const std::string loaded =
        QueryValue(base, "SELECT value FROM meta WHERE key = 'bench.user_ids'").value_or("ordered");
    if (loaded != args.user_ids) {
      std::fprintf(stderr, "%s was loaded with --user-ids %s, not %s: use another --dir, or drop --reuse\n",
                   base.c_str(), loaded.c_str(), args.user_ids.c_str());
      return 2;
    }
  } else {
    for (const std::string& p : {base, empty})
      for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(p + suffix);
    pid_t child = ::fork();  // before any thread of this process exists
    if (child == 0) {
      Load(args, base, empty);
      std::fflush(stdout);
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "load failed\n");
      return 1;
    }
  }
  std::printf("base.db: %.0f MB\n\n", static_cast<double>(fs::file_size(base)) / 1e6);

  // ---- startup ----
  std::vector<double> warm_full, warm_empty, cold_full, cold_empty;
  int64_t next_due = -1, ignored = -1;
  TimeStartup(base, next_due);  // warms the page cache
  for (int64_t r = 0; r < args.rounds; ++r) {
    warm_empty.push_back(TimeStartup(empty, ignored));
    warm_full.push_back(TimeStartup(base, next_due));
    EvictFromPageCache(empty);
    cold_empty.push_back(TimeStartup(empty, ignored));
    EvictFromPageCache(base);
    cold_full.push_back(TimeStartup(base, next_due));
  }
  std::printf("startup (open + Engine + EngineService::Start + first NextTimerDue), median of %lld:\n",
              static_cast<long long>(args.rounds));
  std::printf("  warm page cache: empty store %7.1f ms   %lld waiting executions %7.1f ms\n",
              Median(warm_empty) * 1e3, static_cast<long long>(args.executions), Median(warm_full) * 1e3);
  std::printf("  cold page cache: empty store %7.1f ms   %lld waiting executions %7.1f ms   (goal <= 2000 ms)\n",
              Median(cold_empty) * 1e3, static_cast<long long>(args.executions), Median(cold_full) * 1e3);
  std::printf("  first timer due at %lld (T0 + %lld ms)\n\n", static_cast<long long>(next_due),
              static_cast<long long>(next_due - kT0));
  std::fflush(stdout);

  // ---- fire ----
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(work + suffix);
  fs::copy_file(base, work);
  {
    // The copy's pages are dirty in the page cache: written back now, not by the kernel during
    // the first round (which ran 10-20 % slower than the others while it did).
    const int fd = ::open(work.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
  const int64_t now_ms = kT0 + kHourMs + args.executions + 1;  // every timer is due
  std::vector<double> raw, eng, raw_cpu, eng_cpu;
  int64_t peak_sampled_kb = 0;
  const int64_t rss_before_kb = ProcStatusKb("VmRSS");
  const bool hwm_reset = ResetPeakRss();
  for (int64_t r = 0; r < args.rounds; ++r) {
    FireResult raw_round;
    std::thread([&] { raw_round = FireRaw(work, args.fire, now_ms); }).join();
    FireResult engine_round;
    {
      RssSampler sampler;
      engine_round = FireEngine(work, args.fire, now_ms, args);
      peak_sampled_kb = std::max(peak_sampled_kb, sampler.max_kb());
    }
    std::printf("round %lld: raw select+delete %8.0f timers/s (%5.1f us cpu/timer)   engine timer thread %8.0f "
                "timers/s (%5.1f us cpu/timer)   ratio %.2f\n",
                static_cast<long long>(r + 1), raw_round.timers_per_second, raw_round.cpu_us_per_timer,
                engine_round.timers_per_second, engine_round.cpu_us_per_timer,
                engine_round.timers_per_second / raw_round.timers_per_second);
    std::printf("         engine: %llu WAL checkpoints by the checkpointer thread, %llu by the writer; "
                "largest -wal %.1f MB; %llu commits, %.2f WAL pages written per timer; runs done ahead of the writer %llu, of them run again %llu\n",
                static_cast<unsigned long long>(engine_round.checkpoints),
                static_cast<unsigned long long>(engine_round.writer_checkpoints),
                static_cast<double>(engine_round.max_wal_bytes) / 1e6,
                static_cast<unsigned long long>(engine_round.commits), engine_round.wal_pages_per_timer,
                static_cast<unsigned long long>(engine_round.runs_ahead),
                static_cast<unsigned long long>(engine_round.runs_redone));
    std::printf("         engine threads, ms on a CPU / ms waiting for one: %s\n", engine_round.threads.c_str());
    std::fflush(stdout);
    raw.push_back(raw_round.timers_per_second);
    eng.push_back(engine_round.timers_per_second);
    raw_cpu.push_back(raw_round.cpu_us_per_timer);
    eng_cpu.push_back(engine_round.cpu_us_per_timer);
  }
  const int64_t hwm_kb = ProcStatusKb("VmHWM");

  // What the engine rounds did, read back.
  {
    auto store = OpenStore(work);
    auto gauges = store->NewReader()->GetGauges();
    Must(gauges.status(), "gauges");
    std::printf("after: %lld completed, %lld waiting, %lld timers, %lld waits\n",
                static_cast<long long>(gauges->executions_by_status[2]),
                static_cast<long long>(gauges->executions_by_status[1]), static_cast<long long>(gauges->timers),
                static_cast<long long>(gauges->waits));
    store->Close();
  }
  // ---- sweep ----
  const SweepResult sweep = MeasureSweep(work);
  const int64_t removed = sweep.rows_before - sweep.rows_after;
  std::printf("sweep of event_waits: one pass over %lld entries removed %lld (left %lld, live waits %lld%s) in %lld "
              "batches: %.0f ms, %.0f ms cpu; the same batches without it %.0f ms, %.0f ms cpu: "
              "%.2f us cpu per entry removed\n",
              static_cast<long long>(sweep.rows_before), static_cast<long long>(removed),
              static_cast<long long>(sweep.rows_after), static_cast<long long>(sweep.live),
              sweep.rows_after == sweep.live ? "" : ": NOT ALL STALE ENTRIES WENT", static_cast<long long>(sweep.batches),
              sweep.sweep_seconds * 1e3, sweep.sweep_cpu * 1e3, sweep.empty_seconds * 1e3, sweep.empty_cpu * 1e3,
              removed > 0 ? (sweep.sweep_cpu - sweep.empty_cpu) * 1e6 / static_cast<double>(removed) : 0.0);

  std::printf("\nmedian of %lld rounds, %lld timers each, %lld waiting executions at the start:\n",
              static_cast<long long>(args.rounds), static_cast<long long>(args.fire),
              static_cast<long long>(args.executions));
  std::printf("raw sqlite3 select+delete by due index : %10.0f timers/s   %6.1f us cpu/timer\n", Median(raw),
              Median(raw_cpu));
  std::printf("engine timer thread (EngineService)    : %10.0f timers/s   %6.1f us cpu/timer  (goal >= 100000/s)\n",
              Median(eng), Median(eng_cpu));
  std::printf("ratio engine/raw: %.2f (by cpu time %.2f)\n", Median(eng) / Median(raw), Median(raw_cpu) / Median(eng_cpu));
  std::printf("RSS: %.1f MB before the fire phase, max sampled during engine rounds %.1f MB, VmHWM %.1f MB%s "
              "(goal <= 150 MB)\n",
              rss_before_kb / 1024.0, peak_sampled_kb / 1024.0, hwm_kb / 1024.0,
              hwm_reset ? " (reset before the fire phase)" : " (not reset: whole process)");
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(work + suffix);
  if (own_dir) fs::remove_all(dir);  // with --dir, base.db stays for --reuse
  return 0;
}
