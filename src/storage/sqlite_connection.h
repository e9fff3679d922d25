#pragma once
// SqliteConnection: one sqlite3 handle with its cache of prepared statements, and Statement,
// the borrowed handle through which a cached statement is bound, stepped and read.
//
// Every SQL text the store runs is a string with static storage duration (a literal or a
// string built once at start-up); the cache is keyed by its address, so the hot path costs one
// hash-map lookup and never re-prepares. A Statement resets its sqlite3_stmt when it goes out of
// scope, so that no statement keeps a read transaction (and its WAL snapshot) open by accident.
//
// Threading: a connection is used by one thread at a time (SQLite's multi-thread mode,
// SQLITE_OPEN_NOMUTEX); it may move between threads (the reader pool hands it over).

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"

namespace reach::storage {

class SqliteConnection;

// A cached prepared statement borrowed from its connection for one use. Move-only; resets the
// statement (ending any read it started) on destruction. Bind indexes start at 1, column
// indexes at 0, as in SQLite.
class Statement {
 public:
  Statement(SqliteConnection* connection, sqlite3_stmt* stmt) : connection_(connection), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  // Binding copies the value (SQLITE_TRANSIENT): temporaries are safe to bind. A failed bind is
  // remembered and reported by the next Step()/Run().
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view value);
  // Binds without copying (SQLITE_STATIC): `value` must stay alive and unchanged until the
  // statement has been stepped for the last time with this binding. For the writer's hot
  // statements, which bind and run within one call (a copy of each JSON column is measurable).
  Statement& BindStatic(int index, std::string_view value);
  Statement& BindNull(int index);

  // Steps once: true when a row is available, false when the statement is done.
  Result<bool> Step();
  // Steps to completion, ignoring rows (for INSERT/UPDATE/DELETE).
  Status Run();

  int64_t ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool ColumnIsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  // The column as text (empty for NULL); the view is valid until the next Step().
  std::string_view ColumnView(int column) const;
  std::string ColumnText(int column) const { return std::string(ColumnView(column)); }

 private:
  Statement& BindText(int index, std::string_view value, sqlite3_destructor_type lifetime);
  SqliteConnection* connection_;
  sqlite3_stmt* stmt_;
  int bind_error_ = SQLITE_OK;
};

class SqliteConnection {
 public:
  struct Options {
    bool read_only = false;        // PRAGMA query_only: the connection refuses writes
    bool synchronous_full = true;  // PRAGMA synchronous=FULL (else NORMAL); writers only matter
    int busy_timeout_ms = 5000;    // how long to wait for a lock held by another connection
    bool create = true;            // create the file when missing
    // Called with every kDataLoss error this connection reports (SQLite found the file
    // damaged), from the thread using the connection: the store latches it into its health.
    std::function<void(const Status&)> on_data_loss;
  };

  // Opens `path` and applies the connection pragmas (WAL is switched on by the schema code,
  // which owns the file; readers inherit it from the file header).
  static Result<std::unique_ptr<SqliteConnection>> Open(const std::string& path, const Options& options);

  ~SqliteConnection();  // finalizes every cached statement, then closes the handle
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Returns the cached statement for `sql`, preparing it on first use. `sql` must have static
  // storage duration: its address is the cache key.
  Result<Statement> Prepare(const char* sql);
  // Runs one or more statements without caching (schema changes, pragmas, rare admin SQL).
  Status Exec(const std::string& sql);
  // Runs a cached statement that returns no rows (BEGIN, COMMIT, SAVEPOINT ...).
  Status Run(const char* sql);
  // Runs a cached statement without parameters and returns the first column of its first row
  // as an integer (0 when there is no row): pragmas, counts, max().
  Result<int64_t> QueryInt(const char* sql);

  // A Status for SQLite result code `rc` with this connection's error message:
  // "<what>: <sqlite message> (<extended code name>)".
  Status Error(int rc, std::string_view what) const;
  // Hands a kDataLoss status to Options::on_data_loss; returns it.
  Status Noted(Status status) const;

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }
  int64_t changes() const { return sqlite3_changes64(db_); }
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
  // How many statements this connection has prepared since it opened (tests check that the
  // hot path does not re-prepare).
  int64_t prepare_count() const { return prepare_count_; }

 private:
  SqliteConnection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  std::function<void(const Status&)> on_data_loss_;  // Options::on_data_loss
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
  int64_t prepare_count_ = 0;
};

// Maps a SQLite result code to a StatusCode: BUSY/LOCKED/NOMEM -> kUnavailable, CORRUPT/NOTADB
// -> kDataLoss, FULL/IOERR/CANTOPEN/READONLY/PERM -> kIoError, a UNIQUE or PRIMARY KEY
// violation -> kAlreadyExists, other constraints -> kInvalidArgument, anything else -> kInternal.
// `rc` may be an extended result code.
StatusCode SqliteStatusCode(int rc);

}  // namespace reach::storage
