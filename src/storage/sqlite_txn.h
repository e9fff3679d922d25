#pragma once
// SqliteTxn: the StoreTxn a write job receives. It runs on the writer thread over the writer's
// connection, inside the batch's transaction (and a savepoint per job when SqliteStore runs a
// batch again to isolate a failing job); it only adds reads and writes.
//
// Each method either does all it says or changes nothing it can be blamed for: checks that can
// fail on the caller's input (an identity held by another user, an unknown execution) run
// before the first write. Errors from SQLite itself (I/O) may leave partial writes; the job then
// fails and SqliteStore undoes it (sqlite_store.cc: a failure after writes re-runs the batch
// with savepoints).
//
// Counters (the gauges table and node_stats) are not written per row: each method adds its
// change to the job's deltas in memory; SqliteStore merges a job's deltas into the batch's when
// the job succeeds (drops them when it fails) and writes the batch's once, just before COMMIT
// (FlushCounters). So the counters commit with the rows they count,
// for a handful of statements per batch instead of a trigger per row.

#include <array>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "storage/sqlite_connection.h"
#include "storage/store.h"

namespace reach::storage {

// Counter changes not written yet.
struct CounterDeltas {
  // executions by ExecutionStatus (5), then waits, timers and the rows of event_waits (live and
  // stale, see SweepEventWaits): the rows of the gauges table.
  static constexpr size_t kWaits = 5, kTimers = 6, kEventWaitRows = 7, kGauges = 8;
  std::array<int64_t, kGauges> gauges{};
  using NodeKey = std::tuple<std::string, std::string, std::string>;  // chain, version, node
  // entered, completed, failed, waiting, cancelled. Transparent: looked up by string_views, so a
  // bump of a counter already there copies no strings.
  std::map<NodeKey, std::array<int64_t, 5>, std::less<>> node_stats;

  void Add(const CounterDeltas& other);  // leaves out the nodes `other` did not change
  // Zeroes the counts but keeps the nodes' entries (all-zero ones are skipped where they are
  // read), so that the next job or batch bumps the same nodes without allocating keys again;
  // past kKeptNodes entries (many flow versions since), a real clear.
  static constexpr size_t kKeptNodes = 1024;
  void Clear() {
    gauges.fill(0);
    if (node_stats.size() > kKeptNodes) {
      node_stats.clear();
      return;
    }
    for (auto& entry : node_stats) entry.second.fill(0);
  }
};

// The sweep of stale event_waits entries (SqliteTxn::SweepEventWaits): whether one is running,
// and where its pass is.
struct EventWaitSweep {
  bool check = true;     // compare the counts at the next batch (at start, and after entries were left)
  bool running = false;  // a pass is under way, a chunk per batch
  // Stale entries the last pass could not remove yet (due at or after the earliest timer):
  // the next pass waits until that many more have been left.
  int64_t stale_after_pass = 0;
  // Where the pass is: the last key of the last chunk swept, (user_id, event_type, execution_id,
  // wait_id); at_start: none yet.
  bool at_start = true;
  std::string user_id, event_type;
  int64_t execution_id = 0, wait_id = 0;
};

// What the writer keeps from batch to batch.
struct SqliteWriterState {
  // The next execution id and event seq to hand out; 0: not read from the file yet.
  int64_t next_execution_id = 0;
  int64_t next_event_seq = 0;
  int64_t data_version = -1;      // PRAGMA data_version when it was read (others' commits move it)
  CounterDeltas batch;            // the committed jobs' deltas of the batch being run
  EventWaitSweep sweep;
};

class SqliteTxn final : public StoreTxn {
 public:
  // `connection` must outlive the txn and be in a transaction while the txn is used.
  SqliteTxn(SqliteConnection& connection, SqliteWriterState& state) : connection_(connection), state_(state) {}

