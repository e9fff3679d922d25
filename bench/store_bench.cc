// store_bench: what group commit costs against the best SQLite can do.
//
//   group   N jobs Submit()ted from T threads through SqliteStore; each job inserts one event,
//           one execution and one timer; timed from the first Submit to the last `done`
//           (every job acknowledged only after its batch's COMMIT, i.e. its fsync).
//   raw     the same rows through raw sqlite3 prepared inserts, one transaction per 1000 jobs,
//           same schema (indexes, triggers), same pragmas, same JSON serialization: the ceiling.
//   write   M jobs through Store::Write() one after another from one thread: one commit (fsync)
//           per job, what an engine without group commit would get.
//
// Prints jobs/s for each, the group/raw ratio, and the command line that produced them.
// Usage: store_bench [--jobs N] [--threads T] [--write-jobs M] [--dir DIR] [--normal]
//                    [--max-batch-delay-us D] [--rounds R] [--only raw|group]
// DIR must be on the disk you care about (default: a fresh directory under /var/tmp, not tmpfs).

#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/serialize.hpp>

#include "storage/sqlite_store.h"
#include "storage/store.h"

namespace {

using reach::Status;
using namespace reach::storage;
using Clock = std::chrono::steady_clock;

struct Args {
  int jobs = 20000;
  int threads = 4;
  int write_jobs = 300;
  std::string dir;
  bool synchronous_full = true;
  int64_t max_batch_delay_us = 0;
  int rounds = 3;  // raw and group alternate this many times; the best of each is reported
  bool run_raw = true;    // --only group skips it (to profile one side)
  bool run_group = true;  // --only raw skips it
};

EventRecord MakeEvent(int i) {
  EventRecord e;
  e.message_id = "msg-" + std::to_string(i);
  e.type = "purchase";
  e.user_id = "user-" + std::to_string(i % 5000);
  e.properties = {{"amount", 129.5}, {"sku", "SKU-" + std::to_string(i % 300)}, {"channel", "miniapp"}};
  e.timestamp_ms = 1'760'000'000'000 + i;
  e.received_ms = e.timestamp_ms + 3;
  e.request_id = "req-" + std::to_string(i);
  return e;
}

ExecutionRecord MakeExecution(int i) {
  ExecutionRecord x;
  x.flow = "abandoned_cart";
  x.chain = "abandoned_cart";
  x.chain_version = "c0ffee";
  x.set_version = "set-42";
  x.user_id = "user-" + std::to_string(i % 5000);
  x.status = ExecutionStatus::kWaiting;
  x.state = {{"frames", boost::json::array{boost::json::object{{"node", "wait_pay"}, {"pc", 3}}}}};
  x.ctx = {{"cart_total", 129.5}, {"coupon", "SPRING10"}};
  x.event = {{"type", "purchase"}, {"message_id", "msg-" + std::to_string(i)}};
  x.trace = "start==>check_cart==>wait_pay";
  x.created_ms = 1'760'000'000'000 + i;
  x.updated_ms = x.created_ms;
  return x;
}

Status OneJob(StoreTxn& txn, int i) {
  EventRecord event = MakeEvent(i);
  auto inserted = txn.InsertEvent(event);
  if (!inserted.ok()) return inserted.status();
  ExecutionRecord execution = MakeExecution(i);
  Status status = txn.InsertExecution(execution);
  if (!status.ok()) return status;
  WakeupRecord timer;
  timer.execution_id = execution.id;
  timer.wait_id = 1;
  timer.due_ms = execution.created_ms + 3'600'000;
  return txn.AddWakeup(timer);
}

std::unique_ptr<Store> OpenStore(const Args& args, const std::string& path) {
  StoreOptions options;
  options.path = path;
  options.synchronous_full = args.synchronous_full;
  options.max_batch_delay_us = args.max_batch_delay_us;
  auto store = OpenSqliteStore(options);
  if (!store.ok()) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), store.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*store);
}

double Seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct GroupResult {
  double jobs_per_second;
  uint64_t batches;
  double mean_batch;
  double mean_commit_ms;
};

GroupResult RunGroup(const Args& args, const std::string& path) {
  std::unique_ptr<Store> store = OpenStore(args, path);
  std::atomic<int> remaining{args.jobs};
  std::atomic<int> failures{0};
  std::promise<void> finished;
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < args.threads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < args.jobs; i += args.threads) {
        store->Submit([i](StoreTxn& txn) { return OneJob(txn, i); },
                      [&](const Status& status) {
                        if (!status.ok()) ++failures;
                        if (--remaining == 0) finished.set_value();
                      });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  finished.get_future().wait();
  const double seconds = Seconds(start);
  const Store::Counters counters = store->counters();
  store->Close();
  if (failures > 0) std::fprintf(stderr, "group: %d jobs failed\n", failures.load());
  return {args.jobs / seconds, counters.batches, double(counters.jobs) / double(counters.batches),
          counters.commit_micros_total / 1000.0 / double(counters.batches)};
}

