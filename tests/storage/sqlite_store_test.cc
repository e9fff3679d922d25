// SqliteStore: group commit, durability across reopen, the sticky error state, migrations,
// prepared-statement reuse, query plans, and online backup.

#include <gtest/gtest.h>

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "storage/sqlite_backup.h"
#include "storage/sqlite_connection.h"
#include "storage/sqlite_schema.h"
#include "storage/sqlite_wal_vfs.h"
#include "storage/store_test_util.h"

namespace reach::storage {
namespace {

using testing::IsOk;
using testing::MakeEvent;
using testing::MakeExecution;
using testing::OpenOrDie;
using testing::RawQuery;
using testing::TempDir;

// Holds the writer inside a first job until Open() is called, so that everything submitted
// meanwhile queues up and goes into the next batch together (no sleeps, no timing).
class WriterGate {
 public:
  explicit WriterGate(Store& store) {
    std::shared_future<void> opened = open_.get_future().share();
    store.Submit(
        [this, opened](StoreTxn&) {
          entered_.set_value();
          opened.wait();
          return Status::Ok();
        },
        nullptr);
    entered_.get_future().wait();  // the gate job is running: its batch is closed
  }
  void Open() { open_.set_value(); }

 private:
  std::promise<void> entered_;
  std::promise<void> open_;
};

StoreOptions OptionsFor(const std::string& path) {
  StoreOptions options;
  options.path = path;
  return options;
}

Store::Job PutMetaJob(std::string key, std::string value) {
  return [key = std::move(key), value = std::move(value)](StoreTxn& txn) { return txn.PutMeta(key, value); };
}

std::optional<std::string> ReadMeta(Store& store, const std::string& key) {
  auto value = store.NewReader()->GetMeta(key);
  EXPECT_TRUE(IsOk(value));
  return value.ok() ? *value : std::nullopt;
}

TEST(SqliteStoreTest, GroupCommit_AFailingJobIsRolledBackAloneWhileItsBatchMatesCommit) {
  TempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.File("reach.db"));
  WriterGate gate(*store);
  std::promise<Status> a, b, c;
  store->Submit(PutMetaJob("a", "1"), [&](const Status& s) { a.set_value(s); });
  store->Submit(
      [](StoreTxn& txn) {
        Status s = txn.PutMeta("b", "1");
        EventRecord e = MakeEvent("u1", "x", 1, "m-b");
        if (s.ok()) s = txn.InsertEvent(e).status();
        return s.ok() ? Status::Invalid("job b refuses") : s;
      },
      [&](const Status& s) { b.set_value(s); });
  store->Submit(PutMetaJob("c", "1"), [&](const Status& s) { c.set_value(s); });
  gate.Open();

  EXPECT_TRUE(IsOk(a.get_future().get()));
  Status b_status = b.get_future().get();
  EXPECT_EQ(b_status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b_status.message(), "job b refuses");
  EXPECT_TRUE(IsOk(c.get_future().get()));
  EXPECT_EQ(store->counters().batches, 2u);  // the gate's, then a + b + c
  EXPECT_EQ(store->counters().last_batch_jobs, 3u);
  EXPECT_TRUE(ReadMeta(*store, "a").has_value());
  EXPECT_FALSE(ReadMeta(*store, "b").has_value());
  EXPECT_TRUE(ReadMeta(*store, "c").has_value());
  // b's event went too: its message_id is free again.
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) -> Status {
    EventRecord e = MakeEvent("u1", "x", 1, "m-b");
    auto inserted = txn.InsertEvent(e);
    if (!inserted.ok()) return inserted.status();
    return *inserted ? Status::Ok() : Status::Internal("rolled-back event still there");
  })));
  EXPECT_TRUE(IsOk(store->health()));
}

// Node counters are summed per job and per batch in maps whose entries outlive a job and a
// batch (zeroed, not erased: no allocation when the same nodes are bumped again). A refused
// job's counts are dropped, a node only it touched gets no row, and later jobs and batches
// count from zero.
TEST(SqliteStoreTest, GroupCommit_NodeCountersOfARefusedJobAreDroppedAndLaterOnesCountAfresh) {
  TempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.File("reach.db"));
  auto bump = [](const std::string& node, int64_t entered, bool refuse) -> Store::Job {
    return [node, entered, refuse](StoreTxn& txn) {
      Status s = txn.BumpNodeStats("welcome", "v1", node, entered, 0, 0, 0);
      return s.ok() && refuse ? Status::Invalid("refused") : s;
    };
  };
  {
    WriterGate gate(*store);
    store->Submit(bump("send", 1, false), nullptr);
    store->Submit(bump("send", 100, true), nullptr);
    store->Submit(bump("only_refused", 7, true), nullptr);
    store->Submit(bump("send", 2, false), nullptr);
    gate.Open();
  }
  ASSERT_TRUE(IsOk(store->Write(bump("send", 4, false))));  // a later batch, the same node
  auto stats = store->NewReader()->GetNodeStats("welcome");
  ASSERT_TRUE(IsOk(stats));
  ASSERT_EQ(stats->size(), 1u);  // no row for the node only the refused job touched
  EXPECT_EQ((*stats)[0].node, "send");
  EXPECT_EQ((*stats)[0].entered, 7);
  EXPECT_EQ(RawQuery(dir.File("reach.db"), "SELECT count(*) FROM node_stats"), "1");
}

TEST(SqliteStoreTest, GroupCommit_ConcurrentSubmitsShareBatchesAndEachDoneRunsOnceAfterTheCommit) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  constexpr int kThreads = 4;
  constexpr int kJobsPerThread = 250;
  constexpr int kJobs = kThreads * kJobsPerThread;
  std::vector<std::atomic<int>> done_calls(kJobs);
  std::atomic<int> visible_at_done{0};
  std::atomic<int> finished{0};
  std::promise<void> all_done;
  std::atomic<size_t> committed_jobs{0};

  StoreOptions options;
  options.path = path;
  options.on_commit = [&](size_t jobs, int64_t micros) {
    committed_jobs += jobs;
    EXPECT_GE(micros, 0);
  };
  std::atomic<int> syncs{0};
  options.on_sync = [&](int64_t micros) {
    ++syncs;
    EXPECT_GE(micros, 0);
  };
  std::unique_ptr<Store> store = OpenOrDie(options);
  {
    WriterGate gate(*store);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kJobsPerThread; ++i) {
          const int n = t * kJobsPerThread + i;
          const std::string key = "job-" + std::to_string(n);
          store->Submit(PutMetaJob(key, "done"), [&, n, key](const Status& status) {
            EXPECT_TRUE(IsOk(status));
            ++done_calls[n];
            // Committed before done: a reader (its own connection) sees the row already.
            if (ReadMeta(*store, key).has_value()) ++visible_at_done;
            if (++finished == kJobs) all_done.set_value();
          });
        }
      });
    }
    for (std::thread& t : threads) t.join();
    gate.Open();
  }
  all_done.get_future().wait();

  for (int n = 0; n < kJobs; ++n) EXPECT_EQ(done_calls[n].load(), 1) << n;
  EXPECT_EQ(visible_at_done.load(), kJobs);
  const Store::Counters counters = store->counters();
  EXPECT_EQ(counters.jobs, kJobs + 1u);
  EXPECT_LE(counters.batches, 3u);  // the gate's batch, then at most 1024 jobs per batch
  EXPECT_LT(counters.batches, counters.jobs);
  EXPECT_EQ(committed_jobs.load(), counters.jobs);
  // Every commit was covered by an fsync of the WAL; one may cover several.
  EXPECT_GE(syncs.load(), 1);
  EXPECT_LE(static_cast<uint64_t>(syncs.load()), counters.batches);

  // Durable: a fresh open of the file sees every job's row.
  store->Close();
  store = OpenOrDie(path);
  std::unique_ptr<StoreReader> reader = store->NewReader();
  for (int n = 0; n < kJobs; ++n) {
    EXPECT_EQ(reader->GetMeta("job-" + std::to_string(n))->value_or(""), "done") << n;
  }
}

TEST(SqliteStoreTest, GroupCommit_BatchesHoldAtMostMaxBatchJobs) {
  TempDir dir;
  StoreOptions options;
  options.path = dir.File("reach.db");
  options.max_batch_jobs = 2;
  std::unique_ptr<Store> store = OpenOrDie(options);
  WriterGate gate(*store);
  std::atomic<int> finished{0};
  for (int i = 0; i < 5; ++i) store->Submit(PutMetaJob("k" + std::to_string(i), "v"), [&](const Status&) { ++finished; });
  gate.Open();
  store->Close();
  EXPECT_EQ(finished.load(), 5);
  EXPECT_EQ(store->counters().batches, 1u + 3u);  // the gate, then 2 + 2 + 1
  EXPECT_EQ(store->counters().last_batch_jobs, 1u);
}

TEST(SqliteStoreTest, GroupCommit_WaitsMaxBatchDelayForMoreJobs) {
  TempDir dir;
  StoreOptions options;
  options.path = dir.File("reach.db");
  options.max_batch_delay_us = 200'000;  // far longer than two back-to-back Submits take
  std::unique_ptr<Store> store = OpenOrDie(options);
  std::promise<void> second_done;
  store->Submit(PutMetaJob("a", "1"), nullptr);
  store->Submit(PutMetaJob("b", "1"), [&](const Status&) { second_done.set_value(); });
  second_done.get_future().wait();
  EXPECT_EQ(store->counters().batches, 1u);
  EXPECT_EQ(store->counters().last_batch_jobs, 2u);
}

