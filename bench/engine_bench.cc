// engine_bench: executions enrolled per second, end to end through the store, against the
// best SQLite can do with the same rows.
//
//   engine  N `cart` events SubmitEvent()ed from T threads to a started EngineService over a
//           SqliteStore (group commit, synchronous=FULL). Each event is stored, finds no wait,
//           enrolls one execution of the 5-node chain THEN(a, cond, w, b, c)
//           (engine_bench_support.h), which runs a and cond and suspends at w (one wakeup row:
//           the wait and its timeout). Timed from the first Submit to the last `done` (every
//           event acknowledged after its batch's WAL is on disk). The users exist beforehand (created before
//           the clock starts), as they mostly do in production.
//   raw     the rows such an item leaves, through raw sqlite3: one event, one execution (the
//           state, ctx and event JSON the engine wrote, serialized per item), one wakeup row and
//           its event_waits entry per item, prepared statements, 1000 items per transaction, the store's schema (indexes)
//           and pragmas (WAL, synchronous=FULL, temp_store=MEMORY).
//           The floor under any engine: no reads, no savepoints, no interpretation.
//
// Rounds alternate raw / engine on fresh files; medians are reported with the ratio (goal >= 0.4),
// and CPU time per item (the whole process), which a busy neighbour distorts less than wall time.
// Usage: engine_bench [--items N] [--threads T] [--users U] [--rounds R] [--batch B] [--dir DIR]
//   --batch B: at most B events per commit (StoreOptions::max_batch_jobs), as at a moderate
//   load, where commits are small and their fixed cost is a larger share.

#include <sqlite3.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "engine_bench_support.h"
#include "engine/engine.h"
#include "engine/engine_service.h"
#include "nodes/builtin_kinds.h"
#include "storage/sqlite_store.h"

namespace {

using namespace reach;
using namespace reach::bench;

struct Args {
  int64_t items = 20000;
  int64_t threads = 4;
  int64_t users = 10000;
  int64_t rounds = 5;
  int64_t batch = 0;  // > 0: StoreOptions::max_batch_jobs (small commits, as at a moderate load)
  std::string dir;
};

std::unique_ptr<storage::Store> OpenStore(const std::string& path, int64_t max_batch_jobs = 0) {
  storage::StoreOptions options;
  options.path = path;
  if (max_batch_jobs > 0) options.max_batch_jobs = static_cast<size_t>(max_batch_jobs);
  auto store = storage::OpenSqliteStore(options);
  if (!store.ok()) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), store.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*store);
}

