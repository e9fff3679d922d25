#pragma once
// Store: where everything the engine knows is kept. The interface assumes transactions and
// nothing else of SQLite, so that a PostgreSQL implementation can follow.
//
// Writes go through one writer (group commit): a caller Submit()s a job; the writer runs many
// queued jobs in one transaction (a job that fails is rolled back alone: what it wrote is
// undone, the other jobs' writes commit), commits once (one fsync for the batch, or for several) and only then
// calls each job's `done`. A job may run more than once (an implementation may roll a batch
// back and run it again to isolate a failing job): a job must set its outputs afresh each time
// it runs, and what it does outside the store may happen again. (In a batch run again, the
// jobs before the failing one run after the first run's later jobs changed memory that is not
// in the store — a flow paused, a flow set deployed — and see that change.)
// Jobs run on the writer thread, one at a time, and see each other's writes. Reads that are
// not part of a write use a StoreReader (own connection; snapshot per call).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/records.h"

namespace reach::storage {

// What a write job may read and write. Valid only inside the job that received it.
class StoreTxn {
 public:
  virtual ~StoreTxn() = default;

  // Runs `action` once this job's writes are durable (after its batch's commit and fsync, just
  // before the job's `done`, on the thread that calls `done`), and never when the job fails or
  // its batch does not commit. A job that runs again (Store: a batch rerun with savepoints)
  // registers its actions again; those of the run that was undone are dropped. For effects
  // outside the store that must happen once per committed job: a send's log line, step
  // counters. An action must not throw (what it throws is dropped) nor wait on the store.
  virtual void AfterCommit(std::function<void()> action) = 0;

  // Users.
  virtual Result<std::optional<UserRecord>> GetUser(const std::string& id) = 0;
  virtual Status PutUser(const UserRecord& user) = 0;  // insert or replace
  // Inserts a user this job found missing (GetUser said so): as PutUser, without reading what is
  // stored. kAlreadyExists, with nothing written, when one of its identities is another user's.
  virtual Status CreateUser(const UserRecord& user) = 0;
  // Finds the user holding identity `kind` = `value` (e.g. "openid" = "o6_b..."); nullopt if none.
  virtual Result<std::optional<std::string>> FindUserByIdentity(const std::string& kind, const std::string& value) = 0;

  // Up to `limit` users with ids greater than `after_id`, in id order (paging for segment
  // fan-out: a journey's audience is read a page at a time, never all at once). A row whose
  // JSON does not parse (edited by hand, written by a buggy version) is skipped and named in
  // `unreadable`, not an error: one such row must not stop a walk over every user.
  struct UserPage {
    std::vector<UserRecord> users;
    std::vector<std::pair<std::string, std::string>> unreadable;  // (id, why)
    std::string last_id;  // the page's last id, read or not ("" for an empty page)
    size_t rows = 0;      // ids on the page, read or not: fewer than `limit` at the end
  };
  virtual Result<UserPage> ListUsers(const std::string& after_id, int limit) = 0;

  // Events. Inserts `event` (setting its seq) and returns true; when an event with the same
  // non-empty message_id exists, changes nothing, sets `event.seq` to the existing one and
  // returns false.
  virtual Result<bool> InsertEvent(EventRecord& event) = 0;
  // Events of `type` for `user_id` with timestamp_ms >= since_ms.
  virtual Result<int64_t> CountEvents(const std::string& user_id, const std::string& type, int64_t since_ms) = 0;