void Check(int rc, sqlite3* db, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
  std::fprintf(stderr, "raw: %s: %s\n", what, sqlite3_errmsg(db));
  std::exit(1);
}

double RunRaw(const Args& args, const std::string& path) {
  OpenStore(args, path)->Close();  // the same schema, created by the store
  sqlite3* db = nullptr;
  Check(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr), db, "open");
  // The store's connection pragmas (sqlite_connection.cc, sqlite_store.cc). temp_store=MEMORY
  // matters: without it the statement journals of INSERTs that fire triggers go to temp files,
  // ~20 pwrite() calls per job, and the baseline runs at a fraction of its speed.
  const std::string pragmas = std::string(args.synchronous_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;") +
                              "PRAGMA temp_store=MEMORY; PRAGMA journal_size_limit=67108864;";
  Check(sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr), db, "pragma");
  sqlite3_stmt *event_stmt, *execution_stmt, *timer_stmt;
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
                           "INSERT INTO wakeups (due_ms, execution_id, wait_id, created_ms) VALUES (?1, ?2, ?3, 0)",
                           -1, &timer_stmt, nullptr),
        db, "prepare wakeups");
  auto text = [](sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
  };

  const auto start = Clock::now();
  for (int i = 0; i < args.jobs; ++i) {
    if (i % 1000 == 0) Check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
    EventRecord e = MakeEvent(i);
    text(event_stmt, 1, e.message_id);
    text(event_stmt, 2, e.type);
    text(event_stmt, 3, e.user_id);
    text(event_stmt, 4, boost::json::serialize(e.properties));
    sqlite3_bind_int64(event_stmt, 5, e.timestamp_ms);
    sqlite3_bind_int64(event_stmt, 6, e.received_ms);
    text(event_stmt, 7, e.request_id);
    Check(sqlite3_step(event_stmt), db, "insert event");
    sqlite3_reset(event_stmt);

    ExecutionRecord x = MakeExecution(i);
    text(execution_stmt, 1, x.flow);
    text(execution_stmt, 2, x.chain);
    text(execution_stmt, 3, x.chain_version);
    text(execution_stmt, 4, x.set_version);
    text(execution_stmt, 5, x.user_id);
    text(execution_stmt, 6, x.entry_key);
    text(execution_stmt, 7, "waiting");
    text(execution_stmt, 8, boost::json::serialize(x.state));
    text(execution_stmt, 9, boost::json::serialize(x.ctx));
    text(execution_stmt, 10, boost::json::serialize(x.event));
    text(execution_stmt, 11, x.trace);
    text(execution_stmt, 12, x.error);
    text(execution_stmt, 13, x.request_id);
    sqlite3_bind_int64(execution_stmt, 14, x.created_ms);
    sqlite3_bind_int64(execution_stmt, 15, x.updated_ms);
    sqlite3_bind_int64(execution_stmt, 16, x.finished_ms);
    Check(sqlite3_step(execution_stmt), db, "insert execution");
    sqlite3_reset(execution_stmt);
    const int64_t execution_id = sqlite3_last_insert_rowid(db);

    sqlite3_bind_int64(timer_stmt, 1, x.created_ms + 3'600'000);
    sqlite3_bind_int64(timer_stmt, 2, execution_id);
    sqlite3_bind_int64(timer_stmt, 3, 1);
    Check(sqlite3_step(timer_stmt), db, "insert timer");
    sqlite3_reset(timer_stmt);
    if (i % 1000 == 999 || i == args.jobs - 1) Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  }
  const double seconds = Seconds(start);
  sqlite3_finalize(event_stmt);
  sqlite3_finalize(execution_stmt);
  sqlite3_finalize(timer_stmt);
  sqlite3_close(db);
  return args.jobs / seconds;
}

double RunSequentialWrites(const Args& args, const std::string& path) {
  std::unique_ptr<Store> store = OpenStore(args, path);
  const auto start = Clock::now();
  for (int i = 0; i < args.write_jobs; ++i) {
    Status status = store->Write([i](StoreTxn& txn) { return OneJob(txn, i); });
    if (!status.ok()) {
      std::fprintf(stderr, "write: %s\n", status.ToString().c_str());
      std::exit(1);
    }
  }
  const double seconds = Seconds(start);
  store->Close();
  return args.write_jobs / seconds;
}