void Must(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

// A store with the flow deployed and users u0 .. u<users-1> created (outside the timing).
void Prepare(storage::Store& store, engine::Engine& engine, const engine::Clock& clock, int64_t users) {
  std::string errors;
  Must(store.Write([&](storage::StoreTxn& t) { return engine.Deploy(t, {{"bench.yaml", kBenchFlow}}, errors); }),
       "deploy");
  for (int64_t first = 0; first < users; first += 10000) {
    Must(store.Write([&](storage::StoreTxn& t) {
      for (int64_t i = first; i < std::min(users, first + 10000); ++i) {
        storage::UserRecord u;
        u.id = "u" + std::to_string(i);
        u.created_ms = u.updated_ms = clock.NowMillis();
        if (Status s = t.PutUser(u); !s.ok()) return s;
      }
      return Status::Ok();
    }),
         "users");
  }
}

// What one enrollment leaves: read back from a one-event engine run, for the raw baseline.
struct RowTemplate {
  storage::ExecutionRecord execution;
  storage::WaitRecord wait;  // with its timeout: one wakeup row
};

RowTemplate Calibrate(const std::string& path) {
  auto store = OpenStore(path);
  engine::SystemClock clock;
  engine::Engine engine(nodes::BuiltinKinds(), nodes::BuiltinExecutors(), clock, nullptr);
  Prepare(*store, engine, clock, 1);
  RowTemplate t;
  Must(store->Write([&](storage::StoreTxn& txn) {
    storage::EventRecord e = BenchEvent(0, 1, clock.NowMillis());
    engine::EventOutcome out;
    if (Status s = engine.HandleEvent(txn, e, out); !s.ok()) return s;
    if (out.started.size() != 1) return Status::Internal("the bench event enrolled nothing");
    auto x = txn.GetExecution(out.started[0]);
    if (!x.ok()) return x.status();
    t.execution = **x;
    auto waits = txn.FindWaits(e.user_id, "paid");
    if (!waits.ok()) return waits.status();
    if (waits->size() != 1) return Status::Internal("expected one wait");
    t.wait = (*waits)[0];
    auto timers = txn.DueWakeups(INT64_MAX, 10);
    if (!timers.ok()) return timers.status();
    if (timers->size() != 1 || (*timers)[0].wakeup.wait_id != t.wait.wait_id)
      return Status::Internal("expected one timer, the wait's timeout");
    return Status::Ok();
  }),
       "calibrate");
  if (t.execution.status != storage::ExecutionStatus::kWaiting) {
    std::fprintf(stderr, "calibrate: the execution is not waiting (trace %s)\n", t.execution.trace.c_str());
    std::exit(1);
  }
  store->Close();
  return t;
}

struct EngineResult {
  double items_per_second = 0;
  double cpu_us_per_item = 0;  // the whole process: writer, submitting threads, timer thread
  double mean_batch = 0;
  double wal_pages_per_batch = 0;  // WAL frames (a page and its header) the writer appended per commit
  uint64_t failed = 0;
};

EngineResult RunEngine(const Args& args, const std::string& path) {
  auto store = OpenStore(path, args.batch);
  engine::SystemClock clock;
  engine::Engine engine(nodes::BuiltinKinds(), nodes::BuiltinExecutors(), clock, nullptr);
  Prepare(*store, engine, clock, args.users);
  engine::EngineService service(*store, engine, clock);
  Must(service.Start(), "start");

  // Events are built before the clock starts: the client's side of the work.
  std::vector<storage::EventRecord> events;
  events.reserve(static_cast<size_t>(args.items));
  for (int64_t i = 0; i < args.items; ++i) events.push_back(BenchEvent(i, args.users, clock.NowMillis()));

  const storage::Store::Counters before = store->counters();
  const storage::WalVfsCounters wal_before = storage::WalVfsCountersNow();
  std::atomic<int64_t> remaining{args.items};
  std::atomic<uint64_t> failed{0};
  std::promise<void> finished;
  const double cpu_start = ProcessCpuSeconds();
  const auto start = SteadyClock::now();
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < args.threads; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t i = t; i < args.items; i += args.threads) {
        service.SubmitEvent(std::move(events[static_cast<size_t>(i)]), {},
                            [&](const Status& s, const engine::EventOutcome& out) {
                              if (!s.ok() || out.started.size() != 1) ++failed;
                              if (--remaining == 0) finished.set_value();
                            });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  finished.get_future().wait();
  const double seconds = SecondsSince(start);
  const double cpu = ProcessCpuSeconds() - cpu_start;
  const storage::Store::Counters after = store->counters();
  const storage::WalVfsCounters wal_after = storage::WalVfsCountersNow();
  service.Stop();
  store->Close();
  EngineResult r;
  r.items_per_second = static_cast<double>(args.items) / seconds;
  r.cpu_us_per_item = cpu * 1e6 / static_cast<double>(args.items);
  r.mean_batch = static_cast<double>(after.jobs - before.jobs) / static_cast<double>(after.batches - before.batches);
  r.wal_pages_per_batch = WalPages(wal_before, wal_after) / static_cast<double>(after.batches - before.batches);
  r.failed = failed.load();
  return r;
}

struct RawResult {
  double items_per_second = 0;
  double cpu_us_per_item = 0;
};

RawResult RunRaw(const Args& args, const std::string& path, const RowTemplate& t) {
  OpenStore(path)->Close();  // the store's schema, indexes and triggers
  sqlite3* db = OpenRawLikeTheStore(path);
  sqlite3_stmt *event_stmt, *execution_stmt, *wait_stmt, *event_wait_stmt;
  Check(sqlite3_prepare_v2(db,
                           "INSERT INTO events (message_id, type, user_id, properties, timestamp_ms, received_ms, "
                           "request_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &event_stmt, nullptr),
        db, "prepare events");
  Check(sqlite3_prepare_v2(db,
                           "INSERT INTO executions (flow, chain, chain_version, set_version, user_id, entry_key, "
                           "status, state, ctx, event, trace, error, request_id, created_ms, updated_ms, "
                           "finished_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                           "?15, ?16)",
                           -1, &execution_stmt, nullptr),
        db, "prepare executions");
  Check(sqlite3_prepare_v2(db,
                           "INSERT INTO wakeups (execution_id, wait_id, user_id, event_type, created_ms, due_ms) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &wait_stmt, nullptr),
        db, "prepare wakeups");
  // The wait's entry by (user, event type) (schema v7: a table of its own, where it was an index
  // of wakeups that the wakeup's insert filled).
  Check(sqlite3_prepare_v2(db,
                           "INSERT INTO event_waits (user_id, event_type, execution_id, wait_id, due_ms) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &event_wait_stmt, nullptr),
        db, "prepare event_waits");
  auto text = [](sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  };
  const storage::ExecutionRecord& x = t.execution;
  engine::SystemClock clock;
  std::vector<storage::EventRecord> events;
  events.reserve(static_cast<size_t>(args.items));
  for (int64_t i = 0; i < args.items; ++i) events.push_back(BenchEvent(i, args.users, clock.NowMillis()));

  const double cpu_start = ProcessCpuSeconds();
  const auto start = SteadyClock::now();
  for (int64_t i = 0; i < args.items; ++i) {
    if (i % 1000 == 0) Check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
    const storage::EventRecord& e = events[static_cast<size_t>(i)];
    text(event_stmt, 1, e.message_id);
    text(event_stmt, 2, e.type);
    text(event_stmt, 3, e.user_id);
    text(event_stmt, 4, boost::json::serialize(e.properties));
    sqlite3_bind_int64(event_stmt, 5, e.timestamp_ms);
    sqlite3_bind_int64(event_stmt, 6, e.received_ms);
    text(event_stmt, 7, e.request_id);
    Check(sqlite3_step(event_stmt), db, "insert event");
    sqlite3_reset(event_stmt);
    const int64_t seq = sqlite3_last_insert_rowid(db);

    // The execution's event is the event's JSON view, as the engine stores it.
    boost::json::value event_json = x.event;
    boost::json::object& ej = event_json.as_object();
    ej["user_id"] = e.user_id;
    ej["message_id"] = e.message_id;
    ej["seq"] = seq;
    text(execution_stmt, 1, x.flow);
    text(execution_stmt, 2, x.chain);
    text(execution_stmt, 3, x.chain_version);
    text(execution_stmt, 4, x.set_version);
    text(execution_stmt, 5, e.user_id);
    text(execution_stmt, 6, x.entry_key);
    text(execution_stmt, 7, "waiting");
    text(execution_stmt, 8, boost::json::serialize(x.state));
    text(execution_stmt, 9, boost::json::serialize(x.ctx));
    text(execution_stmt, 10, boost::json::serialize(event_json));
    text(execution_stmt, 11, x.trace);
    text(execution_stmt, 12, x.error);
    text(execution_stmt, 13, e.request_id);
    sqlite3_bind_int64(execution_stmt, 14, e.received_ms);
    sqlite3_bind_int64(execution_stmt, 15, e.received_ms);
    sqlite3_bind_int64(execution_stmt, 16, 0);
    Check(sqlite3_step(execution_stmt), db, "insert execution");
    sqlite3_reset(execution_stmt);
    const int64_t execution_id = sqlite3_last_insert_rowid(db);

    sqlite3_bind_int64(wait_stmt, 1, execution_id);
    sqlite3_bind_int64(wait_stmt, 2, t.wait.wait_id);
    text(wait_stmt, 3, e.user_id);
    text(wait_stmt, 4, t.wait.event_type);
    sqlite3_bind_int64(wait_stmt, 5, e.received_ms);
    sqlite3_bind_int64(wait_stmt, 6, e.received_ms + 3'600'000);
    Check(sqlite3_step(wait_stmt), db, "insert wakeup");
    sqlite3_reset(wait_stmt);
    text(event_wait_stmt, 1, e.user_id);
    text(event_wait_stmt, 2, t.wait.event_type);
    sqlite3_bind_int64(event_wait_stmt, 3, execution_id);
    sqlite3_bind_int64(event_wait_stmt, 4, t.wait.wait_id);
    sqlite3_bind_int64(event_wait_stmt, 5, e.received_ms + 3'600'000);
    Check(sqlite3_step(event_wait_stmt), db, "insert event wait");
    sqlite3_reset(event_wait_stmt);
    if (i % 1000 == 999 || i == args.items - 1)
      Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  }
  const double seconds = SecondsSince(start);
  const double cpu = ProcessCpuSeconds() - cpu_start;
  for (sqlite3_stmt* s : {event_stmt, execution_stmt, wait_stmt, event_wait_stmt}) sqlite3_finalize(s);
  sqlite3_close(db);
  return {static_cast<double>(args.items) / seconds, cpu * 1e6 / static_cast<double>(args.items)};
}

Args Parse(int argc, char** argv) {
  Args args;
  Flags flags(argc, argv, "[--items N] [--threads T] [--users U] [--rounds R] [--batch B] [--dir DIR]");
  for (int i = 1; i < argc; ++i) {
    if (!flags.Int(i, "--items", args.items) && !flags.Int(i, "--threads", args.threads) &&
        !flags.Int(i, "--users", args.users) && !flags.Int(i, "--rounds", args.rounds) &&
        !flags.Int(i, "--batch", args.batch) && !flags.Str(i, "--dir", args.dir))
      flags.Usage();
  }
  if (args.items <= 0 || args.threads <= 0 || args.users <= 0 || args.rounds <= 0) flags.Usage();
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  const bool own_dir = args.dir.empty();
  const std::string dir = BenchDir(args.dir, "reach_engine_bench");
  std::printf("command: %s\n", CommandLine(argc, argv).c_str());
  MachineNotes();
  std::printf("dir: %s  items: %lld  submit threads: %lld  users: %lld  rounds: %lld  synchronous: FULL\n",
              dir.c_str(), static_cast<long long>(args.items), static_cast<long long>(args.threads),
              static_cast<long long>(args.users), static_cast<long long>(args.rounds));
  std::printf("item: event -> enroll THEN(a, cond, w, b, c) -> run a, cond -> suspend at w (wait + timer)\n\n");

  const RowTemplate t = Calibrate(dir + "/calibrate.db");
  std::filesystem::remove(dir + "/calibrate.db");
  std::vector<double> raw, eng, ratios, raw_cpu, eng_cpu;
  for (int64_t round = 0; round < args.rounds; ++round) {
    const std::string raw_path = dir + "/raw" + std::to_string(round) + ".db";
    const std::string engine_path = dir + "/engine" + std::to_string(round) + ".db";
    RawResult raw_round;
    // On a thread of its own, like the store's writer (same malloc arena behaviour).
    std::thread([&] { raw_round = RunRaw(args, raw_path, t); }).join();
    const EngineResult engine_round = RunEngine(args, engine_path);
    if (engine_round.failed) std::fprintf(stderr, "engine: %llu events failed\n",
                                          static_cast<unsigned long long>(engine_round.failed));
    std::printf("round %lld: raw %8.0f items/s (%5.1f us cpu/item)   engine %8.0f executions/s (%5.1f us cpu/item, "
                "%.0f events and %.1f WAL pages per commit)   ratio %.2f\n",
                static_cast<long long>(round + 1), raw_round.items_per_second, raw_round.cpu_us_per_item,
                engine_round.items_per_second, engine_round.cpu_us_per_item, engine_round.mean_batch,
                engine_round.wal_pages_per_batch, engine_round.items_per_second / raw_round.items_per_second);
    std::fflush(stdout);
    raw.push_back(raw_round.items_per_second);
    eng.push_back(engine_round.items_per_second);
    raw_cpu.push_back(raw_round.cpu_us_per_item);
    eng_cpu.push_back(engine_round.cpu_us_per_item);
    ratios.push_back(engine_round.items_per_second / raw_round.items_per_second);
    std::filesystem::remove(raw_path);
    std::filesystem::remove(engine_path);
    for (const char* suffix : {"-wal", "-shm"}) {
      std::filesystem::remove(raw_path + suffix);
      std::filesystem::remove(engine_path + suffix);
    }
  }
  std::printf("\nmedian of %lld rounds:\n", static_cast<long long>(args.rounds));
  std::printf("raw sqlite3, 4 inserts/item, 1000 items/txn : %10.0f items/s        %6.1f us cpu/item\n", Median(raw),
              Median(raw_cpu));
  std::printf("engine, SubmitEvent (group commit)          : %10.0f executions/s   %6.1f us cpu/item\n", Median(eng),
              Median(eng_cpu));
  std::printf("ratio engine/raw: %.2f (median of per-round ratios %.2f; by cpu time %.2f; goal >= 0.40)\n",
              Median(eng) / Median(raw), Median(ratios), Median(raw_cpu) / Median(eng_cpu));
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