  // Job boundaries (SqliteStore): EndJob(true) keeps the job's counter deltas for the batch,
  // EndJob(false) drops them (the job failed: its writes are undone).
  // `actions`: where the job's AfterCommit actions go (cleared here: a rerun registers afresh).
  void BeginJob(std::vector<std::function<void()>>* actions = nullptr) {
    job_.Clear();
    actions_ = actions;
    if (actions_) actions_->clear();
  }
  // Without a job's list (a txn used outside the store's jobs) an action runs at once.
  void AfterCommit(std::function<void()> action) override {
    if (actions_) {
      actions_->push_back(std::move(action));
    } else {
      action();
    }
  }
  void EndJob(bool kept) {
    if (kept) state_.batch.Add(job_);
    job_.Clear();
  }
  // Writes the batch's counter deltas (inside the batch's transaction) and clears them.
  Status FlushCounters();
  // Between the batch's jobs and FlushCounters: removes stale event_waits entries, `chunk`
  // entries read per batch while a pass runs. A timer that fires leaves its wait's entry in
  // event_waits (TakeWakeup: deleting it would write a page of that table chosen by the user,
  // for every timer); FindWaits skips such entries (they have no wakeup row). A pass over the
  // table starts when the stale entries (beyond those the last pass had to leave) outnumber
  // both `min_stale` and the live ones times `stale_ratio`, and removes every entry due before
  // the earliest timer still pending: a wakeup row with a due time is in wakeups_by_due, so an
  // entry due before all of them has none.
  Status SweepEventWaits(int64_t min_stale, double stale_ratio, int chunk);

  Result<std::optional<UserRecord>> GetUser(const std::string& id) override;
  // Also rewrites the user's rows in user_identities. Identity values may be strings, numbers
  // (stored as their JSON text) or arrays of those (several values of one kind, e.g. openids of
  // several official accounts); null and "" mean none; anything else is kInvalidArgument. An
  // identity already held by another user is kAlreadyExists and nothing is written.
  Status PutUser(const UserRecord& user) override;
  Status CreateUser(const UserRecord& user) override;
  Result<std::optional<std::string>> FindUserByIdentity(const std::string& kind, const std::string& value) override;
  Result<UserPage> ListUsers(const std::string& after_id, int limit) override;

  Result<bool> InsertEvent(EventRecord& event) override;
  Result<int64_t> CountEvents(const std::string& user_id, const std::string& type, int64_t since_ms) override;

  Result<int64_t> ReserveExecutionId() override;
  Status InsertExecution(ExecutionRecord& execution) override;
  // kNotFound when no such execution.
  Status UpdateExecution(ExecutionRecord& execution) override;
  Result<bool> EndUnreadable(int64_t id, ExecutionStatus status, const std::string& error, int64_t now_ms) override;
  Result<std::optional<ExecutionRecord>> GetExecutionAsIs(int64_t id) override;
  Result<std::optional<ExecutionRecord>> GetExecution(int64_t id) override;
  Result<EntryState> GetEntryState(const std::string& chain, const std::string& user_id,
                                   const std::string& entry_key) override;

  Status AddWakeup(const WakeupRecord& wakeup) override;
  Result<std::vector<WaitRecord>> FindWaits(const std::string& user_id, const std::string& event_type) override;
  // limit <= 0 returns nothing.
  Result<std::vector<DueWakeup>> DueWakeups(int64_t now_ms, int limit) override;
  Status DeleteWakeup(int64_t execution_id, int64_t wait_id) override;
  Result<bool> TakeWakeup(const WakeupRecord& wakeup) override;
  Status DeleteWakeupsOf(int64_t execution_id) override;
  Result<std::optional<int64_t>> NextTimerDue() override;

  Status BumpNodeStats(const std::string& chain, const std::string& chain_version, const std::string& node,
                       int64_t entered, int64_t completed, int64_t failed, int64_t waiting,
                       int64_t cancelled) override;

  Result<int64_t> GetLastTick(const std::string& chain) override;
  Status SetLastTick(const std::string& chain, int64_t tick_ms) override;

  Status PutFlowSet(const FlowSetRecord& set) override;
  Result<std::optional<FlowSetRecord>> GetFlowSet(const std::string& version) override;
  Status PutFlow(const FlowRecord& flow) override;
  Result<std::vector<FlowRecord>> ListFlows() override;
  Result<std::optional<std::string>> GetMeta(const std::string& key) override;
  Status PutMeta(const std::string& key, const std::string& value) override;

 private:
  // Removes one event_waits entry; how many went (0 or 1).
  Result<int64_t> DeleteEventWait(std::string_view user_id, std::string_view event_type, int64_t execution_id,
                                  int64_t wait_id);
  // Runs a cached statement that returns no rows, binding `args` to ?1, ?2 ...
  template <class... Args>
  Status RunSql(const char* sql, const Args&... args);
  // PutUser and CreateUser: `may_be_stored` false skips reading the user's identity rows (none).
  Status WriteUser(const UserRecord& user, bool may_be_stored);

  SqliteConnection& connection_;
  SqliteWriterState& state_;
  CounterDeltas job_;
  std::vector<std::function<void()>>* actions_ = nullptr;  // the running job's AfterCommit list
};

}  // namespace reach::storage