TEST(SqliteStoreTest, GroupCommit_AThrowingJobFailsAloneWithInternal) {
  TempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.File("reach.db"));
  Status status = store->Write([](StoreTxn& txn) -> Status {
    txn.PutMeta("k", "v");
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_NE(status.message().find("boom"), std::string::npos);
  EXPECT_FALSE(ReadMeta(*store, "k").has_value());
  EXPECT_TRUE(IsOk(store->Write(PutMetaJob("k", "v"))));
}

TEST(SqliteStoreTest, Write_FromInsideAJobIsRefusedInsteadOfDeadlocking) {
  TempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.File("reach.db"));
  Status inner;
  ASSERT_TRUE(IsOk(store->Write([&](StoreTxn&) {
    inner = store->Write(PutMetaJob("k", "v"));
    return Status::Ok();
  })));
  EXPECT_EQ(inner.code(), StatusCode::kInternal);
}

TEST(SqliteStoreTest, Close_DrainsQueuedJobsAndThenRefusesNewOnes) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  std::unique_ptr<Store> store = OpenOrDie(path);
  std::atomic<int> ok{0};
  for (int i = 0; i < 100; ++i) {
    store->Submit(PutMetaJob("k" + std::to_string(i), "v"), [&](const Status& s) { ok += s.ok(); });
  }
  store->Close();
  EXPECT_EQ(ok.load(), 100);

  bool ran = false;
  int calls = 0;
  Status refused;
  store->Submit([&](StoreTxn&) { ran = true; return Status::Ok(); },
                [&](const Status& s) { refused = s; ++calls; });
  EXPECT_FALSE(ran);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
  EXPECT_EQ(store->Write(PutMetaJob("late", "v")).code(), StatusCode::kUnavailable);
  store->Close();  // idempotent

  store = OpenOrDie(path);
  EXPECT_EQ(ReadMeta(*store, "k99").value_or(""), "v");
}

TEST(SqliteStoreTest, Reopen_KeepsEverythingWritten) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  int64_t execution_id = 0;
  {
    std::unique_ptr<Store> store = OpenOrDie(path);
    ASSERT_TRUE(IsOk(store->Write([&](StoreTxn& txn) {
      UserRecord user;
      user.id = "u1";
      user.identities = {{"unionid", "un-1"}};
      ExecutionRecord e = MakeExecution("u1", "welcome", ExecutionStatus::kWaiting);
      EventRecord event = MakeEvent("u1", "signup", 100, "m-1");
      Status s = txn.PutUser(user);
      if (s.ok()) s = txn.InsertEvent(event).status();
      if (s.ok()) s = txn.InsertExecution(e);
      execution_id = e.id;
      WakeupRecord wait;
      wait.execution_id = e.id;
      wait.wait_id = 1;
      wait.user_id = "u1";
      wait.event_type = "pay";
      wait.due_ms = 5000;
      if (s.ok()) s = txn.AddWakeup(wait);
      if (s.ok()) s = txn.BumpNodeStats("welcome", "cv1", "start", 1, 1, 0);
      if (s.ok()) s = txn.SetLastTick("welcome", 777);
      return s;
    })));
  }  // destructor closes
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_TRUE(IsOk(store->Write([&](StoreTxn& txn) -> Status {
    EXPECT_EQ(txn.FindUserByIdentity("unionid", "un-1")->value_or(""), "u1");
    EXPECT_EQ(*txn.CountEvents("u1", "signup", 0), 1);
    EXPECT_EQ((*txn.GetExecution(execution_id))->status, ExecutionStatus::kWaiting);
    EXPECT_EQ(txn.FindWaits("u1", "pay")->size(), 1u);
    EXPECT_EQ(txn.NextTimerDue()->value_or(0), 5000);
    EXPECT_EQ(*txn.GetLastTick("welcome"), 777);
    EventRecord duplicate = MakeEvent("u1", "signup", 100, "m-1");
    EXPECT_FALSE(*txn.InsertEvent(duplicate));
    return Status::Ok();
  })));
  EXPECT_EQ(store->NewReader()->GetNodeStats("welcome")->front().entered, 1);
}

TEST(SqliteStoreTest, Checkpoints_RunOnTheCheckpointerThreadNotInTheWritersCommit) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  StoreOptions options;
  options.path = path;
  std::atomic<int> reported_by_checkpointer{0}, reported_by_writer{0};
  options.on_checkpoint = [&](bool by_writer, int64_t micros) {
    EXPECT_GE(micros, 0);
    ++(by_writer ? reported_by_writer : reported_by_checkpointer);
  };
  const WalVfsCounters vfs_before = WalVfsCountersNow();
  std::unique_ptr<Store> store = OpenOrDie(options);
  const auto db_bytes = [&] { return std::filesystem::file_size(path); };
  const uintmax_t empty_bytes = db_bytes();
  // ~5 pages a job, 1200 jobs: past the 4000 WAL frames that wake the checkpointer, far below
  // the 16384 at which the writer would checkpoint itself.
  const std::string value(16000, 'v');
  for (int i = 0; i < 1200; ++i) store->Submit(PutMetaJob("k" + std::to_string(i), value + std::to_string(i)), nullptr);
  ASSERT_TRUE(IsOk(store->Write(PutMetaJob("last", "x"))));  // after every job above
  for (int waited_ms = 0; store->counters().checkpoints == 0 && waited_ms < 10000; waited_ms += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const Store::Counters counters = store->counters();
  EXPECT_GE(counters.checkpoints, 1u);
  EXPECT_EQ(counters.writer_checkpoints, 0u);
  EXPECT_EQ(counters.checkpoint_failures, 0u);
  // The pages were copied into the database file (before any close): it holds most of the data.
  EXPECT_GT(db_bytes(), empty_bytes + 4000u * 4096u);
  store->Close();  // stops the checkpointer: each of its checkpoints is reported by now
  EXPECT_EQ(reported_by_checkpointer.load(), static_cast<int>(store->counters().checkpoints));
  EXPECT_EQ(reported_by_writer.load(), 0);
  // Its syncs of those 16 MB and more (the copy, seen above, may end before its sync) went to
  // the disk in 256 KiB steps (sqlite_wal_vfs.h), but for syncs of 512 KiB or less.
  EXPECT_GE(WalVfsCountersNow().paced_steps - vfs_before.paced_steps, 4000u * 4096u / (256u << 10) / 2);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));  // the last connection to close removed it
  store = OpenOrDie(path);
  EXPECT_EQ(ReadMeta(*store, "k0").value_or(""), value + "0");
  EXPECT_EQ(ReadMeta(*store, "k1199").value_or(""), value + "1199");
}

TEST(SqliteStoreTest, Checkpoints_TheWriterCheckpointsAtTheWalsBoundAndTheWalRestarts) {
  TempDir dir;
  StoreOptions options;
  options.path = dir.File("reach.db");
  options.max_batch_jobs = 50;      // ~250 frames a batch
  options.wal_bound_frames = 2000;  // instead of 65,536
  std::atomic<int> reported_by_writer{0};
  options.on_checkpoint = [&](bool by_writer, int64_t) { reported_by_writer += by_writer ? 1 : 0; };
  std::unique_ptr<Store> store = OpenOrDie(options);
  // ~5 frames a job, 3000 jobs back to back: ~15,000 frames, 7 times the bound. The checkpointer
  // alone seldom lets the WAL restart under such a load (a restart needs everything copied when
  // the writer's next transaction begins, and the writer begins it at once).
  const std::string value(16000, 'v');
  std::atomic<int> failed{0};
  for (int i = 0; i < 3000; ++i) {
    store->Submit(PutMetaJob("k" + std::to_string(i), value + std::to_string(i)),
                  [&](const Status& s) { failed += s.ok() ? 0 : 1; });
  }
  ASSERT_TRUE(IsOk(store->Write(PutMetaJob("last", "x"))));  // after every job above
  EXPECT_EQ(failed.load(), 0);
  const Store::Counters counters = store->counters();
  EXPECT_GE(counters.writer_checkpoints, 1u);
  EXPECT_EQ(counters.checkpoint_failures, 0u);
  // The WAL restarted from its beginning after the writer's checkpoints: it never held all the
  // frames written (15,000 frames of 4,120 bytes, ~62 MB). (It may pass the bound by several
  // batches: a checkpoint that finds the checkpointer copying is tried again at the next commit;
  // 7,800 frames were seen with the suite running beside it.)
  const uintmax_t wal_bytes = std::filesystem::file_size(options.path + "-wal");
  EXPECT_LT(wal_bytes, 11000u * 4120u) << wal_bytes;
  store->Close();  // joins the writer: each of its checkpoints is reported by now
  EXPECT_EQ(reported_by_writer.load(), static_cast<int>(store->counters().writer_checkpoints));
  store = OpenOrDie(options.path);
  EXPECT_EQ(ReadMeta(*store, "k0").value_or(""), value + "0");
  EXPECT_EQ(ReadMeta(*store, "k2999").value_or(""), value + "2999");
}