  // Executions.
  // An id for an execution inserted later (by this job). The id of a committed execution is
  // never handed out again; one reserved by a job that did not commit may be, after a restart
  // (nothing kept names it). Lets a caller key things by the id before the row exists.
  virtual Result<int64_t> ReserveExecutionId() = 0;
  // Inserts `execution` with its id when it holds a reserved one, else sets a new id.
  virtual Status InsertExecution(ExecutionRecord& execution) = 0;
  // Writes what a run can change: status, state, ctx, event, trace, error, updated_ms and
  // finished_ms. The enrollment fields (flow, chain, versions, user_id, entry_key, request_id,
  // created_ms) are kept as inserted. Bumps the revision, and sets the record's rev and
  // stored_status to the row's. A record read from the store (stored_status set) must still be
  // current: an update over a change made since it was read is refused with kAborted and writes
  // nothing (a caller that read it elsewhere, ahead of the job, reads it again and redoes the run).
  virtual Status UpdateExecution(ExecutionRecord& execution) = 0;
  virtual Result<std::optional<ExecutionRecord>> GetExecution(int64_t id) = 0;
  // The row with what reads: a JSON column that does not parse is left empty and named in
  // ExecutionRecord::unreadable (GetExecution fails instead). Such a record is never written back.
  virtual Result<std::optional<ExecutionRecord>> GetExecutionAsIs(int64_t id) = 0;
  // Ends execution `id` as `status` (failed or cancelled) with `error` (kept as it was when
  // empty), and removes its wakeups, without reading its JSON columns: for a row that cannot be
  // read or run (a stored state or event that does not parse). Bumps the revision. True when it
  // ended the row; false (nothing done) when the execution is gone or already finished. The node
  // counters' waiting counts are not touched (Engine::EndAsIs takes them from the state when that column reads).
  virtual Result<bool> EndUnreadable(int64_t id, ExecutionStatus status, const std::string& error, int64_t now_ms) = 0;
  // For entry rules: whether `user_id` has any execution of `chain` with `entry_key`, and
  // whether one is still unfinished.
  struct EntryState {
    bool any = false;
    bool active = false;
  };
  virtual Result<EntryState> GetEntryState(const std::string& chain, const std::string& user_id,
                                           const std::string& entry_key) = 0;

  // Wakeups (records.h): indexed by (user, event type) for events and by due time for timers.
  // kAlreadyExists when the execution has a wakeup with that wait id.
  virtual Status AddWakeup(const WakeupRecord& wakeup) = 0;
  // The wakeups waiting for an event of `event_type` for `user_id`, by execution and wait id.
  virtual Result<std::vector<WaitRecord>> FindWaits(const std::string& user_id, const std::string& event_type) = 0;
  // Up to `limit` wakeups due at or before now_ms, earliest first (then by execution, wait id),
  // each with its execution as it is at the start of the call.
  virtual Result<std::vector<DueWakeup>> DueWakeups(int64_t now_ms, int limit) = 0;
  // Removes a wakeup, its wait and its timer (nothing when there is none).
  virtual Status DeleteWakeup(int64_t execution_id, int64_t wait_id) = 0;
  // Removes `wakeup` (as DueWakeups read it): true when it was still there, false when
  // something removed it since. Cheaper than DeleteWakeup: the row need not be read first.
  virtual Result<bool> TakeWakeup(const WakeupRecord& wakeup) = 0;
  virtual Status DeleteWakeupsOf(int64_t execution_id) = 0;
  // The earliest due time, or nullopt when no wakeup has one.
  virtual Result<std::optional<int64_t>> NextTimerDue() = 0;

  // Node counters of a chain version: adds the deltas. `waiting` counts the executions
  // suspended at the node now: +1 when one suspends there, -1 when it leaves (resumes, is
  // cancelled); `cancelled` the executions cancelled while there. Once nothing runs at a node,
  // entered = completed + failed + waiting + cancelled, except for waits a run left unfinished
  // (a construct's maxWait that gave up on a branch, a parallel branch dropped when its run
  // ended), which leave `waiting` and are counted nowhere else. Counters are applied with the
  // job's other writes (rolled back with them).
  virtual Status BumpNodeStats(const std::string& chain, const std::string& chain_version, const std::string& node,
                               int64_t entered, int64_t completed, int64_t failed, int64_t waiting = 0,
                               int64_t cancelled = 0) = 0;

  // Cron triggers: the last tick that ran for `chain` (0 when never).
  virtual Result<int64_t> GetLastTick(const std::string& chain) = 0;
  virtual Status SetLastTick(const std::string& chain, int64_t tick_ms) = 0;

