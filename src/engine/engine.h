#pragma once
// Engine: what happens to an event, a due timer or a manual enrollment, as one unit of work
// inside a store transaction. The synchronous core: every method takes the StoreTxn of the
// job it runs in, so that an event's insert, the enrollments it causes and the waits it
// resumes commit together (or not at all). EngineService (engine_service.h) runs these on the
// store's writer with group commit; `reach run` and tests call them through Store::Write.
//
// Flow sets: the engine knows the current deployed set and can compile any earlier one from
// the store, so that an execution always runs on the version it entered.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "common/status.h"
#include "dsl/flow_graph.h"
#include "dsl/node_kind.h"
#include "engine/clock.h"
#include "engine/executor.h"
#include "engine/node_executor.h"
#include "storage/store.h"

namespace reach::engine {

// Where rendered messages go (sandbox recorder, channels, `reach run`'s printer).
class SendSink {
 public:
  virtual ~SendSink() = default;
  // Called inside the transaction that runs the node. `key` is deterministic (execution,
  // node use, occurrence): a replay after a crash produces the same key. `execution` is the
  // running execution: its id, flow, chain and user are set; its ctx and event are held by the
  // executor while it runs (empty here) — what a send needs is in `request`. The job may run
  // again (its first run undone): what a sink does outside the store (a log line, a counter, a
  // delivery) belongs in txn.AfterCommit, which runs once, after the job is durable.
  virtual bool Accept(storage::StoreTxn& txn, const storage::ExecutionRecord& execution, const std::string& key,
                      const SendRequest& request, std::string& error) = 0;
};

struct EngineOptions {
  ExecutorOptions executor;
  // Timers fired per job at most, and jobs queued per round when timers are backlogged (they
  // commit together). Jobs run without savepoints now, so a job's cost no longer grows with
  // the square of the pages it touches (it did under a savepoint: 1000 timers in one job fired
  // 2.3x slower than 64 jobs of 16; docs/benchmarks.md, "Engine (issue 3)") and bigger jobs
  // save the per-job work: 2 x 500 fired 58.9 k/s against 42.3 k/s for 64 x 16 (200 k waiting
  // executions, same session). Only a job that fails after writing runs again under a
  // savepoint, with that cost, and that is an I/O error or a bug.
  int timer_batch = 500;
  int timer_jobs = 2;
  int fanout_page = 500;        // users examined per fan-out job
};

// A batch of due timers read and run ahead of the writer (Engine::PrepareDueTimers), to be
// written by a writer job (Engine::ApplyPreparedTimers).
class PreparedTimers {
 public:
  PreparedTimers();
  ~PreparedTimers();
  PreparedTimers(PreparedTimers&&) noexcept;
  PreparedTimers& operator=(PreparedTimers&&) noexcept;
  // Due wakeups read (each is taken by the apply, whatever became of it since).
  size_t size() const;
  bool empty() const { return size() == 0; }
  // The last wakeup read, in due order: where the next batch starts.
  const storage::WakeupCursor& last() const { return last_; }
  // Runs recorded ahead (the rest run on the writer); of those, after the last apply: how many
  // were written as recorded, and how many found their execution changed and ran again on the
  // writer (a recorded run whose wakeup was gone is neither).
  size_t recorded() const { return recorded_; }
  // The batch as one batch per wakeup, in order (this one is left empty): to apply them as
  // separate jobs, so that a run that fails fails alone.
  std::vector<PreparedTimers> Split();
  // The wakeups read, in order.
  std::vector<storage::WakeupRecord> wakeups() const;
  size_t written() const { return written_; }
  size_t stale() const { return stale_; }

 private:
  friend class Engine;
  struct Run;
  std::vector<Run> runs_;
  storage::WakeupCursor last_;
  size_t recorded_ = 0;
  size_t written_ = 0;
  size_t stale_ = 0;
};

// What one event did.
struct EventOutcome {
  int64_t seq = 0;
  bool duplicate = false;
  std::vector<int64_t> started;   // executions enrolled
  std::vector<int64_t> resumed;   // executions resumed
  int64_t earliest_due_ms = 0;    // the earliest timer the event's runs registered (0: none)
  // When HandleEvent fails while reading or resuming a waiting execution (its stored JSON does
  // not parse, its run throws): that execution's id; 0 otherwise. EngineService then ends it as
  // failed and handles the event again, so that one broken execution does not refuse the
  // user's events.
  int64_t failed_execution = 0;
};

class Engine {
 public:
  Engine(const dsl::NodeKindRegistry& kinds, const NodeExecutorRegistry& executors, const Clock& clock,
         SendSink* sends, EngineOptions options = {});

  // Compiles `files` (path, text) as the new current flow set, stores it and the flows'
  // records. Returns the compiler's diagnostics text in `errors` when invalid (nothing changes).
  Status Deploy(storage::StoreTxn& txn, const std::vector<std::pair<std::string, std::string>>& files,
                std::string& errors);
  // Loads the current flow set from the store (at start-up). Not an error when none exists.
  Status LoadCurrent(storage::StoreTxn& txn);
  std::shared_ptr<const dsl::FlowGraph> current() const;
  const EngineOptions& options() const { return options_; }
  const dsl::NodeKindRegistry& kinds() const { return kinds_; }