TEST(SqliteStoreTest, StickyError_AFailedCommitFailsTheWholeBatchAndEveryLaterWrite) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_TRUE(IsOk(store->Write(PutMetaJob("before", "v"))));

  WriterGate gate(*store);
  InjectCommitFailuresForTesting(*store, 1);
  std::promise<Status> a, b;
  store->Submit(PutMetaJob("a", "v"), [&](const Status& s) { a.set_value(s); });
  store->Submit(PutMetaJob("b", "v"), [&](const Status& s) { b.set_value(s); });
  gate.Open();  // the gate's batch is the one whose commit fails
  Status a_status = a.get_future().get();
  Status b_status = b.get_future().get();
  EXPECT_EQ(a_status.code(), StatusCode::kIoError) << a_status.ToString();
  EXPECT_EQ(b_status.code(), StatusCode::kIoError);
  EXPECT_NE(a_status.message().find("commit failed"), std::string::npos) << a_status.ToString();

  Status health = store->health();
  EXPECT_EQ(health.code(), StatusCode::kIoError);
  bool ran = false;
  Status later = store->Write([&](StoreTxn&) { ran = true; return Status::Ok(); });
  EXPECT_EQ(later.code(), StatusCode::kIoError);
  EXPECT_FALSE(ran);

  // Nothing of the failed batches reached the file; what committed before did.
  store.reset();
  store = OpenOrDie(path);
  EXPECT_TRUE(IsOk(store->health()));
  EXPECT_TRUE(ReadMeta(*store, "before").has_value());
  EXPECT_FALSE(ReadMeta(*store, "a").has_value());
  EXPECT_FALSE(ReadMeta(*store, "b").has_value());
}

TEST(SqliteStoreTest, HotPath_ReusesPreparedStatements) {
  TempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.File("reach.db"));
  auto job = [](int i) {
    return [i](StoreTxn& txn) -> Status {
      EventRecord event = MakeEvent("u" + std::to_string(i), "purchase", i, "m-" + std::to_string(i));
      ExecutionRecord e = MakeExecution("u" + std::to_string(i), "welcome");
      Status s = txn.InsertEvent(event).status();
      if (s.ok()) s = txn.InsertExecution(e);
      WakeupRecord timer;
      timer.execution_id = e.id;
      timer.due_ms = 1000 + i;
      if (s.ok()) s = txn.AddWakeup(timer);
      if (s.ok()) s = txn.UpdateExecution(e);
      return s;
    };
  };
  ASSERT_TRUE(IsOk(store->Write(job(0))));
  const int64_t prepared = WriterPrepareCountForTesting(*store);
  EXPECT_GT(prepared, 0);
  for (int i = 1; i <= 50; ++i) ASSERT_TRUE(IsOk(store->Write(job(i))));
  EXPECT_EQ(WriterPrepareCountForTesting(*store), prepared);
}

TEST(SqliteStoreTest, Migration_BuildsTheSchemaInAnEmptyFile) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  { std::ofstream touch(path); }  // an existing, empty file
  std::unique_ptr<Store> store = OpenOrDie(path);
  store->Close();
  EXPECT_EQ(RawQuery(path, "PRAGMA user_version"), std::to_string(SchemaMigrations().back().version));
  EXPECT_EQ(RawQuery(path, "PRAGMA application_id"), std::to_string(kReachApplicationId));
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM sqlite_schema WHERE name IN ('wakeups', 'wakeups_by_due', "
                           "'event_waits')"),
            "3");
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'wakeups_by_event'"), "0");
  EXPECT_EQ(RawQuery(path, "SELECT n FROM gauges WHERE name = 'event_waits'"), "0");
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM sqlite_schema WHERE name IN ('waits', 'timers', 'waiting_nodes') "
                           "OR type = 'trigger'"),
            "0");
}

TEST(SqliteStoreTest, Migration_RefusesADatabaseNewerThanThisBuild) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  OpenOrDie(path).reset();
  RawQuery(path, "PRAGMA user_version = 99");
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(OptionsFor(path));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("newer"), std::string::npos) << store.status().ToString();
}

TEST(SqliteStoreTest, Migration_RefusesAnotherApplicationsDatabase) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  RawQuery(path, "CREATE TABLE accounts (id INTEGER PRIMARY KEY)");
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(OptionsFor(path));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), "delete");  // left as it was
}

TEST(SqliteStoreTest, Open_ReportsAFileThatIsNotADatabaseAsDataLoss) {
  TempDir dir;
  const std::string path = dir.File("junk.db");
  {
    std::ofstream junk(path);
    junk << std::string(4096, 'x');
  }
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(OptionsFor(path));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss) << store.status().ToString();
}

TEST(SqliteStoreTest, Migration_AppliesOnlyMissingStepsEachInItsOwnTransaction) {
  TempDir dir;
  const std::string path = dir.File("m.db");
  auto connection = SqliteConnection::Open(path, {});
  ASSERT_TRUE(IsOk(connection));
  const MigrationStep v1[] = {{1, "CREATE TABLE t (a INTEGER);"}};
  ASSERT_TRUE(IsOk(MigrateSchema(**connection, v1)));
  const MigrationStep v3[] = {{1, "CREATE TABLE t (a INTEGER);"},  // already applied: skipped
                              {2, "ALTER TABLE t ADD COLUMN b TEXT;"},
                              {3, "ALTER TABLE t ADD COLUMN c TEXT; SELECT no_such_function();"}};
  Status status = MigrateSchema(**connection, v3);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("version 3"), std::string::npos) << status.ToString();
  connection->reset();
  // Step 2 committed; step 3 rolled back as a whole.
  EXPECT_EQ(RawQuery(path, "PRAGMA user_version"), "2");
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM pragma_table_info('t') WHERE name = 'b'"), "1");
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM pragma_table_info('t') WHERE name = 'c'"), "0");
}

TEST(SqliteStoreTest, Connection_SynchronousFollowsTheOption) {
  TempDir dir;
  SqliteConnection::Options options;
  options.synchronous_full = false;
  auto normal = SqliteConnection::Open(dir.File("a.db"), options);
  ASSERT_TRUE(IsOk(normal));
  auto stmt = (*normal)->Prepare("PRAGMA synchronous");
  ASSERT_TRUE(IsOk(stmt));
  ASSERT_TRUE(*stmt->Step());
  EXPECT_EQ(stmt->ColumnInt(0), 1);  // NORMAL
  auto full = SqliteConnection::Open(dir.File("b.db"), {});
  auto full_stmt = (*full)->Prepare("PRAGMA synchronous");
  ASSERT_TRUE(*full_stmt->Step());
  EXPECT_EQ(full_stmt->ColumnInt(0), 2);  // FULL
}

