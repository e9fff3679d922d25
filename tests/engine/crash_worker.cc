// crash_worker: the process that crash_test (crash_test.cc) SIGKILLs again and again. It is
// the daemon's engine in miniature: a SqliteStore, an Engine with the built-in node kinds and a
// system clock, and an EngineService that takes events through group commit and fires timers.
//
//   crash_worker --db PATH --mode load --first N [--period-us P]
//       Deploys the crash flow (only when the store has no current flow set), starts the service,
//       prints "READY", then submits events at a steady rate until killed: every period one
//       `e1` event (message_id "m-<n>", user "u<n % 50>", n = N, N+1, ...), and every third
//       period also one `e2` event (message_id "x-<n>") for another user, which resumes that
//       user's waits. "ACK <message_id>" is printed from the done callback only, i.e. only
//       after the commit that made the event (and everything it caused) durable succeeded.
//   crash_worker --db PATH --mode drain [--timeout-ms T]
//       Submits nothing; lets the timer thread finish every execution, then prints "DRAINED"
//       and exits 0, or prints "TIMEOUT <gauges>" and exits 3 after T ms (default 20000).
//
// Output lines (stdout, each written with one write(2) of at most PIPE_BUF bytes, so that a
// SIGKILL never leaves half a line in the pipe and nothing sits in a stdio buffer):
//   READY | ACK <id> | ERR <id> <status> | DRAINED | TIMEOUT ... | FATAL <what>
// Dies with its parent (PR_SET_PDEATHSIG), so a crashed test leaves no worker behind.

#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "engine/engine.h"
#include "engine/engine_service.h"
#include "nodes/builtin_kinds.h"
#include "storage/sqlite_store.h"

namespace {

using namespace reach;

// The journey every e1 starts: a (records the starting message_id in ctx, so that the checker
// can tell which event enrolled which execution: the execution's `event` is replaced by the
// e2 that w matched), w (wait for e2, 1 s), b or c, dl (1 s), d. Legal traces:
// a==>w==>b==>dl==>d and a==>w==>c==>dl==>d. Keep in step with crash_test.cc.
constexpr char kFlow[] = R"yaml(flow:
  nodes:
    - {id: a, type: set, ctx: {mid: 'event.message_id'}}
    - {id: w, type: wait_event, event: e2, timeout: 1s}
    - {id: b, type: noop}
    - {id: c, type: noop}
    - {id: dl, type: delay, duration: 1s}
    - {id: d, type: noop}
  chain:
    - name: crash_journey
      trigger: { event: e1 }
      entry: { reentry: always }
      value: "THEN(a, IF(w, b, c), dl, d)"
)yaml";

// One whole line in one write(2): atomic on a pipe up to PIPE_BUF bytes.
void Say(const std::string& line) {
  std::string text = line + "\n";
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::_Exit(4);  // the parent is gone (EPIPE): nothing left to report to
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

[[noreturn]] void Fatal(const std::string& what) {
  Say("FATAL " + what);
  std::_Exit(2);
}

// Sends go nowhere: the crash flow has no send nodes.
class NullSink final : public engine::SendSink {
 public:
  bool Accept(storage::StoreTxn&, const storage::ExecutionRecord&, const std::string&, const engine::SendRequest&,
              std::string&) override {
    return true;
  }
};

struct Args {
  std::string db;
  std::string mode;
  int64_t first = 0;
  int64_t period_us = 2000;
  int64_t timeout_ms = 20000;
};

Args Parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Fatal(std::string(argv[i]) + " needs a value");
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--db")) args.db = value();
    else if (!std::strcmp(argv[i], "--mode")) args.mode = value();
    else if (!std::strcmp(argv[i], "--first")) args.first = std::atoll(value());
    else if (!std::strcmp(argv[i], "--period-us")) args.period_us = std::atoll(value());
    else if (!std::strcmp(argv[i], "--timeout-ms")) args.timeout_ms = std::atoll(value());
    else Fatal(std::string("unknown argument ") + argv[i]);
  }
  if (args.db.empty() || (args.mode != "load" && args.mode != "drain") || args.period_us <= 0)
    Fatal("usage: crash_worker --db PATH --mode load|drain [--first N] [--period-us P] [--timeout-ms T]");
  return args;
}

