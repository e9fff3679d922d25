// SqliteStore: the Store over one SQLite file. Group commit, as store.h describes:
//
//   Submit() ──▶ queue_ (mutex_ + cv_) ──▶ writer thread: take up to max_batch_jobs
//                                            BEGIN IMMEDIATE
//                                              job(txn) ... for every job of the batch
//                                              (counters: one UPDATE per gauge / node, sqlite_txn.h)
//                                            COMMIT            (no fsync: synchronous=NORMAL)
//                                          ──▶ sync_queue_ ──▶ sync thread: fdatasync(WAL) once for
//                                                all commits queued, then on_commit(jobs, micros)
//                                                and done(status) for each job, in commit order
//
// The fsync is overlapped with the next batch (overlap_sync, the default with synchronous_full):
// while the sync thread waits for the disk, the writer already runs the next batch, so the
// writer's time per batch is SQL only and one fsync may cover several commits. Acknowledgement
// semantics are unchanged: a `done` runs only after fdatasync() of the WAL returned, and the
// WAL is append-only between checkpoints (a checkpoint syncs the WAL itself before copying it),
// so a synced commit survives a power loss exactly as with synchronous=FULL. What changes is
// visibility: a reader may see a commit a few hundred microseconds before it is durable (as it
// would see it before the `done` runs in any case). The sync thread starts an fdatasync at most
// once per min_fsync_interval_us (500 µs by default; why in store.h); an fsync after an idle
// spell is not delayed. Without a WAL file descriptor (or with overlap_sync off) SQLite's
// synchronous=FULL fsyncs inside COMMIT and the writer calls the `done`s itself.
//
// Checkpoints run on a thread of their own (the checkpointer, with its own connection), not in
// the writer's COMMIT as SQLite's wal_autocheckpoint does: a checkpoint copies every page the
// last ~1000 frames changed into the database file and fsyncs it, and while the writer did that
// it ran no batch (30 % of the writer's time when timers fire at full rate). The writer's
// sqlite3_wal_hook only wakes the checkpointer once kCheckpointFrames frames were appended
// since the last checkpoint; the checkpointer's PASSIVE checkpoints copy what no reader still
// needs, concurrently with the writer's next batches (SQLite's WAL allows one checkpointer
// beside one writer). The WAL
// restarts from its beginning when a writer's transaction begins with everything copied; under
// a steady load that is after the writer's own checkpoint at kWriterCheckpointFrames (256 MB),
// which copies only the frames the checkpointer has not reached yet.
//
// Isolation of a failing job: jobs run without savepoints (a savepoint copies every page a job
// touches into a sub-journal: ~20 % of the writer's time on the hot path). A job that fails
// without having changed a row needs no undo, and its batch goes on. A job that fails after
// changing rows makes the writer roll the whole batch back and run it again with a SAVEPOINT
// per job, rolling back only the failing one. So a job may run twice; every job must set its
// outputs afresh when it starts (Reach's do), and side effects outside the store (a log line)
// may repeat. Such failures are I/O errors or bugs, not requests refused by validation.
//
// The writer thread is the only user of the write connection, so no SQL ever waits for a lock
// inside the process. A COMMIT that fails (disk full, I/O error) rolls the batch back, gives
// every job of the batch the error, and makes the store refuse all later writes (health()),
// like LevelDB's sticky background error: the engine must not go on as if state had been kept.
// A BEGIN that times out on a lock held by another process (kUnavailable) fails only its batch.

#include "storage/sqlite_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "common/thread_name.h"
#include "storage/sqlite_connection.h"
#include "storage/sqlite_connection_pool.h"
#include "storage/sqlite_reader.h"
#include "storage/sqlite_schema.h"
#include "storage/sqlite_txn.h"
#include "storage/sqlite_wal_vfs.h"