// The queries on the engine's hot paths must be served by their index, never a table scan.
TEST(SqliteStoreTest, QueryPlans_UseTheIndexesDocumentedForThem) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  OpenOrDie(path).reset();
  auto expect_index = [&](const std::string& sql, const std::string& index) {
    const std::string plan = testing::QueryPlan(path, sql);
    EXPECT_NE(plan.find(index), std::string::npos) << sql << "\n  plan: " << plan;
  };
  // Rows come in the index's order: no sort of what matched.
  auto expect_no_sort = [&](const std::string& sql) {
    const std::string plan = testing::QueryPlan(path, sql);
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << sql << "\n  plan: " << plan;
  };
  // The due scan: the partial index, in its order (no temp b-tree), stopping at LIMIT.
  const std::string due =
      "SELECT due_ms, execution_id, wait_id FROM wakeups WHERE due_ms <= ?1 ORDER BY due_ms, execution_id, wait_id "
      "LIMIT ?2";
  expect_index(due, "wakeups_by_due");
  expect_no_sort(due);
  // A timer batch (DueWakeups): the same scan, each row's execution by its primary key.
  const std::string due_with_executions =
      "SELECT w.due_ms, e.state FROM wakeups AS w LEFT JOIN executions AS e ON e.id = w.execution_id "
      "WHERE w.due_ms <= ?1 ORDER BY w.due_ms, w.execution_id, w.wait_id LIMIT ?2";
  expect_index(due_with_executions, "wakeups_by_due");
  expect_index(due_with_executions, "INTEGER PRIMARY KEY");
  expect_no_sort(due_with_executions);
  // The timer thread's next batch starts after the last wakeup it read: a range on the same index.
  const std::string due_after =
      "SELECT w.due_ms, e.state FROM wakeups AS w LEFT JOIN executions AS e ON e.id = w.execution_id "
      "WHERE w.due_ms <= ?1 AND (w.due_ms, w.execution_id, w.wait_id) > (?3, ?4, ?5) "
      "ORDER BY w.due_ms, w.execution_id, w.wait_id LIMIT ?2";
  expect_index(due_after, "wakeups_by_due ((due_ms,execution_id,wait_id)>(?,?,?)");
  expect_no_sort(due_after);
  expect_index("DELETE FROM wakeups WHERE execution_id = ?1 AND wait_id = ?2", "PRIMARY KEY");
  expect_index("UPDATE executions SET trace = ?2, rev = ?3 + 1 WHERE id = ?1 AND rev = ?3", "INTEGER PRIMARY KEY");
  expect_index("SELECT min(due_ms) FROM wakeups WHERE due_ms IS NOT NULL", "wakeups_by_due");
  // FindWaits: the user's entries in key order, each joined to its wakeup by primary key.
  const std::string find_waits =
      "SELECT ew.execution_id, ew.wait_id, w.created_ms FROM event_waits AS ew "
      "JOIN wakeups AS w ON w.execution_id = ew.execution_id AND w.wait_id = ew.wait_id "
      "WHERE ew.user_id = ?1 AND ew.event_type = ?2 ORDER BY ew.execution_id, ew.wait_id";
  expect_index(find_waits, "SEARCH ew USING PRIMARY KEY (user_id=? AND event_type=?)");
  expect_index(find_waits, "SEARCH w USING PRIMARY KEY (execution_id=? AND wait_id=?)");
  expect_no_sort(find_waits);
  // The sweep: the chunk's last key, a range of the primary key from the last key read, in its
  // order; then one DELETE over the chunk's range.
  const std::string chunk_end =
      "SELECT user_id, event_type, execution_id, wait_id FROM event_waits "
      "WHERE (user_id, event_type, execution_id, wait_id) > (?1, ?2, ?3, ?4) "
      "ORDER BY user_id, event_type, execution_id, wait_id LIMIT 1 OFFSET ?9";
  expect_index(chunk_end, "SEARCH event_waits USING PRIMARY KEY ((user_id,event_type,execution_id,wait_id)>(?,?,?,?))");
  expect_no_sort(chunk_end);
  expect_index("DELETE FROM event_waits WHERE (user_id, event_type, execution_id, wait_id) > (?1, ?2, ?3, ?4) AND "
               "(user_id, event_type, execution_id, wait_id) <= (?5, ?6, ?7, ?8) AND due_ms IS NOT NULL AND "
               "(?9 IS NULL OR due_ms < ?9)",
               "SEARCH event_waits USING PRIMARY KEY ((user_id,event_type,execution_id,wait_id)>(?,?,?,?) AND "
               "(user_id,event_type,execution_id,wait_id)<(?,?,?,?))");
  expect_index("DELETE FROM event_waits WHERE (user_id, event_type, execution_id, wait_id) IN "
               "(SELECT user_id, event_type, execution_id, wait_id FROM wakeups WHERE execution_id = ?1 AND event_type IS NOT NULL)",
               "SEARCH event_waits USING PRIMARY KEY (user_id=? AND event_type=? AND execution_id=? AND wait_id=?)");
  expect_index("SELECT count(*) FROM events WHERE user_id = ?1 AND type = ?2 AND timestamp_ms >= ?3",
               "events_by_user_type_time");
  expect_index("SELECT seq FROM events WHERE message_id = ?1 AND message_id <> ''", "events_by_message_id");
  expect_index("SELECT 1 FROM executions WHERE chain = ?1 AND user_id = ?2 AND entry_key = ?3",
               "executions_by_user_entry (user_id=? AND chain=? AND entry_key=?)");
  // ListExecutions: each filter an ordered range scan that stops at LIMIT (no temp b-tree).
  auto expect_ordered = [&](const std::string& where, const std::string& index) {
    const std::string sql = "SELECT id FROM executions WHERE id > ?1 AND " + where + " ORDER BY id LIMIT ?2";
    expect_index(sql, index);
    expect_no_sort(sql);
  };
  // By flow or chain (v10): one (flow, chain) pair's ids in id order, from the index alone.
  expect_ordered("flow = ?3 AND chain = ?4", "COVERING INDEX executions_by_flow_chain (flow=? AND chain=? AND rowid>?)");
  expect_ordered("flow = ?3 AND chain = ?4 AND +status = ?5", "executions_by_flow_chain (flow=? AND chain=? AND rowid>?)");
  // ... the pairs found by one seek each: a flow's next chain, the next flow.
  for (const char* seek : {"SELECT chain FROM executions WHERE flow = ?1 ORDER BY flow, chain LIMIT 1",
                           "SELECT chain FROM executions WHERE flow = ?1 AND chain > ?2 ORDER BY flow, chain LIMIT 1"}) {
    expect_index(seek, "COVERING INDEX executions_by_flow_chain (flow=?");
    expect_no_sort(seek);
  }
  expect_index("SELECT flow FROM executions WHERE flow > ?1 ORDER BY flow LIMIT 1",
               "COVERING INDEX executions_by_flow_chain (flow>?)");
  expect_index("SELECT flow FROM executions ORDER BY flow LIMIT 1", "COVERING INDEX executions_by_flow_chain");
  expect_no_sort("SELECT flow FROM executions ORDER BY flow LIMIT 1");
  expect_ordered("status = ?3 AND status <> 'completed'", "executions_by_status");
  expect_ordered("+status = 'completed'", "INTEGER PRIMARY KEY");
  expect_index("SELECT id FROM executions WHERE id > ?1 AND user_id = ?3 AND (+flow = ?4 OR +chain = ?4) "
               "AND +status = ?5 ORDER BY id LIMIT ?2",
               "executions_by_user_entry");
  expect_index("SELECT user_id FROM user_identities WHERE kind = ?1 AND value = ?2", "PRIMARY KEY");
  // PutUser's read of the identities a user holds (v8: from its row, not an index by user).
  expect_index("SELECT identities FROM users WHERE id = ?1", "sqlite_autoindex_users_1 (id=?)");
  expect_index("SELECT node, sum(waiting) FROM node_stats WHERE chain = ?1 GROUP BY node", "PRIMARY KEY");
}

TEST(SqliteStoreTest, Backup_ProducesAReadableCopyWhileTheStoreIsOpen) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  const std::string copy = dir.File("backup.db");
  std::unique_ptr<Store> store = OpenOrDie(path);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(IsOk(store->Write(PutMetaJob("k" + std::to_string(i), "v"))));

  ASSERT_TRUE(IsOk(BackupSqlite(path, copy)));
  ASSERT_TRUE(IsOk(store->Write(PutMetaJob("after", "v"))));  // the store keeps working
  EXPECT_FALSE(std::filesystem::exists(copy + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(copy + ".tmp"));
  EXPECT_EQ(RawQuery(copy, "PRAGMA integrity_check"), "ok");

  std::unique_ptr<Store> restored = OpenOrDie(copy);
  EXPECT_EQ(ReadMeta(*restored, "k19").value_or(""), "v");
  EXPECT_FALSE(ReadMeta(*restored, "after").has_value());
  EXPECT_TRUE(IsOk(restored->Write(PutMetaJob("restored", "v"))));

  EXPECT_EQ(BackupSqlite(dir.File("missing.db"), dir.File("x.db")).code(), StatusCode::kIoError);
}

// A store file with 300 users whose table's leaf pages are then overwritten with garbage (the
// rest of the file is sound): SQLite reports SQLITE_CORRUPT when a user is read.
void WriteStoreWithDamagedUsers(const std::string& path) {
  {
    std::unique_ptr<Store> store = OpenOrDie(path);
    ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) {
      for (int i = 0; i < 300; ++i) {
        UserRecord user;
        user.id = "u" + std::to_string(i);
        user.traits = {{"filler", std::string(200, 'x')}};
        if (Status s = txn.PutUser(user); !s.ok()) return s;
      }
      return Status::Ok();
    })));
    store->Close();
  }
  RawQuery(path, "PRAGMA wal_checkpoint(TRUNCATE)");
  const std::string leaves = RawQuery(path, "SELECT group_concat(pageno) FROM dbstat WHERE name = 'users' AND pagetype = 'leaf'");
  ASSERT_FALSE(leaves.empty());
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  std::stringstream pages(leaves);
  for (std::string page; std::getline(pages, page, ',');) {
    file.seekp(static_cast<std::streamoff>(std::stoll(page) - 1) * 4096);
    const std::string garbage(4096, '\xff');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
}

TEST(SqliteStoreTest, DataLoss_ADamagedPageStopsWritesInsteadOfFailingTheJobAlone) {
  // SQLite reporting the file corrupt (SQLITE_CORRUPT) is not one job's failure: the batch is
  // rolled back, and the store refuses every later write with kDataLoss until it is restored.
  TempDir dir;
  const std::string path = dir.File("reach.db");
  WriteStoreWithDamagedUsers(path);
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_TRUE(IsOk(store->health()));
  WriterGate gate(*store);
  std::promise<Status> mate, damaged;
  store->Submit(PutMetaJob("mate", "v"), [&](const Status& s) { mate.set_value(s); });
  store->Submit([](StoreTxn& txn) { return txn.GetUser("u150").status(); },
                [&](const Status& s) { damaged.set_value(s); });
  gate.Open();
  const Status damaged_status = damaged.get_future().get();
  EXPECT_EQ(damaged_status.code(), StatusCode::kDataLoss) << damaged_status.ToString();
  EXPECT_EQ(mate.get_future().get().code(), StatusCode::kDataLoss);  // its batch was rolled back
  EXPECT_EQ(store->health().code(), StatusCode::kDataLoss);
  bool ran = false;
  EXPECT_EQ(store->Write([&](StoreTxn&) { ran = true; return Status::Ok(); }).code(), StatusCode::kDataLoss);
  EXPECT_FALSE(ran);
  store.reset();
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM meta WHERE key = 'mate'"), "0");
}

