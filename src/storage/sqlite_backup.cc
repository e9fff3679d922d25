#include "storage/sqlite_backup.h"

#include <sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "storage/sqlite_connection.h"

namespace reach::storage {
namespace {

// Closes a raw handle (used for the destination, which needs no statement cache).
struct HandleCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Handle = std::unique_ptr<sqlite3, HandleCloser>;

Status HandleError(sqlite3* db, int rc, const std::string& what) {
  return Status(SqliteStatusCode(rc), what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

// Makes the rename durable. Best effort: a failure here leaves a complete copy under one of
// the two names, which is not worth failing the backup for.
void SyncParentDirectory(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

Status BackupSqlite(const std::string& db_path, const std::string& dest_path) {
  if (db_path == dest_path) return Status::Invalid("backup: destination is the database itself: " + db_path);
  SqliteConnection::Options source_options;
  source_options.read_only = true;
  source_options.create = false;
  Result<std::unique_ptr<SqliteConnection>> source = SqliteConnection::Open(db_path, source_options);
  if (!source.ok()) return source.status();

  const std::string temp_path = dest_path + ".tmp";
  std::remove(temp_path.c_str());
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(temp_path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Handle dest(raw);
  if (rc != SQLITE_OK) return HandleError(raw, rc, "backup: open " + temp_path);

  // The backup's own commit into the copy is fsynced.
  rc = sqlite3_exec(dest.get(), "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return HandleError(dest.get(), rc, "backup: configure " + temp_path);

  sqlite3_backup* backup = sqlite3_backup_init(dest.get(), "main", (*source)->handle(), "main");
  if (backup == nullptr) return HandleError(dest.get(), sqlite3_errcode(dest.get()), "backup: start");
  // -1: all pages in one step, i.e. one read transaction on the source. In WAL mode that read
  // does not block the writer, and a single step cannot be restarted by writes made meanwhile.
  rc = sqlite3_backup_step(backup, -1);
  int finish_rc = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    dest.reset();
    std::remove(temp_path.c_str());
    return Status(SqliteStatusCode(rc), "backup of " + db_path + " failed: " + sqlite3_errstr(rc));
  }
  if (finish_rc != SQLITE_OK) return HandleError(dest.get(), finish_rc, "backup: finish");

  // The copied header says WAL; make the copy one self-contained file.
  char* error = nullptr;
  rc = sqlite3_exec(dest.get(), "PRAGMA journal_mode=DELETE", nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = "backup: finishing " + temp_path + ": " + (error ? error : sqlite3_errstr(rc));
    sqlite3_free(error);
    dest.reset();
    std::remove(temp_path.c_str());
    return Status(SqliteStatusCode(rc), std::move(message));
  }
  dest.reset();  // closes the copy
  if (std::rename(temp_path.c_str(), dest_path.c_str()) != 0) {
    return Status::Io("backup: cannot rename " + temp_path + " to " + dest_path + ": " + std::strerror(errno));
  }
  SyncParentDirectory(dest_path);
  return Status::Ok();
}

}  // namespace reach::storage