  // Stores `event` (idempotent by message_id), creates the user when new, enrolls it in the
  // chains its type triggers and resumes its executions waiting for that type.
  // `user`, when given, is the event's user as this job last wrote it (from ResolveUser), so
  // that it is not read again; `user_created`: ResolveUser created it (then it has no waits to
  // look for: a user's executions and waits come after its row, and no row is ever deleted).
  Status HandleEvent(storage::StoreTxn& txn, storage::EventRecord& event, EventOutcome& outcome,
                     storage::UserRecord* user = nullptr, bool user_created = false);
  // Starts `chain` for `user_id` (manual trigger, `reach run`, POST /v1/runs), ignoring the
  // trigger but honouring the entry rule. `event` may be null. Sets `execution_id` (0 when the
  // entry rule refused).
  Status Start(storage::StoreTxn& txn, const std::string& chain, const std::string& user_id,
               const boost::json::value& event, const std::string& request_id, int64_t& execution_id,
               std::string& refused);
  // Fires the timers due at the clock's now (at most options.timer_batch). Sets `fired`.
  Status FireDueTimers(storage::StoreTxn& txn, int& fired);
  // The same in two halves, so that the part that does not write runs off the writer's thread.
  // PrepareDueTimers (any thread; one at a time per `reader`) reads up to options.timer_batch
  // wakeups due now (after `after` in due order when given) from the reader's snapshot and runs
  // each execution against a recording of its writes. A run that would read anything but its
  // own execution (its user, event counts), send, or change its user is not recorded: it runs
  // on the writer. ApplyPreparedTimers (a writer job) takes each wakeup, as FireDueTimers does,
  // and writes the recorded run when the execution is still at the revision it was read at;
  // when it changed since (an event, a cancel, an earlier run of the same batch), or the run was
  // not recorded, the execution is read again and run there. Same outcome as FireDueTimers.
  Status PrepareDueTimers(storage::StoreReader& reader, const storage::WakeupCursor* after, PreparedTimers& batch);
  Status ApplyPreparedTimers(storage::StoreTxn& txn, PreparedTimers& batch, int& fired);
  // Cancels a running or waiting execution (its waits and timers go with it). One whose row does
  // not read (a stored JSON column that does not parse) is cancelled as it is (EndAsIs).
  Status Cancel(storage::StoreTxn& txn, int64_t execution_id, bool& cancelled);
  // Ends as failed, with `reason`, an execution whose run after `wakeup` fails on every try (a
  // stored state or event that does not parse, a bug): takes the wakeup and the execution's
  // others, so that the timers read in the same batch fire. Nothing when the wakeup is gone
  // (something took it since the run failed: then the execution moved on). A row that does not
  // read is failed as it is (StoreTxn::EndUnreadable). Sets `ended`.
  Status FailUnrunnable(storage::StoreTxn& txn, const storage::WakeupRecord& wakeup, const std::string& reason,
                        bool& ended);
  // Ends execution `id` as failed with `reason` (its wakeups go with it), read or not: a row
  // that does not read is failed as it is (StoreTxn::EndUnreadable). `ended`: whether it was
  // still running or waiting.
  Status FailExecution(storage::StoreTxn& txn, int64_t id, const std::string& reason, bool& ended);
  // Finds the user an event or profile update is about: `user_id` when given; else the user
  // holding one of `identities` (kind -> value, e.g. {"openid": "o6_b..."}); else a new user
  // whose id is the first identity as "kind:value". Identities the user lacks are added (unless
  // another user holds them). Sets `user_id`; sets `*user` to the user's record when it had to
  // read or write it anyway (else leaves it alone: HandleEvent reads a user whose id differs),
  // and `*created` to whether this call created it.
  Status ResolveUser(storage::StoreTxn& txn, const boost::json::object& identities, std::string& user_id,
                     storage::UserRecord* user = nullptr, bool* created = nullptr);
  // Pauses or resumes a flow: a paused flow enrolls nobody (its running executions go on).
  // `found` is false when no flow has that name.
  Status SetPaused(storage::StoreTxn& txn, const std::string& flow, bool paused, bool& found);
  bool IsPaused(const std::string& flow) const;
  // Audience fan-out: when `chain` starts with a segment node, enrolls every user the segment
  // matches, a page at a time (ContinueFanouts), each with `entry_key` (the tick, the run id).
  // Returns false in `has_audience` when the chain does not start with a segment.
  Status StartFanout(storage::StoreTxn& txn, const std::string& chain, const std::string& entry_key,
                     bool& has_audience);
  // Enrolls the next page (options.fanout_page users) of the oldest pending fan-out. Sets
  // `started`, `more` (whether fan-outs remain) and `skipped`: the users of the page whose row
  // does not read (id, why), passed over (the fan-out goes on past them).
  Status ContinueFanouts(storage::StoreTxn& txn, int& started, bool& more,
                         std::vector<std::pair<std::string, std::string>>& skipped);
  bool fanouts_pending() const { return fanouts_pending_.load(); }
  // Starts the schedule-triggered chains whose tick is due (missed ticks run once).
  Status RunDueSchedules(storage::StoreTxn& txn, int& started);
  // The next time a schedule tick is due (ms), or -1 when no chain has a schedule. Reads the
  // ticks RunDueSchedules last saw (no store access); a schedule it has not seen yet is due now.
  int64_t NextScheduleDue() const;

