#include "storage/sqlite_connection_pool.h"

#include <utility>

namespace reach::storage {

SqliteConnectionPool::SqliteConnectionPool(std::string path, int busy_timeout_ms, size_t max_idle,
                                           std::function<void(const Status&)> on_data_loss)
    : path_(std::move(path)),
      busy_timeout_ms_(busy_timeout_ms),
      max_idle_(max_idle),
      on_data_loss_(std::move(on_data_loss)) {}

Result<std::unique_ptr<SqliteConnection>> SqliteConnectionPool::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<SqliteConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
  }
  SqliteConnection::Options options;
  options.read_only = true;
  options.create = false;  // the store created the file; a reader never makes an empty one
  options.busy_timeout_ms = busy_timeout_ms_;
  options.on_data_loss = on_data_loss_;
  return SqliteConnection::Open(path_, options);
}

void SqliteConnectionPool::Release(std::unique_ptr<SqliteConnection> connection) {
  if (connection == nullptr || connection->in_transaction()) return;  // closed by unique_ptr
  std::lock_guard<std::mutex> lock(mutex_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(connection));
}

}  // namespace reach::storage
