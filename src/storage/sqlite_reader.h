#pragma once
// SqliteReader: the StoreReader of SqliteStore. Borrows a read-only connection from the pool on
// first use and gives it back when destroyed. Each call reads one snapshot: a single SELECT is
// one by itself; calls made of several SELECTs (GetNodeStats, GetGauges) wrap them in a read
// transaction. In WAL mode readers never block the writer, nor the writer them.
//
// Not thread-safe (one reader per thread); may outlive the store that made it.

#include <memory>
#include <string>
#include <vector>

#include "storage/sqlite_connection.h"
#include "storage/sqlite_connection_pool.h"
#include "storage/store.h"

namespace reach::storage {

class SqliteReader final : public StoreReader {
 public:
  explicit SqliteReader(std::shared_ptr<SqliteConnectionPool> pool) : pool_(std::move(pool)) {}
  ~SqliteReader() override;

  Result<std::optional<ExecutionRecord>> GetExecution(int64_t id) override;
  // Ordered by id. `filter.limit` is clamped to [1, kMaxListLimit]; a limit <= 0 means 100.
  Result<std::vector<ExecutionRecord>> ListExecutions(const ExecutionFilter& filter) override;
  Result<std::optional<UserRecord>> GetUser(const std::string& id) override;
  Result<std::vector<FlowRecord>> ListFlows() override;
  Result<std::optional<FlowSetRecord>> GetFlowSet(const std::string& version) override;
  Result<std::optional<std::string>> GetMeta(const std::string& key) override;
  Result<std::vector<DueWakeup>> DueWakeups(int64_t now_ms, int limit, const WakeupCursor* after) override;
  // Ordered by node id; a node appears when it has counters or waiting executions.
  Result<std::vector<NodeStats>> GetNodeStats(const std::string& chain) override;
  Result<Gauges> GetGauges() override;

  static constexpr int kMaxListLimit = 1000;

 private:
  // The connection, acquired on first use; an error when the pool cannot open one.
  Result<SqliteConnection*> Connection();
  Result<std::vector<NodeStats>> ReadNodeStats(SqliteConnection& connection, const std::string& chain);
  Result<Gauges> ReadGauges(SqliteConnection& connection);

  std::shared_ptr<SqliteConnectionPool> pool_;
  std::unique_ptr<SqliteConnection> connection_;
};

}  // namespace reach::storage