  // Called for every finished step with the node's kind (from the writer thread). Optional.
  void set_step_observer(std::function<void(const std::string& kind, bool failed)> observer) {
    step_observer_ = std::move(observer);
  }
  // Receives every line nodes note (for `reach run`). Optional.
  void set_note_sink(std::function<void(int64_t execution, const std::string&)> sink) { note_sink_ = std::move(sink); }

 private:
  class TxnHost;
  class AheadTxn;
  // Node counter deltas by (chain, chain version, node): entered, completed, failed. Summed
  // over a job and written once (FireDueTimers runs many executions of one chain per job).
  Result<std::shared_ptr<const dsl::FlowGraph>> GraphFor(storage::StoreTxn& txn, const std::string& set_version);
  Result<std::shared_ptr<const dsl::FlowGraph>> CompileSet(const storage::FlowSetRecord& set, std::string& errors);
  Status Enroll(storage::StoreTxn& txn, const std::shared_ptr<const dsl::FlowGraph>& graph, uint32_t chain,
                storage::UserRecord& user, const boost::json::value& event, const std::string& request_id,
                int64_t& execution_id, std::string& refused, const std::string* forced_key);
  // Runs `execution` and writes what changed. Node counters go to `stats` when given (the
  // caller flushes them within the same job), else are written before returning. `fresh`: the
  // execution is not in the store yet; it is inserted (and gets its id) during or after the run.
  // `user_loaded` false: `user` holds only the id and is read if the run needs it.
  // `ahead`: the run is recorded (PrepareDueTimers; `txn` is `ahead`), not written.
  Status RunExecution(storage::StoreTxn& txn, storage::ExecutionRecord& execution, storage::UserRecord& user,
                      const Wakeup* wakeup, bool fresh = false, bool user_loaded = true, AheadTxn* ahead = nullptr);
  // Runs `execution_id` on the writer as the timer of `wakeup` woke it (the wakeup taken).
  Status RunTimerOnWriter(storage::StoreTxn& txn, const storage::WakeupRecord& wakeup,
                          std::optional<storage::ExecutionRecord>& execution);
  Status LoadUser(storage::StoreTxn& txn, const std::string& id, storage::UserRecord& user, bool* created = nullptr);
  // Ends execution `id` with `status` and `reason` unless it is finished (NotFound when there is
  // none): End, or EndAsIs for a row that does not read. Sets `ended`.
  Status EndById(storage::StoreTxn& txn, int64_t id, storage::ExecutionStatus status, const std::string& reason,
                 bool& ended);
  // Ends a row that does not read as a whole (StoreTxn::EndUnreadable), with the node counters'
  // waiting counts taken from its state when that column reads. Sets `ended`.
  Status EndAsIs(storage::StoreTxn& txn, int64_t id, storage::ExecutionStatus status, const std::string& reason,
                 bool& ended);
  // Ends `execution` with `status` (and `error` when not empty): not waiting anywhere any more,
  // its wakeups removed, written.
  Status End(storage::StoreTxn& txn, storage::ExecutionRecord& execution, storage::ExecutionStatus status,
             const std::string& error);
  // The segment node whose audience a chain fans out to, or null.
  const dsl::NodeDef* AudienceOf(const dsl::FlowGraph& graph, const dsl::ChainDef& chain) const;

  const dsl::NodeKindRegistry& kinds_;
  const NodeExecutorRegistry& executors_;
  const Clock& clock_;
  SendSink* sends_;
  EngineOptions options_;
  std::function<void(int64_t, const std::string&)> note_sink_;
  std::function<void(const std::string&, bool)> step_observer_;

  mutable std::mutex mu_;  // guards the graphs (read by API threads)
  std::shared_ptr<const dsl::FlowGraph> current_;
  std::map<std::string, std::shared_ptr<const dsl::FlowGraph>> graphs_;  // by set version
  std::map<std::string, bool> paused_;  // flow name -> paused
  std::map<std::string, int64_t> last_ticks_;
  std::atomic<bool> fanouts_pending_{false};  // schedule chain -> last tick run (cache)
  // The earliest due time the current job's runs registered (jobs run one at a time: the
  // writer's thread, or `reach run`'s); HandleEvent reports it in EventOutcome.
  int64_t job_earliest_due_ = 0;
  void NoteDue(int64_t due_ms) {
    if (due_ms > 0 && (job_earliest_due_ == 0 || due_ms < job_earliest_due_)) job_earliest_due_ = due_ms;
  }
};

// The JSON view of an event that expressions and templates see.
boost::json::value EventJson(const storage::EventRecord& event);

}  // namespace reach::engine