TEST(SqliteStoreTest, DataLoss_FoundByAReaderAlsoStopsWrites) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  WriteStoreWithDamagedUsers(path);
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_TRUE(IsOk(store->health()));
  auto user = store->NewReader()->GetUser("u150");  // an API read, say
  EXPECT_EQ(user.status().code(), StatusCode::kDataLoss) << user.status().ToString();
  EXPECT_EQ(store->health().code(), StatusCode::kDataLoss);  // /readyz answers 503 with it
  bool ran = false;
  EXPECT_EQ(store->Write([&](StoreTxn&) { ran = true; return Status::Ok(); }).code(), StatusCode::kDataLoss);
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace reach::storage

namespace reach::storage {
namespace {

TEST(SqliteStoreTest, FailedSync_FailsTheBatchesItCoveredAndEveryLaterWrite) {
  TempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.File("reach.db"));
  ASSERT_TRUE(IsOk(store->Write(PutMetaJob("before", "v"))));
  InjectSyncFailuresForTesting(*store, 1);
  Status status = store->Write(PutMetaJob("a", "v"));
  EXPECT_EQ(status.code(), StatusCode::kIoError) << status.ToString();
  EXPECT_NE(status.message().find("fsync"), std::string::npos) << status.ToString();
  EXPECT_EQ(store->health().code(), StatusCode::kIoError);
  // Later writes are refused (a retry of the fsync could "succeed" over lost pages).
  EXPECT_EQ(store->Write(PutMetaJob("b", "v")).code(), StatusCode::kIoError);
}

// The name of the calling thread (NameThisThread's), and whether this process has a thread so
// named.
std::string CurrentThreadName() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  return name;
}

bool HasThreadNamed(const std::string& name) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) return true;
  }
  return false;
}

// overlap_sync (reach.yaml `store.fsync: overlapped`, the default): the sync thread fsyncs the
// WAL and then runs the `done`s; off (`in_commit`): SQLite fsyncs inside COMMIT, there is no
// sync thread, and the writer runs the `done`s. Either way what was acknowledged is there after
// a reopen.
TEST(SqliteStoreTest, Sync_OverlappedOnTheSyncThreadOrInCommitOnTheWriter) {
  for (const bool overlapped : {true, false}) {
    SCOPED_TRACE(overlapped ? "overlapped" : "in commit");
    TempDir dir;
    StoreOptions options = OptionsFor(dir.File("reach.db"));
    options.overlap_sync = overlapped;
    std::atomic<int> syncs{0};
    options.on_sync = [&syncs](int64_t) { ++syncs; };
    {
      std::unique_ptr<Store> store = OpenOrDie(options);
      for (int i = 0; i < 3; ++i) {
        std::promise<std::string> done_on;
        store->Submit(PutMetaJob("k" + std::to_string(i), "v"), [&done_on](const Status& status) {
          EXPECT_TRUE(IsOk(status));
          done_on.set_value(CurrentThreadName());
        });
        EXPECT_EQ(done_on.get_future().get(), overlapped ? "reach-sync" : "reach-writer");
      }
      // (After a `done`: a thread is named when it starts to run.)
      EXPECT_EQ(HasThreadNamed("reach-sync"), overlapped);
      // The sync thread's fsyncs, one per batch here (each job waited for the last); SQLite's
      // own inside COMMIT are not reported.
      if (overlapped) EXPECT_GE(syncs.load(), 3);
      else EXPECT_EQ(syncs.load(), 0);
    }
    std::unique_ptr<Store> reopened = OpenOrDie(dir.File("reach.db"));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(ReadMeta(*reopened, "k" + std::to_string(i)).value_or(""), "v");
  }
}

TEST(SqliteStoreTest, Sync_PacedToOneFsyncPerMinIntervalNotAfterAQuietSpellNorWhenClosing) {
  using Clock = std::chrono::steady_clock;
  TempDir dir;
  StoreOptions options = OptionsFor(dir.File("reach.db"));
  options.min_fsync_interval_us = 1'000'000;
  std::mutex mu;
  std::vector<Clock::time_point> sync_starts;
  options.on_sync = [&](int64_t micros) {
    std::lock_guard<std::mutex> lock(mu);
    sync_starts.push_back(Clock::now() - std::chrono::microseconds(micros));
  };
  auto submit = [](Store& store, const std::string& key) {
    auto done = std::make_shared<std::promise<Status>>();
    std::future<Status> future = done->get_future();
    store.Submit(PutMetaJob(key, "v"), [done](const Status& s) { done->set_value(s); });
    return future;
  };
  {
    std::unique_ptr<Store> store = OpenOrDie(options);
    // The first fsync after a quiet spell is not held back (the store has made none yet).
    const auto first_submitted = Clock::now();
    ASSERT_TRUE(IsOk(submit(*store, "a").get()));
    EXPECT_LT(Clock::now() - first_submitted, std::chrono::milliseconds(750));
    // The next ones start a second after it at the earliest, and share one fsync.
    std::vector<std::future<Status>> next;
    for (const char* key : {"b", "c", "d"}) next.push_back(submit(*store, key));
    for (auto& f : next) ASSERT_TRUE(IsOk(f.get()));
    const auto answered = Clock::now();
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(sync_starts.size(), 2u);
    EXPECT_GE(sync_starts[1] - sync_starts[0], std::chrono::seconds(1));
    EXPECT_GE(answered - sync_starts[0], std::chrono::seconds(1));
  }
  std::unique_ptr<Store> reopened = OpenOrDie(dir.File("reach.db"));
  for (const char* key : {"a", "b", "c", "d"}) EXPECT_EQ(ReadMeta(*reopened, key).value_or(""), "v");
  reopened.reset();

  // Closing does not wait out the interval: the last commits are synced and answered at once.
  options.min_fsync_interval_us = 60'000'000;
  sync_starts.clear();
  std::unique_ptr<Store> store = OpenOrDie(options);
  ASSERT_TRUE(IsOk(submit(*store, "e").get()));
  std::future<Status> last = submit(*store, "f");
  const auto closing = Clock::now();
  store->Close();
  EXPECT_LT(Clock::now() - closing, std::chrono::seconds(10));
  ASSERT_EQ(last.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_TRUE(IsOk(last.get()));
  store.reset();
  EXPECT_EQ(ReadMeta(*OpenOrDie(dir.File("reach.db")), "f").value_or(""), "v");
}

TEST(SqliteStoreTest, FailingJob_OnlyAJobThatWroteMakesTheBatchRunAgainAndOnlyItIsUndone) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  std::unique_ptr<Store> store = OpenOrDie(path);
  std::atomic<int> runs_before{0}, runs_clean{0}, runs_dirty{0}, runs_after{0};
  auto counted = [](std::atomic<int>& runs, Store::Job job) {
    return [&runs, job = std::move(job)](StoreTxn& txn) {
      ++runs;
      return job(txn);
    };
  };
  WriterGate gate(*store);
  std::promise<Status> before, clean, dirty, after;
  store->Submit(counted(runs_before, PutMetaJob("before", "1")), [&](const Status& s) { before.set_value(s); });
  // Fails before writing: nothing to undo, no second run.
  store->Submit(counted(runs_clean, [](StoreTxn& txn) -> Status {
                  return txn.GetMeta("x").ok() ? Status::NotFound("no such thing") : Status::Internal("?");
                }),
                [&](const Status& s) { clean.set_value(s); });
  // Fails after writing: its write must not stay.
  store->Submit(counted(runs_dirty, [](StoreTxn& txn) -> Status {
                  Status s = txn.PutMeta("dirty", "1");
                  return s.ok() ? Status::Invalid("changed my mind") : s;
                }),
                [&](const Status& s) { dirty.set_value(s); });
  store->Submit(counted(runs_after, PutMetaJob("after", "1")), [&](const Status& s) { after.set_value(s); });
  gate.Open();
  EXPECT_TRUE(IsOk(before.get_future().get()));
  EXPECT_EQ(clean.get_future().get().code(), StatusCode::kNotFound);
  EXPECT_EQ(dirty.get_future().get().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(IsOk(after.get_future().get()));
  store->Close();
  EXPECT_EQ(RawQuery(path, "SELECT group_concat(key, ',') FROM (SELECT key FROM meta WHERE key IN "
                           "('before', 'dirty', 'after') ORDER BY key)"),
            "after,before");
  // The batch ran once without savepoints up to the dirty failure, then again with them.
  EXPECT_EQ(runs_before.load(), 2);
  EXPECT_EQ(runs_clean.load(), 2);
  EXPECT_EQ(runs_dirty.load(), 2);
  EXPECT_EQ(runs_after.load(), 1);
}

// A store file at schema version `version` (the steps up to it only) holding what `sql` writes:
// what an older build left, for a migration test.
void WriteAtSchemaVersion(const std::string& path, size_t version, const std::string& sql) {
  auto connection = SqliteConnection::Open(path, {});
  ASSERT_TRUE(IsOk(connection));
  ASSERT_TRUE(IsOk(MigrateSchema(**connection, SchemaMigrations().first(version))));
  ASSERT_TRUE(IsOk((*connection)->Exec(sql)));
}

TEST(SqliteStoreTest, MigrationToV3_MergesWaitsAndTimersAndCountsWaitingNodes) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  ASSERT_NO_FATAL_FAILURE(WriteAtSchemaVersion(path, 2, R"sql(
      INSERT INTO executions (id, flow, chain, chain_version, set_version, user_id, status, state, created_ms, updated_ms)
        VALUES (1, 'f', 'c', 'v1', 's', 'u1', 'waiting', '{"root":{}}', 1, 1),
               (2, 'f', 'c', 'v1', 's', 'u2', 'waiting', '{"root":{}}', 1, 1),
               (3, 'f', 'c', 'v1', 's', 'u3', 'completed', '{}', 1, 1);
      INSERT INTO waits (execution_id, wait_id, user_id, event_type, created_ms) VALUES (1, 1, 'u1', 'pay', 5);
      INSERT INTO timers (due_ms, execution_id, wait_id) VALUES (900, 1, 1), (400, 2, 3);
      INSERT INTO waiting_nodes (execution_id, node, chain) VALUES (1, 'w', 'c'), (2, 'd', 'c'), (3, 'w', 'c');
      INSERT INTO node_stats (chain, chain_version, node, entered) VALUES ('c', 'v1', 'w', 3), ('c', 'v1', 'd', 1);
      UPDATE gauges SET n = 2 WHERE name = 'executions.waiting';
    )sql"));
  std::unique_ptr<Store> store = OpenOrDie(path);
  EXPECT_EQ(store->Write([&](StoreTxn& txn) -> Status {
    auto waits = txn.FindWaits("u1", "pay");
    EXPECT_EQ(waits->size(), 1u);
    auto due = txn.DueWakeups(1000, 10);
    EXPECT_EQ(due->size(), 2u);
    EXPECT_EQ(due->front().wakeup.execution_id, 2);
    EXPECT_EQ(due->back().wakeup.due_ms, 900);
    // The wait and its timeout are one wakeup: removing it removes both.
    EXPECT_TRUE(IsOk(txn.DeleteWakeup(1, 1)));
    EXPECT_EQ(txn.DueWakeups(1000, 10)->size(), 1u);
    EXPECT_TRUE(txn.FindWaits("u1", "pay")->empty());
    auto e1 = txn.GetExecution(1);
    EXPECT_EQ(boost::json::serialize((*e1)->state.at("wn")), R"(["w"])");
    return Status::Invalid("look only");
  }).code(), StatusCode::kInvalidArgument);
  std::unique_ptr<StoreReader> reader = store->NewReader();
  auto stats = reader->GetNodeStats("c");
  ASSERT_TRUE(IsOk(stats));
  ASSERT_EQ(stats->size(), 2u);
  EXPECT_EQ((*stats)[0].node, "d");
  EXPECT_EQ((*stats)[0].waiting, 1);
  EXPECT_EQ((*stats)[1].node, "w");
  EXPECT_EQ((*stats)[1].waiting, 1);  // the completed execution's stale row is not counted
  auto gauges = reader->GetGauges();
  EXPECT_EQ(gauges->waits, 1);
  EXPECT_EQ(gauges->timers, 2);
  EXPECT_EQ(gauges->next_timer_due_ms.value_or(0), 400);
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM sqlite_schema WHERE name IN ('waits', 'timers', 'waiting_nodes')"),
            "0");
}