Args Parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--jobs")) args.jobs = std::atoi(value());
    else if (!std::strcmp(argv[i], "--threads")) args.threads = std::atoi(value());
    else if (!std::strcmp(argv[i], "--write-jobs")) args.write_jobs = std::atoi(value());
    else if (!std::strcmp(argv[i], "--dir")) args.dir = value();
    else if (!std::strcmp(argv[i], "--normal")) args.synchronous_full = false;
    else if (!std::strcmp(argv[i], "--max-batch-delay-us")) args.max_batch_delay_us = std::atoll(value());
    else if (!std::strcmp(argv[i], "--rounds")) args.rounds = std::atoi(value());
    else if (!std::strcmp(argv[i], "--only")) {
      const std::string only = value();
      args.run_raw = only == "raw";
      args.run_group = only == "group";
    }
    else {
      std::fprintf(stderr,
                   "usage: %s [--jobs N] [--threads T] [--write-jobs M] [--dir DIR] [--normal] "
                   "[--max-batch-delay-us D] [--rounds R] [--only raw|group]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  if (args.jobs <= 0 || args.threads <= 0 || args.write_jobs < 0 || args.rounds <= 0) {
    std::fprintf(stderr, "--jobs, --threads and --rounds must be positive\n");
    std::exit(2);
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = Parse(argc, argv);
  std::string dir = args.dir;
  bool remove_dir = false;
  if (dir.empty()) {
    char pattern[] = "/var/tmp/reach_store_bench_XXXXXX";
    if (mkdtemp(pattern) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = pattern;
    remove_dir = true;
  }

  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  std::printf("command: %s\n", command.c_str());
  std::printf("dir: %s  synchronous: %s  sqlite: %s  jobs: %d  submit threads: %d  hardware threads: %u\n",
              dir.c_str(), args.synchronous_full ? "FULL" : "NORMAL", sqlite3_libversion(), args.jobs,
              args.threads, std::thread::hardware_concurrency());
  std::printf("each job: INSERT event + INSERT execution + INSERT timer (with their indexes and triggers)\n\n");

  // Alternating rounds, fresh files each time, best of each: the first run in a process (cold
  // allocator, cold page cache) must not decide the ratio.
  double raw = 0;
  GroupResult group{0, 0, 0, 0};
  for (int round = 0; round < args.rounds; ++round) {
    const std::string suffix = std::to_string(round) + ".db";
    double raw_round = 0;
    // On a thread of its own like the store's writer, so both use a per-thread malloc arena.
    if (args.run_raw) std::thread([&] { raw_round = RunRaw(args, dir + "/raw" + suffix); }).join();
    const GroupResult group_round = args.run_group ? RunGroup(args, dir + "/group" + suffix) : GroupResult{0, 0, 0, 0};
    std::printf("round %d: raw %8.0f jobs/s   group %8.0f jobs/s  (%llu batches, %.1f jobs/batch, %.2f ms/batch)\n",
                round + 1, raw_round, group_round.jobs_per_second,
                static_cast<unsigned long long>(group_round.batches), group_round.mean_batch,
                group_round.mean_commit_ms);
    raw = std::max(raw, raw_round);
    if (group_round.jobs_per_second > group.jobs_per_second) group = group_round;
    std::filesystem::remove(dir + "/raw" + suffix);
    std::filesystem::remove(dir + "/group" + suffix);
  }
  std::printf("\nbest of %d:\n", args.rounds);
  std::printf("raw sqlite3, 1 txn per 1000 jobs : %10.0f jobs/s\n", raw);
  std::printf("SqliteStore group commit (Submit): %10.0f jobs/s  (%llu batches, %.1f jobs/batch, %.2f ms/batch)\n",
              group.jobs_per_second, static_cast<unsigned long long>(group.batches), group.mean_batch,
              group.mean_commit_ms);
  double sequential = 0;
  if (args.write_jobs > 0) {
    sequential = RunSequentialWrites(args, dir + "/write.db");
    std::printf("SqliteStore Write() one at a time: %10.0f jobs/s  (%d jobs, one commit each)\n", sequential,
                args.write_jobs);
  }
  if (raw > 0 && group.jobs_per_second > 0) {
    std::printf("\ngroup commit / raw batched inserts = %.2f\n", group.jobs_per_second / raw);
  }
  if (sequential > 0) std::printf("group commit / one commit per job = %.1fx\n", group.jobs_per_second / sequential);

  if (remove_dir) std::filesystem::remove_all(dir);
  return 0;
}