namespace reach::storage {
namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr size_t kMaxIdleReaders = 8;
// After a checkpoint, truncate the WAL file back to this size so that one burst does not leave
// a huge -wal file behind for ever. The same as the WAL's bound (kWriterCheckpointFrames): a WAL
// that restarts at its bound is never truncated under load. Truncating a 256 MB WAL to 64 MB
// stalled the writer ~90 ms (ext4 freeing the blocks; ingest p99 at half load 87-92 ms).
constexpr int64_t kJournalSizeLimitBytes = 256 << 20;
// WAL frames written since the last checkpoint at which the writer wakes the checkpointer
// (SQLite's autocheckpoint runs at 1000). Each checkpoint ends with an fsync of the database
// file, which the disk serves beside the WAL's: fewer, larger ones left the commits' fsyncs
// faster (ingest at half load, p50 2.2-3.6 ms at 1000 frames, 1.2-1.8 ms at 4000).
constexpr int kCheckpointFrames = 4000;
// WAL frames at which the writer checkpoints itself: the WAL's size limit in 4 KiB pages. Under
// a steady load the WAL restarts from its beginning only after such a checkpoint (a restart
// needs everything copied when the writer's transaction begins, and the writer begins the next
// batch as soon as one commits); it copies only what the checkpointer has not copied yet. It
// also bounds the WAL when the checkpointer cannot keep up (a long read holding old frames).
// 65,536 frames (256 MB) rather than 16,384: the writer's checkpoint stops its batches, and
// timers fired 10-15 % faster with a quarter as many (docs/benchmarks.md); the price is disk
// (the -wal file keeps up to 256 MB while the daemon runs) and the recovery after a crash, which
// reads the whole WAL once when the store opens. The checkpoint runs after the batch whose
// commit crossed the bound has gone to the sync thread, so that batch's answers do not wait for
// it (CheckpointOnWriter).
constexpr int kWriterCheckpointFrames = static_cast<int>(kJournalSizeLimitBytes / 4096);
// Within 2 * kCheckpointFrames of that bound, the writer wakes the checkpointer every this many
// frames instead. The writer's checkpoint at the bound copies what the checkpointer has not
// (up to kCheckpointFrames, 16 MB) and fsyncs the database file while no batch runs: 5-7 ms
// every ~0.8 s at half of the ingest maximum, and many of the requests over 8 ms fell there
// (logged per 50 ms window). With the checkpointer close behind it copies a few hundred frames
// (~2 ms).
constexpr int kCheckpointFramesNearBound = kCheckpointFrames / 8;

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const StoreOptions& options);
  ~SqliteStore() override { Close(); }

  void Submit(Job job, Done done) override;
  Status Write(Job job) override;
  std::unique_ptr<StoreReader> NewReader() override;
  void Close() override;
  Status health() const override;
  Counters counters() const override;

  void InjectCommitFailures(int count) { injected_commit_failures_ += count; }
  void InjectSyncFailures(int count) { injected_sync_failures_ += count; }
  int64_t writer_prepare_count() const { return writer_prepares_.load(); }

 private:
  struct PendingJob {
    Job job;
    Done done;
    std::vector<std::function<void()>> after_commit;  // StoreTxn::AfterCommit, of its last run
  };
  // A committed batch waiting for the WAL fsync.
  struct Committed {
    std::vector<PendingJob> jobs;
    std::vector<Status> results;
    std::chrono::steady_clock::time_point start;
    Status failure;  // set: the batch did not commit; every job gets this
  };

  // What SQLite reported as damage on any of the store's connections (the readers too): the
  // first such error becomes the store's sticky error (MergeDamageLocked). Shared with the
  // connections' callbacks, which a reader may run after the store is gone.
  struct DamageLatch {
    std::atomic<bool> seen{false};
    std::mutex mu;
    Status first;  // guarded by mu
    void Set(const Status& s) {
      std::lock_guard<std::mutex> lock(mu);
      if (first.ok()) first = s;
      seen.store(true);
    }
    // For SqliteConnection::Options::on_data_loss: shares the latch.
    static std::function<void(const Status&)> Callback(std::shared_ptr<DamageLatch> latch) {
      return [latch = std::move(latch)](const Status& s) { latch->Set(s); };
    }
  };

  SqliteStore(const StoreOptions& options, std::unique_ptr<SqliteConnection> writer,
              std::shared_ptr<DamageLatch> damage)
      : options_(options),
        writer_(std::move(writer)),
        damage_(std::move(damage)),
        readers_(std::make_shared<SqliteConnectionPool>(options.path, kBusyTimeoutMs, kMaxIdleReaders,
                                                        DamageLatch::Callback(damage_))) {}

  // The writer thread's body: batches until Close() and an empty queue.
  void WriterLoop();
  // Runs one batch in one transaction; calls its `done`s, or hands them to the sync thread.
  void RunBatch(std::vector<PendingJob>& batch);
  enum class JobsOutcome { kRan, kRetryIsolated, kAborted };
  // Inside a batch's transaction: when another connection (another process) committed since
  // this writer's last batch, forgets what the writer remembers of the file (the next
  // execution id), so that it is read again.
  Status NoteOtherWriters();
  // Runs the batch's jobs inside the open transaction, each in a savepoint when `isolated`.
  // kRetryIsolated: (not isolated) a job failed after changing rows; the caller rolls back and
  // runs the batch again isolated. kAborted: the batch was failed (AbortBatch) already.
  JobsOutcome RunJobs(std::vector<PendingJob>& batch, std::vector<Status>& results, SqliteTxn& txn, bool isolated);
  // The sync thread's body: fsyncs the WAL for every queued commit, then reports them.
  void SyncLoop();
  // Opens the WAL file for fdatasync(); false when it cannot (the store then syncs in COMMIT).
  bool OpenWalForSync();
  // Reports a durable (or failed) batch: counters, on_commit, the `done`s.
  void Report(Committed& committed, const Status& sync_failure);
  // Ends a batch that cannot commit: rolls back, makes `error` sticky, fails every job.
  void AbortBatch(std::vector<PendingJob>& batch, const Status& error);
  // Fails every job of a batch that did not commit, through the same thread (and in the same
  // order) as the committed ones, so that `done`s never run concurrently.
  void FailBatch(std::vector<PendingJob>& batch, const Status& error);
  // Hands a finished batch to the sync thread, or reports it here when there is none.
  void Finish(Committed committed);
  static void FailAll(std::vector<PendingJob>& batch, const Status& error);
  static void CallDone(PendingJob& job, const Status& status);
  void SetSticky(const Status& error);
  // Under mutex_: a damage a connection reported becomes the sticky error.
  void MergeDamageLocked() const;
  // sqlite3_commit_hook: a non-zero return turns the COMMIT into a rollback (fault injection).
  static int CommitHook(void* self);
  // sqlite3_wal_hook on the writer (after each commit, with the WAL's frame count): wakes the
  // checkpointer, or, when the WAL has grown past its bound, marks the writer's own checkpoint
  // due (CheckpointOnWriter, run once the batch is handed to the sync thread).
  static int WalHook(void* self, sqlite3* db, const char* schema, int frames);
  // The writer's checkpoint at the WAL's bound (see kWriterCheckpointFrames), when one is due.
  void CheckpointOnWriter();
  // options_.on_checkpoint for a checkpoint that started at `start` and ran to its end.
  void ReportCheckpoint(bool by_writer, std::chrono::steady_clock::time_point start);
  // The checkpointer's body: a PASSIVE checkpoint each time the writer asks, until Close().
  void CheckpointLoop();

  const StoreOptions options_;
  std::unique_ptr<SqliteConnection> writer_;  // used by the writer thread only
  SqliteWriterState writer_state_;            // likewise
  std::shared_ptr<DamageLatch> damage_;
  std::shared_ptr<SqliteConnectionPool> readers_;
  std::thread thread_;
  int wal_fd_ = -1;                  // the -wal file, for the sync thread's fdatasync()
  std::thread sync_thread_;          // runs only when wal_fd_ >= 0

  std::unique_ptr<SqliteConnection> checkpointer_;  // used by checkpoint_thread_ only
  std::thread checkpoint_thread_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;  // guarded by checkpoint_mutex_
  bool checkpoint_stop_ = false;    // guarded by checkpoint_mutex_
  // The WAL frames the last checkpoint had copied (its frame count when the WAL has since
  // restarted and is shorter): the writer wakes the checkpointer for kCheckpointFrames more.
  std::atomic<int> checkpointed_frames_{0};

  std::mutex sync_mutex_;
  std::condition_variable sync_cv_;
  std::deque<Committed> sync_queue_;  // guarded by sync_mutex_
  bool sync_stop_ = false;            // guarded by sync_mutex_
  Status sync_failed_;                // sync thread only: once an fsync failed, no commit is durable

  mutable std::mutex mutex_;
  std::condition_variable cv_;       // signals the writer: a job arrived, or closing_
  std::deque<PendingJob> queue_;     // guarded by mutex_
  bool closing_ = false;             // guarded by mutex_
  mutable Status health_;            // guarded by mutex_; sticky once not ok

  std::mutex close_mutex_;           // serializes the join in Close()

  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> jobs_{0};
  std::atomic<uint64_t> commit_micros_total_{0};
  std::atomic<uint64_t> last_batch_jobs_{0};
  std::atomic<int> injected_commit_failures_{0};
  std::atomic<int> injected_sync_failures_{0};
  std::atomic<int64_t> writer_prepares_{0};
  std::atomic<uint64_t> checkpoints_{0};
  std::atomic<uint64_t> writer_checkpoints_{0};
  bool writer_checkpoint_due_ = false;  // writer thread only (set by WalHook in its COMMIT)
  // kWriterCheckpointFrames, or StoreOptions::wal_bound_frames when set (tests).
  const int wal_bound_frames_ = options_.wal_bound_frames > 0 ? options_.wal_bound_frames : kWriterCheckpointFrames;
  std::atomic<uint64_t> checkpoint_failures_{0};
};