TEST(SqliteStoreTest, MigrationToV10_OneIndexByFlowAndChainListsWhatTheTwoDid) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  ASSERT_NO_FATAL_FAILURE(WriteAtSchemaVersion(path, 9, R"sql(
      INSERT INTO executions (id, flow, chain, chain_version, set_version, user_id, status, created_ms, updated_ms)
        VALUES (1, 'shop', 'shop', 'v1', 's', 'u1', 'waiting', 1, 1),
               (2, 'other', 'shop', 'v1', 's', 'u2', 'completed', 1, 1),
               (3, 'shop', 'recall', 'v1', 's', 'u3', 'running', 1, 1),
               (4, 'other', 'other', 'v1', 's', 'u4', 'waiting', 1, 1);
    )sql"));
  std::unique_ptr<Store> store = OpenOrDie(path);
  EXPECT_EQ(RawQuery(path, "SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema WHERE type = 'index' AND "
                           "name LIKE 'executions_by_%' ORDER BY name)"),
            "executions_by_flow_chain,executions_by_status,executions_by_user_entry");
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), "ok");
  ExecutionFilter filter;
  filter.flow = "shop";
  auto list = store->NewReader()->ListExecutions(filter);
  ASSERT_TRUE(IsOk(list));
  std::vector<int64_t> ids;
  for (const ExecutionRecord& e : *list) ids.push_back(e.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2, 3}));
}

TEST(SqliteStoreTest, MigrationToV11_NodeStatsCountCancelsFromZeroAndKeepWhatTheyHad) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  ASSERT_NO_FATAL_FAILURE(WriteAtSchemaVersion(path, 10, R"sql(
      INSERT INTO node_stats (chain, chain_version, node, entered, completed, failed, waiting)
        VALUES ('shop', 'v1', 'wait', 5, 2, 1, 2);
    )sql"));
  std::unique_ptr<Store> store = OpenOrDie(path);
  auto before = store->NewReader()->GetNodeStats("shop");
  ASSERT_TRUE(IsOk(before));
  ASSERT_EQ(before->size(), 1u);
  EXPECT_EQ((*before)[0].entered, 5);
  EXPECT_EQ((*before)[0].waiting, 2);
  EXPECT_EQ((*before)[0].cancelled, 0);
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) { return txn.BumpNodeStats("shop", "v1", "wait", 0, 0, 0, -1, 1); })));
  auto after = store->NewReader()->GetNodeStats("shop");
  ASSERT_TRUE(IsOk(after));
  EXPECT_EQ((*after)[0].waiting, 1);
  EXPECT_EQ((*after)[0].cancelled, 1);
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), "ok");
}

TEST(SqliteStoreTest, MigrationToV4_StatusCheckStillRefusesUnknownStatusesWithoutAnInList) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  OpenOrDie(path).reset();
  const std::string sql = RawQuery(path, "SELECT sql FROM sqlite_schema WHERE name = 'executions'");
  EXPECT_EQ(sql.find("status IN"), std::string::npos) << sql;
  EXPECT_NE(sql.find("status = 'cancelled'"), std::string::npos) << sql;
  // The constraint still holds, through the store and through any other connection.
  std::unique_ptr<Store> store = OpenOrDie(path);
  EXPECT_TRUE(IsOk(store->Write([](StoreTxn& txn) {
    ExecutionRecord e = MakeExecution("u1", "welcome", ExecutionStatus::kWaiting);
    return txn.InsertExecution(e);
  })));
  store->Close();
  auto connection = SqliteConnection::Open(path, {});
  ASSERT_TRUE(IsOk(connection));
  Status bad = (*connection)->Exec(
      "INSERT INTO executions (flow, chain, chain_version, set_version, user_id, status, created_ms, updated_ms) "
      "VALUES ('f', 'c', 'v', 's', 'u', 'bogus', 1, 1)");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("CHECK"), std::string::npos) << bad.ToString();
  EXPECT_TRUE(IsOk((*connection)->Exec("PRAGMA integrity_check")));
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), "ok");
}

TEST(SqliteStoreTest, ExecutionIds_TwoStoresOnOneFileNeverCollide) {
  // Two writers on one file (two processes, say): each notices the other's commits
  // (PRAGMA data_version) and reads the next id again instead of counting on from memory.
  TempDir dir;
  const std::string path = dir.File("reach.db");
  std::unique_ptr<Store> a = OpenOrDie(path);
  std::unique_ptr<Store> b = OpenOrDie(path);
  std::vector<int64_t> ids;
  auto insert = [&](Store& store) {
    int64_t id = 0;
    Status status = store.Write([&](StoreTxn& txn) {
      ExecutionRecord e = MakeExecution("u1", "welcome", ExecutionStatus::kWaiting);
      Status s = txn.InsertExecution(e);
      id = e.id;
      return s;
    });
    EXPECT_TRUE(IsOk(status));
    ids.push_back(id);
  };
  insert(*a);
  insert(*b);
  insert(*a);
  insert(*a);
  insert(*b);
  std::vector<int64_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  a->Close();
  b->Close();
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM executions"), "5");
}

