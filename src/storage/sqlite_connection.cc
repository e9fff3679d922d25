#include "storage/sqlite_connection.h"

#include <mutex>
#include <utility>

#include "storage/sqlite_wal_vfs.h"

namespace reach::storage {

// ---- Statement -------------------------------------------------------------------------------

Statement::Statement(Statement&& other) noexcept
    : connection_(other.connection_), stmt_(std::exchange(other.stmt_, nullptr)), bind_error_(other.bind_error_) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  // Reset ends the statement's read (so its snapshot is released); its return value repeats
  // the last step's error, which Step() has already reported.
  sqlite3_reset(stmt_);
}

Statement& Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::BindText(int index, std::string_view value, sqlite3_destructor_type lifetime) {
  // A non-null pointer even for "": binding nullptr would store NULL, not ''.
  static const char kEmpty[] = "";
  const char* data = value.empty() ? kEmpty : value.data();
  int rc = sqlite3_bind_text64(stmt_, index, data, value.size(), lifetime, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::Bind(int index, std::string_view value) { return BindText(index, value, SQLITE_TRANSIENT); }

Statement& Statement::BindStatic(int index, std::string_view value) { return BindText(index, value, SQLITE_STATIC); }

Statement& Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Result<bool> Statement::Step() {
  if (bind_error_ != SQLITE_OK) return connection_->Error(bind_error_, "bind");
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // The statement's text names what failed; its start is enough for that.
  std::string_view sql = sqlite3_sql(stmt_);
  constexpr size_t kShown = 80;
  std::string what(sql.substr(0, kShown));
  if (sql.size() > kShown) what += "...";
  return connection_->Error(rc, what);
}

Status Statement::Run() {
  while (true) {
    Result<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

std::string_view Statement::ColumnView(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return {reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

// ---- SqliteConnection ------------------------------------------------------------------------

StatusCode SqliteStatusCode(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:  // not the data's fault: may succeed later
      return StatusCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      // The file, not one value: kCorruption is a stored value that does not parse.
      return StatusCode::kDataLoss;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return StatusCode::kIoError;
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) return StatusCode::kAlreadyExists;
      return StatusCode::kInvalidArgument;
    default:
      return StatusCode::kInternal;
  }
}

namespace {

// Process-wide settings, before SQLite initializes: no memory statistics (they put a global
// mutex around every sqlite3_malloc and free; nothing here reads them). When some other code
// initialized SQLite first the call is refused (SQLITE_MISUSE) and the default stays: harmless.
void ConfigureSqliteOnce() {
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(const std::string& path, const Options& options) {
  ConfigureSqliteOnce();
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (options.create) flags |= SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  // The store's VFS: the default one, with each commit's WAL frames written in one call.
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, WalBatchingVfsName());
  if (rc != SQLITE_OK) {
    std::string message = "open " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return Status(SqliteStatusCode(rc), std::move(message));
  }
  sqlite3_extended_result_codes(db, 1);
  std::unique_ptr<SqliteConnection> connection(new SqliteConnection(db, path));
  connection->on_data_loss_ = options.on_data_loss;
  sqlite3_busy_timeout(db, options.busy_timeout_ms);

  std::string pragmas;
  pragmas += options.synchronous_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
  // Temp b-trees (sorts, GROUP BY) in memory: they are small here and never need durability.
  pragmas += "PRAGMA temp_store=MEMORY;";
  if (options.read_only) pragmas += "PRAGMA query_only=ON;";
  Status status = connection->Exec(pragmas);
  if (!status.ok()) return status;
  return connection;
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  // close_v2 defers the close if a backup or an unfinalized statement still holds the handle.
  sqlite3_close_v2(db_);
}

Result<Statement> SqliteConnection::Prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return Statement(this, it->second);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, std::string("prepare ") + sql);
  ++prepare_count_;
  statements_.emplace(sql, stmt);
  return Statement(this, stmt);
}

Status SqliteConnection::Exec(const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string message = path_ + ": " + (error ? error : sqlite3_errstr(rc)) + " (" + sqlite3_errstr(rc) + ")";
  sqlite3_free(error);
  return Noted(Status(SqliteStatusCode(rc), std::move(message)));
}

Status SqliteConnection::Run(const char* sql) {
  Result<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt->Run();
}

Result<int64_t> SqliteConnection::QueryInt(const char* sql) {
  Result<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? stmt->ColumnInt(0) : int64_t{0};
}

Status SqliteConnection::Error(int rc, std::string_view what) const {
  std::string message(path_);
  message += ": ";
  message += what;
  message += ": ";
  // The connection's message belongs to the last failed call, which is this one when rc is
  // the code that call returned; otherwise fall back to the generic text of rc.
  message += (sqlite3_extended_errcode(db_) == rc) ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  message += " (code " + std::to_string(rc) + ")";
  return Noted(Status(SqliteStatusCode(rc), std::move(message)));
}

Status SqliteConnection::Noted(Status status) const {
  if (status.code() == StatusCode::kDataLoss && on_data_loss_) on_data_loss_(status);
  return status;
}

}  // namespace reach::storage