// The store whose writer runs on this thread (to refuse Write() from inside a job).
thread_local const SqliteStore* tls_writer_of = nullptr;

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const StoreOptions& options) {
  if (options.path.empty()) return Status::Invalid("store: no database path given");
  SqliteConnection::Options connection_options;
  // Overlapped: the sync thread fsyncs the WAL, COMMIT does not (set back to FULL below when
  // the WAL cannot be opened).
  connection_options.synchronous_full = options.synchronous_full && !options.overlap_sync;
  connection_options.busy_timeout_ms = kBusyTimeoutMs;
  auto damage = std::make_shared<DamageLatch>();
  connection_options.on_data_loss = DamageLatch::Callback(damage);
  {
    // Migrations on a connection of their own, closed before the writer opens: a connection
    // keeps the schema it parsed, and v4 changes a CHECK in place (writable_schema), which only
    // connections opened afterwards see.
    Result<std::unique_ptr<SqliteConnection>> migrator = SqliteConnection::Open(options.path, connection_options);
    if (!migrator.ok()) return migrator.status();
    // A step that builds an index sorts every row: in temporary files, not in memory (the
    // connections' temp_store=MEMORY is for small sorts), so that an upgrade of a large store
    // does not grow the daemon by the size of the index.
    if (Status temp = (*migrator)->Exec("PRAGMA temp_store=FILE"); !temp.ok()) return temp;
    if (Status migrated = MigrateSchema(**migrator); !migrated.ok()) return migrated;
  }
  Result<std::unique_ptr<SqliteConnection>> writer = SqliteConnection::Open(options.path, connection_options);
  if (!writer.ok()) return writer.status();
  Status status = (*writer)->Exec("PRAGMA journal_size_limit=" + std::to_string(kJournalSizeLimitBytes));
  if (!status.ok()) return status;
  // Dirty pages stay in the writer's cache until COMMIT unless a transaction dirties more than
  // 16384 pages (64 MB): a batch never writes WAL frames before its commit. SQLite 3.40 can
  // lose commits at recovery after ROLLBACK TO in a transaction that spilled and then wrote a
  // spilled page again (sqlite3WalSavepointUndo keeps the checksum-rewrite mark), and the
  // writer's isolated rerun of a batch uses ROLLBACK TO (found by review, reproduced with the
  // plain VFS).
  status = (*writer)->Exec("PRAGMA cache_spill=16384");
  if (!status.ok()) return status;
  status = (*writer)->Exec("PRAGMA cache_size=-" + std::to_string(std::max<int64_t>(options.writer_cache_mb, 1) * 1024));
  if (!status.ok()) return status;

  // The checkpointer's connection (synchronous FULL or NORMAL alike: a checkpoint fsyncs the WAL
  // before copying it and the database file before the WAL may be reused). A connection that
  // never read the file has no WAL of its own yet, and a checkpoint on it does nothing: one read
  // first. (PASSIVE checkpoints never wait for a lock; the busy timeout only serves this read.)
  SqliteConnection::Options checkpointer_options;
  checkpointer_options.on_data_loss = DamageLatch::Callback(damage);
  Result<std::unique_ptr<SqliteConnection>> checkpointer = SqliteConnection::Open(options.path, checkpointer_options);
  if (!checkpointer.ok()) return checkpointer.status();
  if (Status read = (*checkpointer)->Run("SELECT 1 FROM meta LIMIT 1"); !read.ok()) return read;
  // Its syncs of the database file go to the disk in steps, so that the sync thread's WAL
  // fsyncs never queue behind a whole checkpoint (storage/sqlite_wal_vfs.h). Best effort: a
  // file opened through another VFS syncs in one go.
  EnablePacedSyncs((*checkpointer)->handle());

  std::unique_ptr<SqliteStore> store(new SqliteStore(options, std::move(*writer), std::move(damage)));
  store->checkpointer_ = std::move(*checkpointer);
  sqlite3_commit_hook(store->writer_->handle(), &SqliteStore::CommitHook, store.get());
  // Replaces SQLite's autocheckpoint (itself a wal hook) on the writer.
  sqlite3_wal_hook(store->writer_->handle(), &SqliteStore::WalHook, store.get());
  if (options.synchronous_full && options.overlap_sync && !store->OpenWalForSync()) {
    status = store->writer_->Exec("PRAGMA synchronous=FULL");
    if (!status.ok()) return status;
  }
  try {
    if (store->wal_fd_ >= 0) store->sync_thread_ = std::thread([s = store.get()] { s->SyncLoop(); });
    store->checkpoint_thread_ = std::thread([s = store.get()] { s->CheckpointLoop(); });
    store->thread_ = std::thread([s = store.get()] { s->WriterLoop(); });
  } catch (const std::system_error& e) {
    if (store->checkpoint_thread_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(store->checkpoint_mutex_);
        store->checkpoint_stop_ = true;
      }
      store->checkpoint_cv_.notify_all();
      store->checkpoint_thread_.join();
    }
    if (store->sync_thread_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(store->sync_mutex_);
        store->sync_stop_ = true;
      }
      store->sync_cv_.notify_all();
      store->sync_thread_.join();
    }
    return Status::Internal(std::string("store: cannot start the writer thread: ") + e.what());
  }
  return store;
}

