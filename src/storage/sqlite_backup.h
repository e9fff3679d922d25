#pragma once
// Online backup of a Reach SQLite database, safe while `reach serve` is writing to it.

#include <string>

#include "common/status.h"

namespace reach::storage {

// Copies the database at `db_path` to `dest_path` with SQLite's online backup API
// (sqlite3_backup_*), in one step inside one read transaction: the copy is the state of the last
// commit before the call, the running writer is never blocked (WAL), and nothing that commits
// during the copy leaks into it. The copy is written to "<dest_path>.tmp", switched to rollback
// journal mode (a single self-contained file, no -wal beside it), synced, then renamed over
// `dest_path`, so `dest_path` is either the old file or the complete new copy.
// The store switches the copy back to WAL when it opens it.
// Thread-safe; opens its own connections.
Status BackupSqlite(const std::string& db_path, const std::string& dest_path);

}  // namespace reach::storage
