// The store's VFS (storage/sqlite_wal_vfs.h): a commit's WAL frames reach the file in a few
// write calls, all of them before COMMIT returns (a connection through the plain default VFS
// sees the commit at once, and a copy of the files taken while the writer is still open
// recovers it), and large transactions are cut into writes the default VFS accepts; on a
// connection that asks for it, a sync of the database file writes its pages back in steps first.

#include "storage/sqlite_wal_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "storage/store_test_util.h"

namespace reach::storage {
namespace {

using testing::TempDir;

sqlite3* OpenWith(const std::string& path, const char* vfs) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), SQLITE_OK);
  return db;
}

void Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << sql << ": " << (error ? error : "");
  sqlite3_free(error);
}

int64_t QueryInt(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
  int64_t value = -1;
  if (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
  EXPECT_NE(value, -1) << sql << ": " << sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  return value;
}

// Inserts `rows` rows of `bytes` random bytes each, in one transaction.
void InsertRows(sqlite3* db, int first, int rows, int bytes) {
  Exec(db, "BEGIN");
  for (int i = first; i < first + rows; ++i) {
    Exec(db, "INSERT INTO t (id, v) VALUES (" + std::to_string(i) + ", randomblob(" + std::to_string(bytes) + "))");
  }
  Exec(db, "COMMIT");
}

class WalVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(WalBatchingVfsName(), nullptr);
    path_ = dir_.File("vfs.db");
    writer_ = OpenWith(path_, WalBatchingVfsName());
    Exec(writer_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"
                  "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  }
  void TearDown() override { sqlite3_close_v2(writer_); }

  // Copies the database and its WAL as a crash would leave them (the writer still open, nothing
  // checkpointed) and opens the copy through the default VFS: SQLite recovers the commits from
  // the WAL's frames alone. Expects `rows` rows of `bytes` bytes in all.
  void ExpectRecoveredCopy(int64_t rows, int64_t bytes) {
    const std::string copy = dir_.File("copy.db");
    std::filesystem::copy_file(path_, copy);
    std::filesystem::copy_file(path_ + "-wal", copy + "-wal");
    sqlite3* recovered = OpenWith(copy, nullptr);
    EXPECT_EQ(QueryInt(recovered, "SELECT count(*) FROM t"), rows);
    EXPECT_EQ(QueryInt(recovered, "SELECT sum(length(v)) FROM t"), bytes);
    sqlite3_close_v2(recovered);
  }

  TempDir dir_;
  std::string path_;
  sqlite3* writer_ = nullptr;
};

TEST_F(WalVfsTest, ACommitOfManyPagesIsAFewWritesAndEveryFrame) {
  const WalVfsCounters before = WalVfsCountersNow();
  InsertRows(writer_, 0, 60, 3000);  // 60 rows of 3000 bytes: ~60 leaf pages
  const WalVfsCounters after = WalVfsCountersNow();
  // What the WAL holds now: every frame of both transactions (the CREATE's and this one's).
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(writer_, "PRAGMA wal_checkpoint(PASSIVE)", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  const int64_t wal_frames = sqlite3_column_int64(stmt, 1);
  sqlite3_finalize(stmt);
  EXPECT_GE(wal_frames, 60);
  const uint64_t bytes = after.bytes - before.bytes;
  const uint64_t writes = after.writes - before.writes;
  // Without the VFS: two writes a frame (120+). With it: the buffer in 124 KiB pieces, then the
  // commit frame's page.
  EXPECT_GE(bytes, 60u * (4096 + 24));
  EXPECT_LE(writes, bytes / (124 << 10) + 3) << bytes << " bytes";
  EXPECT_GE(writes, 2u);
}

TEST_F(WalVfsTest, ACheckpointsSyncIsNotPacedUnlessTheConnectionAskedForIt) {
  InsertRows(writer_, 0, 800, 3000);
  const WalVfsCounters before = WalVfsCountersNow();
  Exec(writer_, "PRAGMA wal_checkpoint(TRUNCATE)");
  EXPECT_EQ(WalVfsCountersNow().paced_steps, before.paced_steps);
  // A connection through another VFS cannot ask.
  sqlite3* plain = OpenWith(path_, nullptr);
  EXPECT_FALSE(EnablePacedSyncs(plain));
  sqlite3_close_v2(plain);
}

TEST_F(WalVfsTest, ACheckpointsSyncWritesItsPagesBackInStepsThenSyncs) {
  ASSERT_TRUE(EnablePacedSyncs(writer_));
  InsertRows(writer_, 0, 800, 3000);  // ~800 leaf pages, all in the WAL (no autocheckpoint)
  const int64_t pages = QueryInt(writer_, "PRAGMA page_count");
  ASSERT_GE(pages, 800);
  const WalVfsCounters before = WalVfsCountersNow();
  // Copies every page to the database file, then syncs it (synchronous=NORMAL does).
  Exec(writer_, "PRAGMA wal_checkpoint(TRUNCATE)");
  const WalVfsCounters after = WalVfsCountersNow();
  // 256 KiB steps of 4 KiB pages: one step per 64 pages written, in offset order.
  const uint64_t steps = after.paced_steps - before.paced_steps;
  EXPECT_GE(steps, static_cast<uint64_t>(pages / 64)) << pages << " pages";
  EXPECT_LE(steps, static_cast<uint64_t>(pages / 64 + 2)) << pages << " pages";
  // A sync with nothing written since the last one has nothing to pace.
  Exec(writer_, "PRAGMA wal_checkpoint(TRUNCATE)");
  EXPECT_EQ(WalVfsCountersNow().paced_steps, after.paced_steps);
  // Everything is in the database file itself now: a copy without the WAL holds it all.
  const std::string copy = dir_.File("main-only.db");
  std::filesystem::copy_file(path_, copy);
  sqlite3* alone = OpenWith(copy, nullptr);
  EXPECT_EQ(QueryInt(alone, "SELECT count(*) FROM t"), 800);
  EXPECT_EQ(QueryInt(alone, "SELECT sum(length(v)) FROM t"), 800 * 3000);
  sqlite3_close_v2(alone);
}

TEST(WalVfsPacing, AFileRestoredOverThePathIsNotPacedInsteadOfTheOpenOne) {
  TempDir dir;
  const std::string path = dir.File("restored.db");
  sqlite3* setup = OpenWith(path, nullptr);  // made a WAL database without this VFS
  Exec(setup, "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  sqlite3_close_v2(setup);
  sqlite3* writer = OpenWith(path, WalBatchingVfsName());
  Exec(writer, "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0");
  ASSERT_TRUE(EnablePacedSyncs(writer));
  InsertRows(writer, 0, 300, 3000);  // no sync of the database file yet
  // Another file takes the path while the connection keeps the one it opened (a restore done
  // by hand under a running process): the pacing must not sync the newcomer in its place.
  const std::string other = dir.File("other.db");
  sqlite3* db = OpenWith(other, nullptr);
  Exec(db, "CREATE TABLE x (y)");
  sqlite3_close_v2(db);
  std::filesystem::rename(other, path);
  const WalVfsCounters before = WalVfsCountersNow();
  Exec(writer, "PRAGMA wal_checkpoint(PASSIVE)");  // copies into the file it opened, and syncs it
  EXPECT_EQ(WalVfsCountersNow().paced_steps, before.paced_steps);
  EXPECT_EQ(QueryInt(writer, "SELECT count(*) FROM t"), 300);
  sqlite3_close_v2(writer);
}

TEST_F(WalVfsTest, ACommitIsInTheFileBeforeCommitReturns) {
  // A connection through the default VFS has its own descriptor: what it reads is what the
  // writer handed to the OS, not what it may still hold.
  sqlite3* plain = OpenWith(path_, nullptr);
  for (int round = 0; round < 20; ++round) {
    // Sizes that land the buffer on and around the 128 KiB the default VFS takes at most.
    InsertRows(writer_, round * 40, 1 + round * 2, 500 + round * 397);
    EXPECT_EQ(QueryInt(plain, "SELECT count(*) FROM t"), QueryInt(writer_, "SELECT count(*) FROM t"));
    EXPECT_EQ(QueryInt(plain, "SELECT sum(length(v)) FROM t"), QueryInt(writer_, "SELECT sum(length(v)) FROM t"));
  }
  sqlite3_stmt* check = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(plain, "PRAGMA integrity_check", -1, &check, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(check), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(check, 0)), "ok");
  sqlite3_finalize(check);
  sqlite3_close_v2(plain);
}

TEST_F(WalVfsTest, ABigTransactionIsWrittenWholeAndRecoveredFromTheWalAlone) {
  InsertRows(writer_, 0, 600, 3500);  // ~2.4 MB of frames: many 124 KiB writes
  ExpectRecoveredCopy(600, 600 * 3500);
}

TEST_F(WalVfsTest, ATransactionThatRewroteSpilledPagesRecoversWhole) {
  // A cache of a few pages makes the transaction spill frames to the WAL before its commit;
  // changing those pages again overwrites their frames in place, and the commit then rewrites
  // the checksums of every frame from there on, the commit frame's header last — with no page
  // after it. That header must reach the file too.
  Exec(writer_, "PRAGMA cache_size=5");
  Exec(writer_, "BEGIN");
  for (int i = 0; i < 200; ++i) {
    Exec(writer_, "INSERT INTO t (id, v) VALUES (" + std::to_string(i) + ", randomblob(1500))");
  }
  Exec(writer_, "UPDATE t SET v = randomblob(1400) WHERE id < 100");
  Exec(writer_, "COMMIT");
  // Copied before the writer does anything else (a read of its own would write the buffer).
  ExpectRecoveredCopy(200, 100 * 1400 + 100 * 1500);
}

TEST_F(WalVfsTest, FramesOfARolledBackTransactionNeverOverwriteAnotherConnectionsCommit) {
  // A transaction too big for its cache spills frames into the (buffered) WAL, then rolls back.
  // Another connection — another process, in the daemon's case — then commits at the same
  // offsets. Closing (or any later write of) the first connection must not write the spilled
  // frames over that commit.
  Exec(writer_, "INSERT INTO t (id, v) VALUES (0, randomblob(100))");
  Exec(writer_, "PRAGMA wal_checkpoint(TRUNCATE)");  // the WAL starts over: nothing re-read on rollback
  Exec(writer_, "PRAGMA cache_size=5");
  Exec(writer_, "BEGIN");
  for (int i = 1; i <= 100; ++i) {
    Exec(writer_, "INSERT INTO t (id, v) VALUES (" + std::to_string(i) + ", randomblob(1500))");
  }
  Exec(writer_, "ROLLBACK");
  sqlite3* other = OpenWith(path_, nullptr);
  Exec(other, "PRAGMA wal_autocheckpoint=0");
  InsertRows(other, 1000, 60, 1000);
  Exec(other, "PRAGMA user_version=7");
  sqlite3_close_v2(writer_);
  writer_ = nullptr;
  EXPECT_EQ(QueryInt(other, "SELECT count(*) FROM t"), 61);
  sqlite3* fresh = OpenWith(path_, nullptr);
  EXPECT_EQ(QueryInt(fresh, "SELECT count(*) FROM t"), 61);
  EXPECT_EQ(QueryInt(fresh, "PRAGMA user_version"), 7);
  sqlite3_close_v2(fresh);
  ExpectRecoveredCopy(61, 100 + 60 * 1000);
  sqlite3_close_v2(other);
}

TEST(WalVfsPowersafe, WithoutPowersafeOverwriteEveryWriteGoesStraightThrough) {
  // psow=0: SQLite pads each commit to the sector with copies of its last frame and syncs in
  // the middle of one (synchronous=FULL); those frames are published without a commit header
  // after them, so the VFS must not hold any of them back.
  TempDir dir;
  const std::string path = dir.File("psow.db");
  sqlite3* writer = nullptr;
  ASSERT_EQ(sqlite3_open_v2(("file:" + path + "?psow=0").c_str(), &writer,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, WalBatchingVfsName()),
            SQLITE_OK);
  Exec(writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;"
               "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  sqlite3* plain = OpenWith(path, nullptr);
  for (int round = 0; round < 10; ++round) {
    InsertRows(writer, round * 10, 3, 700);
    EXPECT_EQ(QueryInt(plain, "SELECT count(*) FROM t"), (round + 1) * 3);
    EXPECT_EQ(QueryInt(plain, "SELECT sum(length(v)) FROM t"), (round + 1) * 3 * 700);
  }
  sqlite3_stmt* check = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(plain, "PRAGMA wal_checkpoint(PASSIVE)", -1, &check, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(check), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(check, 0), 0);  // not busy
  EXPECT_EQ(sqlite3_column_int64(check, 1), sqlite3_column_int64(check, 2));  // every frame copied
  sqlite3_finalize(check);
  sqlite3_close_v2(plain);
  sqlite3_close_v2(writer);
}

}  // namespace
}  // namespace reach::storage