storage::EventRecord MakeEvent(const std::string& type, const std::string& message_id, const std::string& user) {
  storage::EventRecord e;
  e.type = type;
  e.message_id = message_id;
  e.user_id = user;
  e.request_id = "req-" + message_id;
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::signal(SIGPIPE, SIG_IGN);  // a vanished reader shows as EPIPE in Say()
  const Args args = Parse(argc, argv);

  storage::StoreOptions options;
  options.path = args.db;
  auto opened = storage::OpenSqliteStore(options);
  if (!opened.ok()) Fatal("open: " + opened.status().ToString());
  std::unique_ptr<storage::Store> store = std::move(*opened);

  engine::SystemClock clock;
  NullSink sink;
  engine::Engine engine(nodes::BuiltinKinds(), nodes::BuiltinExecutors(), clock, &sink);
  Status status = store->Write([&](storage::StoreTxn& txn) { return engine.LoadCurrent(txn); });
  if (!status.ok()) Fatal("load: " + status.ToString());
  if (!engine.current()) {
    // Deployed once, by the first worker that gets this far; a worker killed before the commit
    // leaves nothing, and the next one deploys again.
    std::string errors;
    status = store->Write([&](storage::StoreTxn& txn) { return engine.Deploy(txn, {{"crash.yaml", kFlow}}, errors); });
    if (!status.ok()) Fatal("deploy: " + status.ToString() + " " + errors);
  }

  // A short timer-thread sleep cap: timers are read from the index anyway; this only bounds
  // how late the thread notices timers added by a job (it is also woken by Wake()).
  engine::EngineService service(*store, engine, clock, /*max_sleep_ms=*/100);
  status = service.Start();
  if (!status.ok()) Fatal("start: " + status.ToString());
  Say("READY");

  if (args.mode == "drain") {
    auto reader = store->NewReader();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(args.timeout_ms);
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      auto gauges = reader->GetGauges();
      if (!gauges.ok()) Fatal("gauges: " + gauges.status().ToString());
      const auto& g = *gauges;
      const int64_t running = g.executions_by_status[static_cast<int>(storage::ExecutionStatus::kRunning)];
      const int64_t waiting = g.executions_by_status[static_cast<int>(storage::ExecutionStatus::kWaiting)];
      last = "running=" + std::to_string(running) + " waiting=" + std::to_string(waiting) +
             " waits=" + std::to_string(g.waits) + " timers=" + std::to_string(g.timers);
      if (running == 0 && waiting == 0 && g.waits == 0 && g.timers == 0) {
        reader.reset();
        service.Stop();
        store->Close();
        Say("DRAINED");
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Say("TIMEOUT " + last);
    std::_Exit(3);
  }

  // Load: a steady rate on the steady clock (sleep_until, so that slow submits do not slow the
  // rate down), until SIGKILL.
  auto submit = [&](storage::EventRecord event) {
    const std::string id = event.message_id;
    service.SubmitEvent(std::move(event), {}, [id](const Status& s, const engine::EventOutcome&) {
      // Runs on the writer thread after the batch's COMMIT returned (store.h): only now is the
      // event durable, so only now may it be acknowledged.
      if (s.ok()) Say("ACK " + id);
      else Say("ERR " + id + " " + s.ToString());
    });
  };
  auto next = std::chrono::steady_clock::now();
  for (int64_t n = args.first;; ++n) {
    submit(MakeEvent("e1", "m-" + std::to_string(n), "u" + std::to_string(n % 50)));
    if (n % 3 == 0) submit(MakeEvent("e2", "x-" + std::to_string(n), "u" + std::to_string((n * 7 + 3) % 50)));
    next += std::chrono::microseconds(args.period_us);
    std::this_thread::sleep_until(next);
  }
}
