#pragma once
// SqliteConnectionPool: idle read-only connections to one database file, kept with their
// prepared statements so that creating a StoreReader costs a mutex and a pointer move instead
// of an open() and a dozen prepares.
//
// Shared (shared_ptr) by the store and every reader it handed out, so a reader may outlive the
// store. Thread-safe.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/sqlite_connection.h"

namespace reach::storage {

class SqliteConnectionPool {
 public:
  // Connections open `path` read-only (query_only) with a busy timeout of `busy_timeout_ms`.
  // At most `max_idle` connections are kept; further ones are closed when released.
  // `on_data_loss`: SqliteConnection::Options::on_data_loss of every connection.
  SqliteConnectionPool(std::string path, int busy_timeout_ms, size_t max_idle,
                       std::function<void(const Status&)> on_data_loss = {});

  // An idle connection, or a newly opened one. Fails when the file cannot be opened.
  Result<std::unique_ptr<SqliteConnection>> Acquire();
  // Takes back a connection from Acquire(). It must not be inside a transaction.
  void Release(std::unique_ptr<SqliteConnection> connection);

 private:
  const std::string path_;
  const int busy_timeout_ms_;
  const size_t max_idle_;
  const std::function<void(const Status&)> on_data_loss_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_;  // guarded by mutex_
};

}  // namespace reach::storage