bool SqliteStore::OpenWalForSync() {
  // The -wal file exists from the first read of a WAL database until the last connection
  // closes; it is truncated (journal_size_limit) but never replaced while the writer is open,
  // so this descriptor names it for the store's life. A read makes sure it exists. Its name is
  // SQLite's (the database path may be a symbolic link: the WAL sits next to the target).
  if (!writer_->Run("SELECT 1 FROM meta LIMIT 1").ok()) return false;
  const char* db_file = sqlite3_db_filename(writer_->handle(), "main");
  const char* wal = db_file ? sqlite3_filename_wal(db_file) : nullptr;
  if (wal == nullptr || *wal == '\0') return false;
  wal_fd_ = ::open(wal, O_RDONLY | O_CLOEXEC);
  if (wal_fd_ < 0) return false;
  // The WAL may have just been created: its directory entry must be durable before any commit
  // in it is acknowledged (SQLite syncs the directory on its own first sync of the file, which
  // with the sync thread it never does).
  std::string dir(wal);
  const size_t slash = dir.rfind('/');
  dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : dir.substr(0, slash));
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = dir_fd >= 0 && ::fsync(dir_fd) == 0;
  if (dir_fd >= 0) ::close(dir_fd);
  if (!synced) {
    ::close(wal_fd_);
    wal_fd_ = -1;
    return false;
  }
  return true;
}