  // Flows.
  virtual Status PutFlowSet(const FlowSetRecord& set) = 0;  // idempotent by version
  virtual Result<std::optional<FlowSetRecord>> GetFlowSet(const std::string& version) = 0;
  virtual Status PutFlow(const FlowRecord& flow) = 0;       // insert or replace by name
  virtual Result<std::vector<FlowRecord>> ListFlows() = 0;
  // Small key/value settings ("current_set" -> flow set version, ...).
  virtual Result<std::optional<std::string>> GetMeta(const std::string& key) = 0;
  virtual Status PutMeta(const std::string& key, const std::string& value) = 0;
};

// Read-only access from any thread (each call uses its own snapshot).
class StoreReader {
 public:
  virtual ~StoreReader() = default;
  virtual Result<std::optional<ExecutionRecord>> GetExecution(int64_t id) = 0;
  virtual Result<std::vector<ExecutionRecord>> ListExecutions(const ExecutionFilter& filter) = 0;
  virtual Result<std::optional<UserRecord>> GetUser(const std::string& id) = 0;
  virtual Result<std::vector<FlowRecord>> ListFlows() = 0;
  virtual Result<std::optional<FlowSetRecord>> GetFlowSet(const std::string& version) = 0;
  virtual Result<std::optional<std::string>> GetMeta(const std::string& key) = 0;
  // As StoreTxn::DueWakeups, from this reader's snapshot, and only the wakeups after `after`
  // in due order when given (null: from the earliest). For the timer thread, which reads and
  // runs a batch while the writer commits the previous one (which the snapshot may not show
  // yet: the cursor skips what was read before).
  virtual Result<std::vector<DueWakeup>> DueWakeups(int64_t now_ms, int limit, const WakeupCursor* after) = 0;
  // Per-node stats of `chain` summed over its versions; `waiting` is the number of executions
  // suspended at the node now (a counter kept with the executions' writes).
  virtual Result<std::vector<NodeStats>> GetNodeStats(const std::string& chain) = 0;
  // Gauges for /metrics.
  struct Gauges {
    int64_t executions_by_status[5] = {0, 0, 0, 0, 0};  // indexed by ExecutionStatus
    int64_t waits = 0;
    int64_t timers = 0;
    // Wait entries kept after their wakeup went (a fired timer's), until a sweep removes them;
    // 0 where a store keeps none (docs/storage.md: the SQLite store's event_waits).
    int64_t stale_waits = 0;
    std::optional<int64_t> next_timer_due_ms;
  };
  virtual Result<Gauges> GetGauges() = 0;
};

struct StoreOptions {
  std::string path;                   // the database file; created when missing
  size_t max_batch_jobs = 1024;       // jobs per transaction at most
  int64_t max_batch_delay_us = 0;     // wait this long for more jobs before committing (0: none)
  bool synchronous_full = true;       // fsync every commit (false: WAL's NORMAL, loses the last
                                      // commits on power loss, never on a process crash)
  // With synchronous_full: the writer commits without waiting for the disk and a second thread
  // fsyncs the WAL (one fsync covering every commit since the last) before the `done`s run, so
  // the next batch executes while the previous one reaches the disk. A `done` still runs only
  // after its batch is durable. false: SQLite fsyncs inside COMMIT (synchronous=FULL).
  bool overlap_sync = true;
  // With overlap_sync: the sync thread starts an fdatasync at most once per this many
  // microseconds; the commits made meanwhile wait for it and share it (0: back to back). An
  // fsync after a quiet spell starts at once. Each flush costs a VM host-side CPU time taken from
  // busy vCPUs (a spinner bound to the other vCPU lost up to 6 % of its time, in stalls of up to
  // 10 ms, at 2,000 fsyncs/s, and nothing at 500/s with the same bytes: bench/fsync_stall_bench.cc,
  // docs/benchmarks.md): 500 µs cut the fsyncs by a third to a half at half of the ingest
  // maximum, for ~0.4 ms more at the median.
  int64_t min_fsync_interval_us = 500;
  // The writer's page cache (readers keep SQLite's default, 2 MB each). The pages a timer batch
  // updates were read by the timer thread's reader, not the writer: with 2 MB the writer read
  // ~0.5 pages per fired timer again, with 16 MB ~0.25 (docs/benchmarks.md).
  int64_t writer_cache_mb = 16;
  // A fired timer leaves its wait's entry in the SQLite store's event_waits for a sweep, which
  // reads `event_wait_sweep_chunk` entries per batch while a pass runs; a pass starts when the
  // stale entries outnumber both `event_wait_sweep_min_stale` and the live ones times
  // `event_wait_sweep_stale_ratio` (docs/storage.md: the table holds at most that many stale
  // entries per live one, and a pass reads that many entries per one it removes).
  int64_t event_wait_sweep_min_stale = 10000;
  double event_wait_sweep_stale_ratio = 1.0;
  int event_wait_sweep_chunk = 1000;
  // WAL frames past which the SQLite store's writer checkpoints itself (0: the built-in 65,536,
  // 256 MB; see sqlite_store.cc). For tests.
  int wal_bound_frames = 0;
  // Called after each batch is durable, on the thread that runs the `done`s, with the batch's
  // job count and the time from its BEGIN to durable (for the commit histograms in /metrics).
  // Optional.
  std::function<void(size_t jobs, int64_t micros)> on_commit;
  // Called by the sync thread after each fdatasync() of the WAL (overlap_sync only), with how
  // long it took: the disk's share of the commit latency (/metrics: reach_wal_fsync_seconds).
  // Optional.
  std::function<void(int64_t micros)> on_sync;
  // Called after each WAL checkpoint that ran to its end (copied what it could and synced the
  // database file), on the thread that ran it: `by_writer` for the writer's own at the WAL's
  // bound, else the checkpointer thread's; with how long it took (/metrics:
  // reach_store_checkpoint_seconds). Not for one that found another checkpoint running. Optional.
  std::function<void(bool by_writer, int64_t micros)> on_checkpoint;
};

class Store {
 public:
  using Job = std::function<Status(StoreTxn&)>;
  using Done = std::function<void(const Status&)>;