// The next event seq and execution id are read again whenever another writer committed: each
// from its own table however far apart the two are (here executions far ahead of events, as
// manual runs and fan-outs leave them), and through the writer's cached statements (a re-read
// prepares nothing new).
TEST(SqliteStoreTest, EventSeqsAndExecutionIds_ReadAgainAfterAnotherWriterFromTheirOwnTables) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  std::unique_ptr<Store> a = OpenOrDie(path);
  std::unique_ptr<Store> b = OpenOrDie(path);
  ASSERT_TRUE(IsOk(b->Write([](StoreTxn& txn) {
    for (int i = 0; i < 50; ++i) {
      ExecutionRecord e = MakeExecution("u1", "welcome");
      if (Status s = txn.InsertExecution(e); !s.ok()) return s;
    }
    return Status::Ok();
  })));
  auto both = [](Store& store, int64_t& seq, int64_t& id) {
    return store.Write([&](StoreTxn& txn) -> Status {
      EventRecord event = MakeEvent("u1", "visit", 1);
      Result<bool> inserted = txn.InsertEvent(event);
      if (!inserted.ok()) return inserted.status();
      seq = event.seq;
      ExecutionRecord e = MakeExecution("u1", "welcome");
      Status s = txn.InsertExecution(e);
      id = e.id;
      return s;
    });
  };
  int64_t seq = 0, id = 0;
  ASSERT_TRUE(IsOk(both(*a, seq, id)));  // a's first read of both
  EXPECT_EQ(seq, 1);
  EXPECT_EQ(id, 51);
  const int64_t prepared = WriterPrepareCountForTesting(*a);
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(IsOk(both(*b, seq, id)));
    ASSERT_TRUE(IsOk(both(*a, seq, id)));  // b wrote meanwhile: a reads both again
    EXPECT_EQ(seq, 3 + 2 * round);
    EXPECT_EQ(id, 53 + 2 * round);
  }
  EXPECT_EQ(WriterPrepareCountForTesting(*a), prepared);
  a->Close();
  b->Close();
  EXPECT_EQ(RawQuery(path, "SELECT count(*) || ' ' || max(seq) FROM events"), "11 11");
  EXPECT_EQ(RawQuery(path, "SELECT count(*) || ' ' || max(id) FROM executions"), "61 61");
}

TEST(SqliteStoreTest, OverlappedSync_FindsTheWalOfADatabaseReachedThroughASymlink) {
  TempDir dir;
  const std::string target = dir.File("real.db");
  const std::string link = dir.File("link.db");
  OpenOrDie(target).reset();
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  std::unique_ptr<Store> store = OpenOrDie(link);
  ASSERT_TRUE(IsOk(store->Write(PutMetaJob("a", "1"))));
  // Only the sync thread fsyncs through InjectSyncFailures: the write failing shows that it
  // runs, i.e. that the store found the -wal next to the target (not "link.db-wal").
  InjectSyncFailuresForTesting(*store, 1);
  EXPECT_EQ(store->Write(PutMetaJob("b", "1")).code(), StatusCode::kIoError);
}

TEST(SqliteStoreTest, FailingJob_AStoreErrorRerunsTheBatchEvenWithoutCountedChanges) {
  // A statement that fails half-way (a corrupt page, say) does not count its changes and has no
  // statement journal: a job failing with an error of the store is isolated like one that wrote.
  TempDir dir;
  const std::string path = dir.File("reach.db");
  std::unique_ptr<Store> store = OpenOrDie(path);
  std::atomic<int> runs_before{0}, runs_failing{0};
  WriterGate gate(*store);
  std::promise<Status> before, failing;
  store->Submit(
      [&](StoreTxn& txn) {
        ++runs_before;
        return txn.PutMeta("before", "1");
      },
      [&](const Status& s) { before.set_value(s); });
  store->Submit(
      [&](StoreTxn&) {
        ++runs_failing;
        return Status::Io("disk said no");
      },
      [&](const Status& s) { failing.set_value(s); });
  gate.Open();
  EXPECT_TRUE(IsOk(before.get_future().get()));
  EXPECT_EQ(failing.get_future().get().code(), StatusCode::kIoError);
  EXPECT_EQ(runs_before.load(), 2);
  EXPECT_EQ(runs_failing.load(), 2);
  EXPECT_TRUE(IsOk(store->health()));  // a job's error is not the store's
  store->Close();
  EXPECT_EQ(RawQuery(path, "SELECT value FROM meta WHERE key = 'before'"), "1");
}


// ---- event_waits: entries a fired timer leaves, and the sweep that removes them ----------------

WakeupRecord EventWait(int64_t execution, int64_t wait, const std::string& user, int64_t due_ms) {
  WakeupRecord w;
  w.execution_id = execution;
  w.wait_id = wait;
  w.user_id = user;
  w.event_type = "pay";
  w.created_ms = 1;
  w.due_ms = due_ms;
  return w;
}

// The table's entries as "execution/wait" in key order, and the gauge that counts them.
std::string EventWaitRows(const std::string& path) {
  return RawQuery(path, "SELECT group_concat(execution_id || '/' || wait_id, ' ') FROM "
                        "(SELECT execution_id, wait_id FROM event_waits ORDER BY user_id, execution_id, wait_id)") +
         " | " + RawQuery(path, "SELECT n FROM gauges WHERE name = 'event_waits'");
}

TEST(SqliteStoreTest, EventWaits_AFiredTimerLeavesItsEntryWhichFindWaitsSkipsAndTheSweepRemoves) {
  TempDir dir;
  StoreOptions options;
  options.path = dir.File("reach.db");
  options.event_wait_sweep_min_stale = 1;  // a pass once two entries are stale (and outnumber the live)
  std::unique_ptr<Store> store = OpenOrDie(options);
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) -> Status {
    for (const WakeupRecord& w : {EventWait(1, 1, "u1", 100), EventWait(2, 1, "u1", 100), EventWait(3, 1, "u2", 200),
                                  EventWait(4, 1, "u3", 0)})
      if (Status s = txn.AddWakeup(w); !s.ok()) return s;
    return Status::Ok();
  })));
  EXPECT_EQ(EventWaitRows(options.path), "1/1 2/1 3/1 4/1 | 4");

  // The timer of 1/1 fires: its wakeup goes, its entry stays (one stale: not enough for a pass).
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) -> Status {
    auto taken = txn.TakeWakeup(EventWait(1, 1, "u1", 100));
    EXPECT_TRUE(taken.ok() && *taken);
    auto waits = txn.FindWaits("u1", "pay");
    EXPECT_EQ(waits->size(), 1u);
    EXPECT_EQ(waits->front().execution_id, 2);
    return Status::Ok();
  })));
  EXPECT_EQ(EventWaitRows(options.path), "1/1 2/1 3/1 4/1 | 4");
  auto gauges = store->NewReader()->GetGauges();
  EXPECT_EQ(gauges->waits, 3);
  EXPECT_EQ(gauges->timers, 2);
  EXPECT_EQ(gauges->stale_waits, 1);

  // 3/1 fires too (two stale, two live): not more stale than live yet. Then 2/1: three stale,
  // one live: a pass, which removes the entries due before the earliest pending timer (none
  // pending: all of them) and keeps 4/1, whose wait has no timeout.
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) { return txn.TakeWakeup(EventWait(3, 1, "u2", 200)).status(); })));
  EXPECT_EQ(EventWaitRows(options.path), "1/1 2/1 3/1 4/1 | 4");
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) { return txn.TakeWakeup(EventWait(2, 1, "u1", 100)).status(); })));
  EXPECT_EQ(EventWaitRows(options.path), "4/1 | 1");
  EXPECT_EQ(store->NewReader()->GetGauges()->stale_waits, 0);
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) -> Status {
    EXPECT_TRUE(txn.FindWaits("u1", "pay")->empty());
    EXPECT_EQ(txn.FindWaits("u3", "pay")->size(), 1u);
    return Status::Ok();
  })));
  store->Close();
  EXPECT_EQ(RawQuery(options.path, "PRAGMA integrity_check"), "ok");
}

TEST(SqliteStoreTest, EventWaits_TheSweepKeepsEntriesDueFromTheEarliestPendingTimerOn) {
  TempDir dir;
  StoreOptions options;
  options.path = dir.File("reach.db");
  options.event_wait_sweep_min_stale = 0;
  std::unique_ptr<Store> store = OpenOrDie(options);
  // 1/1 and 2/1 due at 100, 3/1 at 50 but added after them; a pure timer due at 150.
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) -> Status {
    for (const WakeupRecord& w : {EventWait(1, 1, "u1", 100), EventWait(2, 1, "u2", 100), EventWait(3, 1, "u3", 50)})
      if (Status s = txn.AddWakeup(w); !s.ok()) return s;
    WakeupRecord timer;
    timer.execution_id = 9;
    timer.wait_id = 1;
    timer.due_ms = 150;
    return txn.AddWakeup(timer);
  })));
  // 1/1 and 3/1 fire while 2/1 (due at the same time as 1/1) is still pending: two stale, one
  // live, a pass. The earliest pending timer is due at 100: 3/1's entry (due 50) goes, 1/1's
  // (due 100) cannot be told stale without a lookup and stays.
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) -> Status {
    if (Status s = txn.TakeWakeup(EventWait(1, 1, "u1", 100)).status(); !s.ok()) return s;
    return txn.TakeWakeup(EventWait(3, 1, "u3", 50)).status();
  })));
  EXPECT_EQ(EventWaitRows(options.path), "1/1 2/1 | 2");
  // 2/1 fires: the earliest pending is now the pure timer (150), and both entries go.
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) { return txn.TakeWakeup(EventWait(2, 1, "u2", 100)).status(); })));
  EXPECT_EQ(EventWaitRows(options.path), " | 0");
  EXPECT_EQ(RawQuery(options.path, "SELECT count(*) FROM wakeups"), "1");
}