int SqliteStore::CommitHook(void* self) {
  auto* store = static_cast<SqliteStore*>(self);
  int pending = store->injected_commit_failures_.load();
  while (pending > 0) {
    if (store->injected_commit_failures_.compare_exchange_weak(pending, pending - 1)) return 1;
  }
  return 0;
}

int SqliteStore::WalHook(void* self, sqlite3* /*db*/, const char* /*schema*/, int frames) {
  auto* store = static_cast<SqliteStore*>(self);
  // (The checkpointer thread starts before the writer's and stops after it: it is always there
  // to wake while the writer commits.)
  const int bound = store->wal_bound_frames_;
  if (frames >= bound) {
    // Not here, inside the COMMIT: the batch that just committed would wait for the checkpoint
    // (2-10 ms, two fsyncs) before its own fsync and answers.
    store->writer_checkpoint_due_ = true;
    return SQLITE_OK;
  }
  int copied = store->checkpointed_frames_.load(std::memory_order_relaxed);
  if (frames < copied) copied = 0;  // the WAL restarted
  // Close to the bound the checkpointer is woken every kCheckpointFramesNearBound frames, so
  // that the writer's own checkpoint at the bound finds nearly everything copied.
  const int step =
      frames >= bound - 2 * kCheckpointFrames ? kCheckpointFramesNearBound : kCheckpointFrames;
  if (frames - copied >= step) {
    {
      std::lock_guard<std::mutex> lock(store->checkpoint_mutex_);
      if (store->checkpoint_wanted_) return SQLITE_OK;
      store->checkpoint_wanted_ = true;
    }
    store->checkpoint_cv_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteStore::CheckpointOnWriter() {
  if (!writer_checkpoint_due_) return;
  writer_checkpoint_due_ = false;
  // As SQLite's autocheckpoint: PASSIVE, errors left for the next one (a checkpoint that cannot
  // finish loses nothing; the frames stay in the WAL). SQLITE_BUSY: the checkpointer is
  // copying; the next commit past the bound asks again.
  int wal_frames = 0, copied = 0;
  const auto start = std::chrono::steady_clock::now();
  const int rc = sqlite3_wal_checkpoint_v2(writer_->handle(), "main", SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
  if (rc == SQLITE_OK) {
    writer_checkpoints_.fetch_add(1, std::memory_order_relaxed);
    checkpointed_frames_.store(copied, std::memory_order_relaxed);
    ReportCheckpoint(true, start);
  } else if ((rc & 0xff) != SQLITE_BUSY) {
    checkpoint_failures_.fetch_add(1, std::memory_order_relaxed);
  }
}

void SqliteStore::ReportCheckpoint(bool by_writer, std::chrono::steady_clock::time_point start) {
  if (!options_.on_checkpoint) return;
  try {
    options_.on_checkpoint(
        by_writer,
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
  } catch (...) {
    // Metrics must not take the store down.
  }
}

void SqliteStore::CheckpointLoop() {
  NameThisThread("reach-ckpt");
  while (true) {
    {
      std::unique_lock<std::mutex> lock(checkpoint_mutex_);
      checkpoint_cv_.wait(lock, [this] { return checkpoint_wanted_ || checkpoint_stop_; });
      if (checkpoint_stop_) return;
      checkpoint_wanted_ = false;
    }
    // SQLITE_BUSY: another connection (another process) is checkpointing; the next commit
    // asks again.
    int wal_frames = 0, copied = 0;
    const auto start = std::chrono::steady_clock::now();
    const int rc =
        sqlite3_wal_checkpoint_v2(checkpointer_->handle(), "main", SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
    if (rc == SQLITE_OK && wal_frames < 0) {
      // Not in WAL mode on this connection (-1/-1): nothing was or will be copied.
      checkpoint_failures_.fetch_add(1, std::memory_order_relaxed);
    } else if (rc == SQLITE_OK) {
      checkpointed_frames_.store(copied, std::memory_order_relaxed);
      checkpoints_.fetch_add(1, std::memory_order_relaxed);
      ReportCheckpoint(false, start);
    } else if ((rc & 0xff) != SQLITE_BUSY) {
      checkpoint_failures_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void SqliteStore::Submit(Job job, Done done) {
  Status refusal;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    MergeDamageLocked();
    if (closing_) {
      refusal = Status::Unavailable("store " + options_.path + " is closed");
    } else if (!health_.ok()) {
      refusal = health_;
    } else {
      queue_.push_back({std::move(job), std::move(done), {}});
    }
  }
  if (refusal.ok()) {
    cv_.notify_one();
    return;
  }
  if (done) done(refusal);
}

Status SqliteStore::Write(Job job) {
  if (tls_writer_of == this) {
    return Status::Internal("Store::Write called from a job or done callback of the same store; use Submit");
  }
  std::promise<Status> promise;
  std::future<Status> outcome = promise.get_future();
  Submit(std::move(job), [&promise](const Status& status) { promise.set_value(status); });
  return outcome.get();
}

std::unique_ptr<StoreReader> SqliteStore::NewReader() { return std::make_unique<SqliteReader>(readers_); }

void SqliteStore::Close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  cv_.notify_all();
  // From a job or a done: the writer drains the queue and stops after this batch; it cannot
  // wait for itself. The owner's later Close() (or the destructor) joins it.
  if (tls_writer_of == this) return;
  std::lock_guard<std::mutex> lock(close_mutex_);
  if (thread_.joinable()) thread_.join();
  // The writer has stopped: what it committed is queued for the sync thread, which drains the
  // queue before it stops.
  {
    std::lock_guard<std::mutex> lock(sync_mutex_);
    sync_stop_ = true;
  }
  sync_cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
  {
    std::lock_guard<std::mutex> lock(checkpoint_mutex_);
    checkpoint_stop_ = true;
  }
  checkpoint_cv_.notify_all();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
  // Closed before the writer, whose close (the last connection) checkpoints and removes the WAL.
  checkpointer_.reset();
  if (wal_fd_ >= 0) {
    ::close(wal_fd_);
    wal_fd_ = -1;
  }
  writer_.reset();  // finalizes the statements, closes the file (checkpointing the WAL)
}

Status SqliteStore::health() const {
  std::lock_guard<std::mutex> lock(mutex_);
  MergeDamageLocked();
  return health_;
}

void SqliteStore::MergeDamageLocked() const {
  if (!health_.ok() || !damage_->seen.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(damage_->mu);
  health_ = damage_->first;
}

Store::Counters SqliteStore::counters() const {
  Counters counters;
  counters.batches = batches_.load();
  counters.jobs = jobs_.load();
  counters.commit_micros_total = commit_micros_total_.load();
  counters.last_batch_jobs = last_batch_jobs_.load();
  counters.checkpoints = checkpoints_.load();
  counters.writer_checkpoints = writer_checkpoints_.load();
  counters.checkpoint_failures = checkpoint_failures_.load();
  return counters;
}

void SqliteStore::SetSticky(const Status& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (health_.ok()) health_ = error;
}

void SqliteStore::WriterLoop() {
  NameThisThread("reach-writer");
  tls_writer_of = this;
  const size_t max_jobs = std::max<size_t>(options_.max_batch_jobs, 1);
  std::vector<PendingJob> batch;
  batch.reserve(std::min<size_t>(max_jobs, 4096));
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) break;  // closing, and everything queued has run
      if (options_.max_batch_delay_us > 0 && queue_.size() < max_jobs && !closing_) {
        cv_.wait_for(lock, std::chrono::microseconds(options_.max_batch_delay_us),
                     [&] { return queue_.size() >= max_jobs || closing_; });
      }
      const size_t n = std::min(queue_.size(), max_jobs);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    RunBatch(batch);
    batch.clear();
  }
  tls_writer_of = nullptr;
}

void SqliteStore::RunBatch(std::vector<PendingJob>& batch) {
  Status sticky = health();
  if (!sticky.ok()) {
    FailBatch(batch, sticky);
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<Status> results(batch.size());
  // First without savepoints; only when a job fails after it wrote something is the batch
  // rolled back and run again with a savepoint per job (see the file comment).
  for (const bool isolated : {false, true}) {
    Status status = writer_->Run("BEGIN IMMEDIATE");
    if (!status.ok()) {
      // A lock held by another process past the busy timeout is transient: fail this batch only.
      if (status.code() != StatusCode::kUnavailable) SetSticky(status);
      FailBatch(batch, status);
      return;
    }
    writer_state_.batch.Clear();
    if (Status seen = NoteOtherWriters(); !seen.ok()) return AbortBatch(batch, seen);
    SqliteTxn txn(*writer_, writer_state_);
    switch (RunJobs(batch, results, txn, isolated)) {
      case JobsOutcome::kAborted:
        return;
      case JobsOutcome::kRetryIsolated:
        if (Status rollback = writer_->Run("ROLLBACK"); !rollback.ok()) return AbortBatch(batch, rollback);
        continue;
      case JobsOutcome::kRan:
        break;
    }
    status = txn.SweepEventWaits(options_.event_wait_sweep_min_stale, options_.event_wait_sweep_stale_ratio,
                                 std::max(options_.event_wait_sweep_chunk, 1));
    if (!status.ok()) return AbortBatch(batch, status);
    status = txn.FlushCounters();
    if (!status.ok()) return AbortBatch(batch, status);
    status = writer_->Run("COMMIT");
    if (!status.ok()) {
      // A commit-hook veto reports SQLITE_CONSTRAINT; to the caller any failed commit is an I/O
      // failure of the store, whatever SQLite's code.
      StatusCode code = status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kDataLoss
                            ? status.code()
                            : StatusCode::kIoError;
      return AbortBatch(batch, Status(code, "commit failed: " + status.message()));
    }
    writer_prepares_.store(writer_->prepare_count());
    Finish(Committed{std::move(batch), std::move(results), start, Status::Ok()});
    batch = {};
    CheckpointOnWriter();
    return;
  }
}

SqliteStore::JobsOutcome SqliteStore::RunJobs(std::vector<PendingJob>& batch, std::vector<Status>& results,
                                              SqliteTxn& txn, bool isolated) {
  sqlite3* db = writer_->handle();
  for (size_t i = 0; i < batch.size(); ++i) {
    if (isolated) {
      if (Status status = writer_->Run("SAVEPOINT job"); !status.ok()) {
        AbortBatch(batch, status);
        return JobsOutcome::kAborted;
      }
    }
    txn.BeginJob(&batch[i].after_commit);
    const int64_t changes_before = sqlite3_total_changes64(db);
    Status result;
    try {
      if (batch[i].job) result = batch[i].job(txn);
    } catch (...) {
      result = StatusOfCurrentException("store job");
    }
    if (!writer_->in_transaction()) {
      // SQLite rolled the whole transaction back on an error inside the job (SQLITE_FULL,
      // SQLITE_IOERR, SQLITE_NOMEM): the batch's earlier jobs are lost too.
      AbortBatch(batch, Status(result.ok() ? StatusCode::kIoError : result.code(),
                               "transaction rolled back by SQLite during a job: " + result.message()));
      return JobsOutcome::kAborted;
    }
    if (result.code() == StatusCode::kDataLoss) {
      // SQLite found the file damaged: nothing more is written to it (the batch is rolled back
      // and the store refuses later writes) until an operator restores it from a backup.
      AbortBatch(batch, result);
      return JobsOutcome::kAborted;
    }
    txn.EndJob(result.ok());
    if (!result.ok()) batch[i].after_commit.clear();  // a failed job's effects never happen
    if (!isolated && !result.ok()) {
      // A job refused for its input before changing a row (most failures) leaves nothing to
      // undo; one that changed rows cannot be undone alone without a savepoint. An error of
      // the store itself always counts as "may have written": a statement that fails in the
      // middle (SQLITE_CORRUPT, say) has no statement journal and does not count its changes.
      const bool refused = result.code() == StatusCode::kInvalidArgument || result.code() == StatusCode::kNotFound ||
                           result.code() == StatusCode::kAlreadyExists ||
                           result.code() == StatusCode::kFailedPrecondition;
      if (!refused || sqlite3_total_changes64(db) != changes_before) return JobsOutcome::kRetryIsolated;
    } else if (isolated) {
      Status status = result.ok() ? writer_->Run("RELEASE job") : writer_->Run("ROLLBACK TO job");
      if (status.ok() && !result.ok()) status = writer_->Run("RELEASE job");
      if (!status.ok()) {
        AbortBatch(batch, status);
        return JobsOutcome::kAborted;
      }
    }
    results[i] = std::move(result);
  }
  return JobsOutcome::kRan;
}

Status SqliteStore::NoteOtherWriters() {
  Result<int64_t> version = writer_->QueryInt("PRAGMA data_version");
  if (!version.ok()) return version.status();
  if (*version != writer_state_.data_version) {
    writer_state_.data_version = *version;
    writer_state_.next_execution_id = 0;
    writer_state_.next_event_seq = 0;
    writer_state_.sweep.check = true;  // others may have left event_waits entries too
  }
  return Status::Ok();
}

void SqliteStore::Finish(Committed committed) {
  if (wal_fd_ < 0) {
    Report(committed, Status::Ok());  // synchronous=FULL: a committed batch is durable already
    return;
  }
  bool first;
  {
    std::lock_guard<std::mutex> lock(sync_mutex_);
    first = sync_queue_.empty();
    sync_queue_.push_back(std::move(committed));
  }
  // Only the first commit of a round wakes the sync thread: with more queued it is syncing, or
  // pacing (SyncLoop) and would only wake to wait again.
  if (first) sync_cv_.notify_one();
}

void SqliteStore::FailBatch(std::vector<PendingJob>& batch, const Status& error) {
  Finish(Committed{std::move(batch), {}, std::chrono::steady_clock::now(), error});
  batch = {};
}

void SqliteStore::SyncLoop() {
  NameThisThread("reach-sync");
  tls_writer_of = this;  // a `done` must not Write() and wait for itself here either
  std::deque<Committed> ready;
  const auto min_interval = std::chrono::microseconds(std::max<int64_t>(options_.min_fsync_interval_us, 0));
  auto last_start = std::chrono::steady_clock::time_point{};
  while (true) {
    {
      std::unique_lock<std::mutex> lock(sync_mutex_);
      sync_cv_.wait(lock, [&] { return !sync_queue_.empty() || sync_stop_; });
      // Paced: the commits that arrive meanwhile share this fsync (not when stopping).
      sync_cv_.wait_until(lock, last_start + min_interval, [&] { return sync_stop_; });
      if (sync_queue_.empty()) break;  // stopping, and everything committed is reported
      ready.swap(sync_queue_);
    }
    last_start = std::chrono::steady_clock::now();
    // One fdatasync covers every commit written before it: group commit across batches.
    // (A sticky error set by the writer after these commits does not undo them.)
    Status failure = sync_failed_;
    if (failure.ok()) {
      int pending = injected_sync_failures_.load();
      bool injected = false;
      while (pending > 0 && !injected) injected = injected_sync_failures_.compare_exchange_weak(pending, pending - 1);
      const auto sync_start = std::chrono::steady_clock::now();
      int rc = injected ? -1 : ::fdatasync(wal_fd_);
      if (rc == 0 && options_.on_sync) {
        options_.on_sync(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - sync_start)
                             .count());
      }
      if (rc != 0) {
        // After a failed fsync the kernel may have dropped the dirty pages: nothing written
        // since the last good sync can be trusted to be on disk, and a retry could "succeed"
        // anyway. Fail these batches and refuse every later write (as PostgreSQL does).
        const int err = injected ? EIO : errno;
        failure = Status::Io("fsync of " + options_.path + "-wal failed: " + std::strerror(err) +
                             "; the last commits may not be on disk, the store refuses writes until restarted");
        SetSticky(failure);
        sync_failed_ = failure;
      }
    }
    for (Committed& committed : ready) Report(committed, failure);
    ready.clear();
  }
  tls_writer_of = nullptr;
}

void SqliteStore::Report(Committed& committed, const Status& sync_failure) {
  if (!committed.failure.ok() || !sync_failure.ok()) {
    FailAll(committed.jobs, committed.failure.ok() ? sync_failure : committed.failure);
    return;
  }
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                            committed.start)
                          .count();
  batches_.fetch_add(1);
  jobs_.fetch_add(committed.jobs.size());
  commit_micros_total_.fetch_add(static_cast<uint64_t>(micros));
  last_batch_jobs_.store(committed.jobs.size());
  if (options_.on_commit) {
    try {
      options_.on_commit(committed.jobs.size(), micros);
    } catch (...) {
      // Metrics must not take the store down.
    }
  }
  for (size_t i = 0; i < committed.jobs.size(); ++i) {
    PendingJob& job = committed.jobs[i];
    if (committed.results[i].ok()) {
      for (auto& action : job.after_commit) {
        try {
          action();
        } catch (...) {
          // As for `done`: an action must not take the store down.
        }
      }
    }
    CallDone(job, committed.results[i]);
  }
}

void SqliteStore::AbortBatch(std::vector<PendingJob>& batch, const Status& error) {
  if (writer_->in_transaction()) writer_->Run("ROLLBACK");
  SetSticky(error);
  FailBatch(batch, error);
}

void SqliteStore::FailAll(std::vector<PendingJob>& batch, const Status& error) {
  for (PendingJob& job : batch) CallDone(job, error);
}

void SqliteStore::CallDone(PendingJob& job, const Status& status) {
  if (!job.done) return;
  try {
    job.done(status);
  } catch (...) {
    // A throwing callback must not kill the writer (every later write would hang).
  }
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options) {
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

void InjectCommitFailuresForTesting(Store& store, int count) {
  if (auto* sqlite = dynamic_cast<SqliteStore*>(&store)) sqlite->InjectCommitFailures(count);
}

void InjectSyncFailuresForTesting(Store& store, int count) {
  if (auto* sqlite = dynamic_cast<SqliteStore*>(&store)) sqlite->InjectSyncFailures(count);
}

int64_t WriterPrepareCountForTesting(Store& store) {
  auto* sqlite = dynamic_cast<SqliteStore*>(&store);
  return sqlite ? sqlite->writer_prepare_count() : 0;
}

}  // namespace reach::storage