  virtual ~Store() = default;

  // Queues `job` for the writer. `done` runs on the store's thread (the writer's, or the sync
  // thread's: see StoreOptions::overlap_sync) once the batch holding the job has committed and
  // is durable (with the job's status), or failed to (with that error); `done`s run in commit
  // order, one at a time. Never blocks on I/O. After Close(), jobs are refused with kUnavailable, and after a failed commit
  // with health()'s error; a refused job never runs and its `done` is called at once on the
  // calling thread (so do not hold a lock in Submit that `done` takes). `done` may be empty.
  // Thread-safe. Jobs may Submit() further jobs (they join a later batch).
  virtual void Submit(Job job, Done done) = 0;
  // Runs `job` in a batch of its own (or with others queued) and waits for its outcome.
  // Thread-safe; must not be called from a job or a `done` (that would wait for itself: it
  // returns kInternal instead).
  virtual Status Write(Job job) = 0;
  // A reader for the calling thread; cheap to create, not thread-safe itself.
  virtual std::unique_ptr<StoreReader> NewReader() = 0;
  // Finishes queued jobs, commits, stops the writer. Idempotent. Readers already handed out
  // keep working until destroyed.
  virtual void Close() = 0;
  // Set when a commit or the WAL's fsync failed (disk full, I/O error): the store then refuses
  // every write, as LevelDB does, instead of pretending. Ok while healthy.
  virtual Status health() const = 0;
  // Batches committed and jobs run since open (for metrics), and the last batch's size.
  struct Counters {
    uint64_t batches = 0;
    uint64_t jobs = 0;
    uint64_t commit_micros_total = 0;
    uint64_t last_batch_jobs = 0;  // added: the comment above promised it
    // WAL checkpoints: by the store's checkpointer thread, by the writer itself (the WAL grew
    // past its bound while the checkpointer lagged), and failed ones (I/O errors).
    uint64_t checkpoints = 0;
    uint64_t writer_checkpoints = 0;
    uint64_t checkpoint_failures = 0;
  };
  virtual Counters counters() const = 0;
};

}  // namespace reach::storage