TEST(SqliteStoreTest, EventWaits_APassReadsAChunkPerBatchAndResumesWhereItStopped) {
  TempDir dir;
  StoreOptions options;
  options.path = dir.File("reach.db");
  options.event_wait_sweep_min_stale = 0;
  options.event_wait_sweep_chunk = 4;
  std::unique_ptr<Store> store = OpenOrDie(options);
  // Twenty waits of twenty users with timeouts, and one without (it stays).
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) -> Status {
    for (int i = 1; i <= 20; ++i)
      if (Status s = txn.AddWakeup(EventWait(i, 1, "u" + std::to_string(100 + i), 1000 + i)); !s.ok()) return s;
    return txn.AddWakeup(EventWait(99, 1, "u200", 0));
  })));
  // All twenty fire in one batch: the pass starts and reads the first four entries.
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) -> Status {
    for (int i = 1; i <= 20; ++i)
      if (Status s = txn.TakeWakeup(EventWait(i, 1, "u" + std::to_string(100 + i), 1000 + i)).status(); !s.ok())
        return s;
    return Status::Ok();
  })));
  EXPECT_EQ(RawQuery(options.path, "SELECT count(*) FROM event_waits"), "17");
  // Each later batch (whatever it holds) reads the next four.
  auto nothing = [](StoreTxn& txn) { return txn.PutMeta("tick", "1"); };
  ASSERT_TRUE(IsOk(store->Write(nothing)));
  EXPECT_EQ(RawQuery(options.path, "SELECT count(*) FROM event_waits"), "13");
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(IsOk(store->Write(nothing)));
  EXPECT_EQ(EventWaitRows(options.path), "99/1 | 1");
  // The pass is over: later batches read nothing (the live entry is never removed).
  ASSERT_TRUE(IsOk(store->Write(nothing)));
  EXPECT_EQ(EventWaitRows(options.path), "99/1 | 1");
  auto gauges = store->NewReader()->GetGauges();
  EXPECT_EQ(gauges->waits, 1);
  EXPECT_EQ(gauges->timers, 0);
}

TEST(SqliteStoreTest, EventWaits_AnEventOrAnEndRemovesTheEntryWithItsWakeup) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) -> Status {
    for (const WakeupRecord& w : {EventWait(1, 1, "u1", 100), EventWait(1, 2, "u1", 0), EventWait(2, 1, "u1", 100),
                                  EventWait(3, 1, "u2", 0)})
      if (Status s = txn.AddWakeup(w); !s.ok()) return s;
    return Status::Ok();
  })));
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) -> Status {
    if (Status s = txn.DeleteWakeupsOf(1); !s.ok()) return s;  // an execution that ends
    if (Status s = txn.DeleteWakeup(2, 1); !s.ok()) return s;  // an event resumes it
    // A wait without a timeout has no due time to be swept by: taking it removes its entry.
    return txn.TakeWakeup(EventWait(3, 1, "u2", 0)).status();
  })));
  EXPECT_EQ(EventWaitRows(path), " | 0");
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM wakeups"), "0");
}

TEST(SqliteStoreTest, MigrationToV7_MovesTheWaitsByEventIntoEventWaits) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  ASSERT_NO_FATAL_FAILURE(WriteAtSchemaVersion(path, 6, R"sql(
      INSERT INTO wakeups (execution_id, wait_id, user_id, event_type, due_ms, created_ms)
        VALUES (1, 1, 'u1', 'pay', 900, 5), (2, 1, 'u1', 'pay', NULL, 6), (3, 1, '', NULL, 400, 7);
      UPDATE gauges SET n = 2 WHERE name = 'waits';
      UPDATE gauges SET n = 2 WHERE name = 'timers';
    )sql"));
  std::unique_ptr<Store> store = OpenOrDie(path);
  store->Close();
  EXPECT_EQ(RawQuery(path, "SELECT group_concat(user_id || ' ' || event_type || ' ' || execution_id || '/' || wait_id || "
                           "' ' || ifnull(due_ms, '-'), ', ') FROM event_waits"),
            "u1 pay 1/1 900, u1 pay 2/1 -");
  EXPECT_EQ(RawQuery(path, "SELECT n FROM gauges WHERE name = 'event_waits'"), "2");
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'wakeups_by_event'"), "0");
  store = OpenOrDie(path);
  EXPECT_TRUE(IsOk(store->Write([](StoreTxn& txn) -> Status {
    auto waits = txn.FindWaits("u1", "pay");
    EXPECT_EQ(waits->size(), 2u);
    EXPECT_EQ(waits->back().created_ms, 6);
    return Status::Ok();
  })));
}

TEST(SqliteStoreTest, MigrationToV8_DropsTheIdentitiesByUserIndexAndPutUserStillWritesOnlyTheDifference) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  // As PutUser left them before v8: the row's identities and one user_identities row each.
  ASSERT_NO_FATAL_FAILURE(WriteAtSchemaVersion(path, 7, R"sql(
      INSERT INTO users (id, identities, created_ms, updated_ms)
        VALUES ('u1', '{"phone":"p1","openid":["oA","oB"]}', 1, 1),
               ('u2', '{"phone":"p2"}', 1, 1);
      INSERT INTO user_identities (kind, value, user_id)
        VALUES ('phone', 'p1', 'u1'), ('openid', 'oA', 'u1'), ('openid', 'oB', 'u1'), ('phone', 'p2', 'u2');
    )sql"));
  std::unique_ptr<Store> store = OpenOrDie(path);
  store->Close();
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'user_identities_by_user'"), "0");

  store = OpenOrDie(path);
  ASSERT_TRUE(IsOk(store->Write([](StoreTxn& txn) -> Status {
    std::optional<UserRecord> user = *txn.GetUser("u1");
    EXPECT_TRUE(user.has_value());
    if (!user) return Status::Ok();
    user->identities = {{"openid", "oA"}, {"email", "a@example.com"}};
    return txn.PutUser(*user);
  })));
  store->Close();
  EXPECT_EQ(RawQuery(path, "SELECT group_concat(kind || '=' || value || ' ' || user_id, ', ') FROM "
                           "(SELECT * FROM user_identities ORDER BY kind, value)"),
            "email=a@example.com u1, openid=oA u1, phone=p2 u2");
}

TEST(SqliteStoreTest, MigrationToV9_DropsAutoincrementAndNeverHandsOutAnIdUsedBefore) {
  TempDir dir;
  const std::string path = dir.File("reach.db");
  // Three of each inserted under AUTOINCREMENT, the newest then deleted: sqlite_sequence
  // holds 3, the rows end at 2.
  ASSERT_NO_FATAL_FAILURE(WriteAtSchemaVersion(path, 8, R"sql(
      INSERT INTO events (type, user_id, timestamp_ms, received_ms) VALUES ('a', 'u1', 1, 1), ('b', 'u1', 1, 1), ('c', 'u1', 1, 1);
      INSERT INTO executions (flow, chain, chain_version, set_version, user_id, status, created_ms, updated_ms)
        VALUES ('f', 'c', 'v', 's', 'u1', 'completed', 1, 1), ('f', 'c', 'v', 's', 'u1', 'completed', 1, 1),
               ('f', 'c', 'v', 's', 'u1', 'completed', 1, 1);
      DELETE FROM events WHERE seq = 3;
      DELETE FROM executions WHERE id = 3;
    )sql"));
  std::unique_ptr<Store> store = OpenOrDie(path);
  int64_t first_seq = 0, second_seq = 0, duplicate_seq = 0, execution_id = 0;
  ASSERT_TRUE(IsOk(store->Write([&](StoreTxn& txn) -> Status {
    EventRecord event = MakeEvent("u1", "d", 10);
    event.message_id = "m1";
    EXPECT_TRUE(*txn.InsertEvent(event));
    first_seq = event.seq;
    EventRecord again = MakeEvent("u1", "d", 10);
    again.message_id = "m1";
    EXPECT_FALSE(*txn.InsertEvent(again));  // a duplicate: the first one's seq, none used up
    duplicate_seq = again.seq;
    EventRecord next = MakeEvent("u1", "e", 11);
    EXPECT_TRUE(*txn.InsertEvent(next));
    second_seq = next.seq;
    ExecutionRecord execution = MakeExecution("u1", "c");
    Status status = txn.InsertExecution(execution);
    execution_id = execution.id;
    return status;
  })));
  store->Close();
  EXPECT_EQ(first_seq, 4);
  EXPECT_EQ(duplicate_seq, 4);
  EXPECT_EQ(second_seq, 5);
  EXPECT_EQ(execution_id, 4);
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%AUTOINCREMENT%'"), "0");
  // SQLite no longer keeps the marks: they stay where v9 found them.
  EXPECT_EQ(RawQuery(path, "SELECT group_concat(name || '=' || seq, ', ') FROM (SELECT * FROM sqlite_sequence ORDER BY name)"),
            "events=3, executions=3");
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), "ok");

  // Reopened, the writer reads the next ids from the rows.
  store = OpenOrDie(path);
  ASSERT_TRUE(IsOk(store->Write([&](StoreTxn& txn) -> Status {
    EventRecord event = MakeEvent("u1", "f", 12);
    EXPECT_TRUE(*txn.InsertEvent(event));
    EXPECT_EQ(event.seq, 6);
    ExecutionRecord execution = MakeExecution("u1", "c");
    Status status = txn.InsertExecution(execution);
    EXPECT_EQ(execution.id, 5);
    return status;
  })));
}

}  // namespace
}  // namespace reach::storage
