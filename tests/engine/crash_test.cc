// Crash test: the engine's durability promise under SIGKILL.
//
// A worker process (crash_worker.cc) runs the engine over a SQLite file and submits events at
// a steady rate, printing "ACK <message_id>" only after the commit that made each event durable.
// This test kills it with SIGKILL at a random moment (100-700 ms after it is ready), many rounds
// in a row, each round restarting on the same file: executions are left waiting on events and
// timers, timers fall due while nobody runs, the next worker fires them while taking new events.
// A last worker drains (no new events) until every execution has finished. Then, reading the
// file:
//   - every ACKed message_id is stored as an event (an acknowledgement is never lost);
//   - every stored e1 enrolled exactly one execution, and every execution came from one e1;
//   - every execution is completed, with one of the two legal traces
//     (a==>w==>b==>dl==>d, a==>w==>c==>dl==>d): no node ran twice, no timer fired twice or
//     never, no wait was resumed twice;
//   - no wait, timer or waiting-node row is left, and the node counters add up.
//
// What it cannot see: fsync. A SIGKILL leaves the OS page cache intact, so even
// synchronous=OFF would pass; what it checks is that the engine acknowledges only what it has
// committed and that recovery after a kill at any point is exact.
//
// Reproduce a failing run with REACH_CRASH_SEED=<seed printed by the failing run>.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "storage/sqlite_connection.h"
#include "storage/sqlite_store.h"

#ifndef REACH_CRASH_WORKER
#error "REACH_CRASH_WORKER must name the crash_worker executable (tests/CMakeLists.txt)"
#endif

