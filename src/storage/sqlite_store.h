#pragma once
// SqliteStore: the embedded Store. One SQLite file in WAL mode; one writer thread that runs
// queued jobs in batches (group commit); readers on their own connections.
// Tables, indexes and why: docs/storage.md. Schema migrations run at Open().

#include <cstdint>
#include <memory>

#include "storage/store.h"

namespace reach::storage {

// Opens (creating and migrating as needed) the database at options.path and starts the writer.
// Fails with kFailedPrecondition when the file's schema is newer than this build or the file is
// not a Reach database, kIoError when it cannot be opened or switched to WAL.
// The returned store must not be destroyed from one of its own jobs or `done` callbacks.
Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options);

// ---- For tests only --------------------------------------------------------------------------
// Makes the next `count` COMMITs of `store` (from OpenSqliteStore; others are ignored) fail as
// a commit that cannot be written would: SQLite rolls the batch back, its jobs get kIoError and
// the store enters its sticky error state. Implemented with sqlite3_commit_hook.
void InjectCommitFailuresForTesting(Store& store, int count);
// The next `count` WAL fsyncs of the sync thread fail as if the disk had returned EIO.
void InjectSyncFailuresForTesting(Store& store, int count);
// Statements the writer connection had prepared when the last batch committed (to check that
// the hot path reuses prepared statements). 0 for stores not from OpenSqliteStore.
int64_t WriterPrepareCountForTesting(Store& store);

}  // namespace reach::storage