namespace reach::engine {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kRounds = 20;
// The rounds stop early past this (a loaded machine); the drain and the checks come on top.
constexpr auto kRoundsBudget = std::chrono::seconds(35);
// Generous: a worker on a loaded 2-core machine may take long to open, recover and deploy.
constexpr auto kReadyTimeout = std::chrono::seconds(20);
constexpr auto kExitTimeout = std::chrono::seconds(45);

// A child process whose stdout is a pipe read line by line.
class WorkerProcess {
 public:
  ~WorkerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Reap();
    }
    if (fd_ >= 0) ::close(fd_);
  }

  // fork + exec of the worker with `args`; false (and a message) when it cannot be started.
  bool Start(const std::vector<std::string>& args, std::string& error) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      error = std::string("pipe: ") + std::strerror(errno);
      return false;
    }
    std::vector<std::string> argv_storage = {REACH_CRASH_WORKER};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
      error = std::string("fork: ") + std::strerror(errno);
      ::close(fds[0]);
      ::close(fds[1]);
      return false;
    }
    if (pid == 0) {
      // The child: only async-signal-safe calls until exec.
      ::dup2(fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    pid_ = pid;
    fd_ = fds[0];
    buffer_.clear();
    eof_ = false;
    return true;
  }

  // Reads until `until` returns true for a line, EOF, or `deadline`. Every complete line goes
  // to `on_line` first. Returns true when `until` matched.
  bool ReadUntil(SteadyClock::time_point deadline, const std::function<void(const std::string&)>& on_line,
                 const std::function<bool(const std::string&)>& until) {
    while (!eof_) {
      // Lines already buffered first.
      for (size_t pos; (pos = buffer_.find('\n')) != std::string::npos;) {
        std::string line = buffer_.substr(0, pos);
        buffer_.erase(0, pos + 1);
        on_line(line);
        if (until && until(line)) return true;
      }
      auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;  // timed out: the deadline check above ends the loop
      char chunk[65536];
      ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof_ = true;  // a partial last line (impossible: one write per line) is dropped
        break;
      }
      buffer_.append(chunk, static_cast<size_t>(n));
    }
    return false;
  }

  // SIGKILL, then every line written before the kill, then the exit status.
  void KillAndCollect(const std::function<void(const std::string&)>& on_line) {
    ::kill(pid_, SIGKILL);
    ReadUntil(SteadyClock::now() + kExitTimeout, on_line, nullptr);
    Reap();
  }

  // Waits for the process to exit on its own (after reading its output to EOF).
  int WaitExit(const std::function<void(const std::string&)>& on_line) {
    ReadUntil(SteadyClock::now() + kExitTimeout, on_line, nullptr);
    if (!eof_) ::kill(pid_, SIGKILL);  // hung: the caller sees a failed status
    return Reap();
  }

 private:
  int Reap() {
    int status = 0;
    if (pid_ > 0) ::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return status;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// What the workers said, over every round.
struct Transcript {
  std::set<std::string> acked;
  std::vector<std::string> errors;  // ERR / FATAL / TIMEOUT lines
  void Take(const std::string& line) {
    if (line.rfind("ACK ", 0) == 0) acked.insert(line.substr(4));
    else if (line.rfind("ERR ", 0) == 0 || line.rfind("FATAL ", 0) == 0 || line.rfind("TIMEOUT", 0) == 0)
      errors.push_back(line);
  }
};

std::string TempDir() {
  std::string dir = (std::filesystem::temp_directory_path() / "reach-crash-XXXXXX").string();
  if (!::mkdtemp(dir.data())) std::abort();
  return dir;
}

uint64_t Seed() {
  if (const char* s = std::getenv("REACH_CRASH_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

// Reads every (message_id, type) in the events table. StoreReader has no event listing (the API
// does not need one), so the test reads the table through a read-only connection.
std::map<std::string, std::string> StoredEvents(const std::string& path) {
  std::map<std::string, std::string> events;
  storage::SqliteConnection::Options options;
  options.read_only = true;
  options.create = false;
  auto connection = storage::SqliteConnection::Open(path, options);
  EXPECT_TRUE(connection.ok()) << connection.status().ToString();
  if (!connection.ok()) return events;
  auto stmt = (*connection)->Prepare("SELECT message_id, type FROM events");
  EXPECT_TRUE(stmt.ok()) << stmt.status().ToString();
  if (!stmt.ok()) return events;
  while (true) {
    auto row = stmt->Step();
    EXPECT_TRUE(row.ok()) << row.status().ToString();
    if (!row.ok() || !*row) break;
    events[stmt->ColumnText(0)] = stmt->ColumnText(1);
  }
  return events;
}

// count(*) of `table` read straight from the file (the gauges are kept by triggers; this checks
// them too).
int64_t CountRows(const std::string& path, const char* sql) {
  storage::SqliteConnection::Options options;
  options.read_only = true;
  options.create = false;
  auto connection = storage::SqliteConnection::Open(path, options);
  if (!connection.ok()) return -1;
  auto stmt = (*connection)->Prepare(sql);
  if (!stmt.ok()) return -1;
  auto row = stmt->Step();
  return row.ok() && *row ? stmt->ColumnInt(0) : -1;
}

TEST(CrashTest, AckedEventsSurviveSigkillAndEveryJourneyRunsExactlyOnce) {
  const uint64_t seed = Seed();
  std::mt19937_64 random(seed);
  std::printf("crash test seed %llu (REACH_CRASH_SEED=%llu reproduces the kill times)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  const std::string dir = TempDir();
  const std::string db = dir + "/reach.db";
  Transcript transcript;
  auto take = [&](const std::string& line) { transcript.Take(line); };

  // ---- rounds of load, each ended by SIGKILL --------------------------------------------------
  const auto rounds_start = SteadyClock::now();
  int rounds = 0, rounds_with_acks = 0;
  for (int round = 0; round < kRounds && SteadyClock::now() - rounds_start < kRoundsBudget; ++round) {
    WorkerProcess worker;
    std::string error;
    ASSERT_TRUE(worker.Start({"--db", db, "--mode", "load", "--first", std::to_string(int64_t{round} * 1000000)},
                             error))
        << error;
    const size_t acked_before = transcript.acked.size();
    bool ready = worker.ReadUntil(SteadyClock::now() + kReadyTimeout, take,
                                  [](const std::string& line) { return line == "READY"; });
    ASSERT_TRUE(ready) << "round " << round << ": the worker did not get ready; errors: "
                       << (transcript.errors.empty() ? "none" : transcript.errors.back());
    const auto run_for = milliseconds(std::uniform_int_distribution<int>(100, 700)(random));
    worker.ReadUntil(SteadyClock::now() + run_for, take, nullptr);
    worker.KillAndCollect(take);
    ++rounds;
    if (transcript.acked.size() > acked_before) ++rounds_with_acks;
  }

  // ---- drain -------------------------------------------------------------------------------
  {
    WorkerProcess worker;
    std::string error;
    ASSERT_TRUE(worker.Start({"--db", db, "--mode", "drain", "--timeout-ms", "20000"}, error)) << error;
    bool drained = false;
    int status = worker.WaitExit([&](const std::string& line) {
      take(line);
      if (line == "DRAINED") drained = true;
    });
    EXPECT_TRUE(drained) << "the drain worker did not finish every execution; errors: "
                         << (transcript.errors.empty() ? "none" : transcript.errors.back());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "drain worker status " << status;
  }
  EXPECT_TRUE(transcript.errors.empty()) << transcript.errors.size() << " error lines, first: "
                                         << transcript.errors.front();

  // The test means nothing without load: most rounds must have acknowledged something.
  size_t acked_e1 = 0;
  for (const std::string& id : transcript.acked) acked_e1 += id.rfind("m-", 0) == 0;
  std::printf("%d rounds (%d with acknowledgements), %zu events acknowledged (%zu e1)\n", rounds, rounds_with_acks,
              transcript.acked.size(), acked_e1);
  EXPECT_GE(rounds, 5);
  EXPECT_GE(rounds_with_acks, rounds / 2);
  EXPECT_GE(acked_e1, 100u);

  // ---- what the file holds -------------------------------------------------------------------
  // 1. Every acknowledged event is stored.
  const std::map<std::string, std::string> events = StoredEvents(db);
  std::vector<std::string> lost;
  for (const std::string& id : transcript.acked)
    if (!events.count(id)) lost.push_back(id);
  EXPECT_TRUE(lost.empty()) << lost.size() << " acknowledged events are not stored, e.g. " << lost.front();

  // 2-4. Executions: one per e1, completed, legal trace.
  storage::StoreOptions options;
  options.path = db;
  auto store = storage::OpenSqliteStore(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto reader = (*store)->NewReader();
  const std::set<std::string> legal = {"a==>w==>b==>dl==>d", "a==>w==>c==>dl==>d"};
  std::map<std::string, int64_t> execution_of;  // e1 message_id -> execution id
  std::vector<std::string> problems;
  int64_t executions = 0;
  storage::ExecutionFilter filter;
  filter.limit = 1000;
  for (;;) {
    auto page = reader->ListExecutions(filter);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    if (page->empty()) break;
    for (const storage::ExecutionRecord& e : *page) {
      ++executions;
      filter.after_id = e.id;
      const std::string where = "execution " + std::to_string(e.id);
      if (e.status != storage::ExecutionStatus::kCompleted)
        problems.push_back(where + " is " + std::string(storage::ExecutionStatusName(e.status)) + " (" + e.trace + ")");
      else if (!legal.count(e.trace))
        problems.push_back(where + " has trace " + e.trace);
      const boost::json::value* mid = e.ctx.if_contains("mid");
      if (!mid || !mid->is_string()) {
        problems.push_back(where + " has no ctx.mid");
        continue;
      }
      const std::string id(mid->as_string());
      auto stored = events.find(id);
      if (stored == events.end() || stored->second != "e1")
        problems.push_back(where + " came from " + id + ", which is not a stored e1");
      auto [it, fresh] = execution_of.emplace(id, e.id);
      if (!fresh) problems.push_back(id + " enrolled executions " + std::to_string(it->second) + " and " +
                                     std::to_string(e.id));
    }
  }
  for (const auto& [id, type] : events)
    if (type == "e1" && !execution_of.count(id)) problems.push_back("stored e1 " + id + " enrolled nothing");
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems, first: " << problems.front()
                                << (problems.size() > 1 ? "; last: " + problems.back() : "");
  EXPECT_GE(executions, static_cast<int64_t>(acked_e1));

  // 5. Nothing left behind, by the gauges and by counting the rows.
  auto gauges = reader->GetGauges();
  ASSERT_TRUE(gauges.ok()) << gauges.status().ToString();
  for (storage::ExecutionStatus s : {storage::ExecutionStatus::kRunning, storage::ExecutionStatus::kWaiting,
                                     storage::ExecutionStatus::kFailed, storage::ExecutionStatus::kCancelled})
    EXPECT_EQ(gauges->executions_by_status[static_cast<int>(s)], 0) << storage::ExecutionStatusName(s);
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(storage::ExecutionStatus::kCompleted)], executions);
  EXPECT_EQ(gauges->waits, 0);
  EXPECT_EQ(gauges->timers, 0);
  EXPECT_FALSE(gauges->next_timer_due_ms.has_value());
  EXPECT_EQ(CountRows(db, "SELECT count(*) FROM wakeups"), 0);
  EXPECT_EQ(CountRows(db, "SELECT count(*) FROM executions WHERE json_extract(state, '$.wn') IS NOT NULL"), 0);
  EXPECT_EQ(CountRows(db, "SELECT coalesce(sum(waiting), -1) FROM node_stats"), 0);

  // 6. Node counters: every node entered and completed once per execution (committed with the
  // steps, so a replay after a kill would show as a surplus).
  auto stats = reader->GetNodeStats("crash_journey");
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  std::map<std::string, storage::NodeStats> by_node;
  for (const storage::NodeStats& s : *stats) by_node[s.node] = s;
  for (const char* node : {"a", "w", "dl", "d"}) {
    EXPECT_EQ(by_node[node].entered, executions) << node;
    EXPECT_EQ(by_node[node].completed, executions) << node;
    EXPECT_EQ(by_node[node].waiting, 0) << node;
  }
  EXPECT_EQ(by_node["b"].completed + by_node["c"].completed, executions);
  EXPECT_GT(by_node["b"].completed, 0) << "no e2 ever resumed a wait: the test lost its event path";
  EXPECT_GT(by_node["c"].completed, 0) << "no wait ever timed out: the test lost its timer path";

  reader.reset();
  (*store)->Close();
  if (!HasFailure()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  } else {
    std::printf("the database is kept for inspection: %s\n", db.c_str());
  }
}

}  // namespace
}  // namespace reach::engine
