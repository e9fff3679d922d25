#include "storage/sqlite_reader.h"

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <string_view>

#include "storage/sqlite_queries.h"

namespace reach::storage {
namespace {

// ListExecutions' statements. Each is one ordered index range scan that stops after LIMIT
// rows, never a sort of everything that matches; the unary "+" keeps the planner off indexes
// that would need such a sort (or are less selective). Parameters: ?1 after_id, ?2 limit,
// ?3 the user / flow / chain / status value, ?4 the status when a second filter.
#define REACH_LIST "SELECT " REACH_EXECUTION_COLUMNS " FROM executions WHERE id > ?1 AND "
#define REACH_PAGE " ORDER BY id LIMIT ?2"
// No filter: the primary key.
constexpr const char kListAll[] = "SELECT " REACH_EXECUTION_COLUMNS " FROM executions WHERE id > ?1" REACH_PAGE;
// By user (executions_by_user_entry): a user has few executions; they are sorted in memory.
constexpr const char kListByUser[] = REACH_LIST "user_id = ?3" REACH_PAGE;
constexpr const char kListByUserStatus[] = REACH_LIST "user_id = ?3 AND +status = ?4" REACH_PAGE;
constexpr const char kListByUserFlow[] = REACH_LIST "user_id = ?3 AND (+flow = ?4 OR +chain = ?4)" REACH_PAGE;
constexpr const char kListByUserFlowStatus[] =
    REACH_LIST "user_id = ?3 AND (+flow = ?4 OR +chain = ?4) AND +status = ?5" REACH_PAGE;
// By flow or chain: two ordered scans (executions_by_flow, executions_by_chain) merged here;
// the second skips rows the first returns.
constexpr const char kListByFlow[] = REACH_LIST "flow = ?3" REACH_PAGE;
constexpr const char kListByFlowStatus[] = REACH_LIST "flow = ?3 AND +status = ?4" REACH_PAGE;
constexpr const char kListByChain[] = REACH_LIST "chain = ?3 AND +flow <> ?3" REACH_PAGE;
constexpr const char kListByChainStatus[] = REACH_LIST "chain = ?3 AND +flow <> ?3 AND +status = ?4" REACH_PAGE;
// By status alone: executions_by_status is (status, id) over the executions not completed (v6:
// a partial index; the query repeats its WHERE so that the planner may use it). Completed ones
// are most rows: the primary key in order, filtered, finds them as fast.
constexpr const char kListByStatus[] = REACH_LIST "status = ?3 AND status <> 'completed'" REACH_PAGE;
constexpr const char kListCompleted[] = REACH_LIST "+status = 'completed'" REACH_PAGE;
#undef REACH_LIST
#undef REACH_PAGE

// Runs one list statement (already bound but for ?1 and ?2) and appends its rows.
Status AppendExecutions(Statement& stmt, int64_t after_id, int limit, std::vector<ExecutionRecord>& out) {
  stmt.Bind(1, after_id).Bind(2, int64_t{limit});
  while (true) {
    Result<bool> row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    // A row whose JSON does not parse is listed with what reads (ExecutionRecord::unreadable),
    // not made a reason to fail the page.
    Result<ExecutionRecord> execution = ReadExecutionRow(stmt, 0, true, {}, /*keep_unreadable=*/true);
    if (!execution.ok()) return execution.status();
    out.push_back(std::move(*execution));
  }
}

// Holds a read transaction open for the calls that need several SELECTs to see one snapshot.
class ReadTransaction {
 public:
  explicit ReadTransaction(SqliteConnection& connection) : connection_(connection) {}
  ~ReadTransaction() {
    if (begun_ && connection_.in_transaction()) connection_.Run("COMMIT");
  }
  Status Begin() {
    Status status = connection_.Run("BEGIN");
    begun_ = status.ok();
    return status;
  }

 private:
  SqliteConnection& connection_;
  bool begun_ = false;
};

}  // namespace

SqliteReader::~SqliteReader() {
  if (connection_) pool_->Release(std::move(connection_));
}

Result<SqliteConnection*> SqliteReader::Connection() {
  if (!connection_) {
    Result<std::unique_ptr<SqliteConnection>> connection = pool_->Acquire();
    if (!connection.ok()) return connection.status();
    connection_ = std::move(*connection);
  }
  return connection_.get();
}

Result<std::optional<ExecutionRecord>> SqliteReader::GetExecution(int64_t id) {
  Result<SqliteConnection*> connection = Connection();
  if (!connection.ok()) return connection.status();
  return QueryExecution(**connection, id, /*keep_unreadable=*/true);
}

Result<std::vector<DueWakeup>> SqliteReader::DueWakeups(int64_t now_ms, int limit, const WakeupCursor* after) {
  Result<SqliteConnection*> connection = Connection();
  if (!connection.ok()) return connection.status();
  return QueryDueWakeups(**connection, now_ms, limit, after);
}

Result<std::vector<ExecutionRecord>> SqliteReader::ListExecutions(const ExecutionFilter& filter) {
  Result<SqliteConnection*> connection = Connection();
  if (!connection.ok()) return connection.status();
  const int limit = filter.limit <= 0 ? 100 : std::min(filter.limit, kMaxListLimit);
  const std::string status = filter.status ? std::string(ExecutionStatusName(*filter.status)) : std::string();
  std::vector<ExecutionRecord> executions;

  auto run = [&](const char* sql, std::initializer_list<std::string_view> values) -> Status {
    Result<Statement> stmt = (*connection)->Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    int index = 3;
    for (std::string_view value : values) stmt->Bind(index++, value);
    return AppendExecutions(*stmt, filter.after_id, limit, executions);
  };

  Status result;
  if (!filter.user_id.empty()) {
    if (filter.flow.empty()) {
      result = filter.status ? run(kListByUserStatus, {filter.user_id, status}) : run(kListByUser, {filter.user_id});
    } else {
      result = filter.status ? run(kListByUserFlowStatus, {filter.user_id, filter.flow, status})
                             : run(kListByUserFlow, {filter.user_id, filter.flow});
    }
  } else if (!filter.flow.empty()) {
    // Two statements, one snapshot.
    ReadTransaction transaction(**connection);
    result = transaction.Begin();
    if (result.ok()) {
      result = filter.status ? run(kListByFlowStatus, {filter.flow, status}) : run(kListByFlow, {filter.flow});
    }
    const size_t from_flow = executions.size();
    if (result.ok()) {
      result = filter.status ? run(kListByChainStatus, {filter.flow, status}) : run(kListByChain, {filter.flow});
    }
    // Each part is sorted and disjoint from the other; keep the first `limit` ids of both.
    std::inplace_merge(executions.begin(), executions.begin() + static_cast<std::ptrdiff_t>(from_flow),
                       executions.end(), [](const ExecutionRecord& a, const ExecutionRecord& b) { return a.id < b.id; });
  } else if (filter.status) {
    result = *filter.status == ExecutionStatus::kCompleted ? run(kListCompleted, {}) : run(kListByStatus, {status});
  } else {
    result = run(kListAll, {});
  }
  if (!result.ok()) return result;
  if (executions.size() > static_cast<size_t>(limit)) executions.erase(executions.begin() + limit, executions.end());
  return executions;
}

Result<std::optional<UserRecord>> SqliteReader::GetUser(const std::string& id) {
  Result<SqliteConnection*> connection = Connection();
  if (!connection.ok()) return connection.status();
  return QueryUser(**connection, id);
}

Result<std::vector<FlowRecord>> SqliteReader::ListFlows() {
  Result<SqliteConnection*> connection = Connection();
  if (!connection.ok()) return connection.status();
  return QueryFlows(**connection);
}

Result<std::optional<FlowSetRecord>> SqliteReader::GetFlowSet(const std::string& version) {
  Result<SqliteConnection*> connection = Connection();
  if (!connection.ok()) return connection.status();
  return QueryFlowSet(**connection, version);
}

Result<std::optional<std::string>> SqliteReader::GetMeta(const std::string& key) {
  Result<SqliteConnection*> connection = Connection();
  if (!connection.ok()) return connection.status();
  return QueryMeta(**connection, key);
}

Result<std::vector<NodeStats>> SqliteReader::GetNodeStats(const std::string& chain) {
  Result<SqliteConnection*> connection = Connection();
  if (!connection.ok()) return connection.status();
  ReadTransaction transaction(**connection);
  Status status = transaction.Begin();
  if (!status.ok()) return status;
  return ReadNodeStats(**connection, chain);
}

Result<std::vector<NodeStats>> SqliteReader::ReadNodeStats(SqliteConnection& connection, const std::string& chain) {
  std::map<std::string, NodeStats> by_node;
  {
    // node_stats' primary key starts with chain: a range scan over the chain's versions.
    Result<Statement> stmt = connection.Prepare(
        "SELECT node, sum(entered), sum(completed), sum(failed), sum(waiting) FROM node_stats WHERE chain = ?1 "
        "GROUP BY node");
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, chain);
    while (true) {
      Result<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      NodeStats& stats = by_node[stmt->ColumnText(0)];
      stats.entered = stmt->ColumnInt(1);
      stats.completed = stmt->ColumnInt(2);
      stats.failed = stmt->ColumnInt(3);
      stats.waiting = stmt->ColumnInt(4);
    }
  }
  std::vector<NodeStats> result;
  result.reserve(by_node.size());
  for (auto& [node, stats] : by_node) {
    stats.node = node;
    result.push_back(std::move(stats));
  }
  return result;
}

Result<StoreReader::Gauges> SqliteReader::GetGauges() {
  Result<SqliteConnection*> connection = Connection();
  if (!connection.ok()) return connection.status();
  ReadTransaction transaction(**connection);
  Status status = transaction.Begin();
  if (!status.ok()) return status;
  return ReadGauges(**connection);
}

Result<StoreReader::Gauges> SqliteReader::ReadGauges(SqliteConnection& connection) {
  Gauges gauges;
  {
    // Rows kept current by the writer (see the gauges table in sqlite_schema.cc).
    Result<Statement> stmt = connection.Prepare("SELECT name, n FROM gauges");
    if (!stmt.ok()) return stmt.status();
    int64_t event_wait_rows = 0;
    while (true) {
      Result<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      std::string_view name = stmt->ColumnView(0);
      const int64_t n = stmt->ColumnInt(1);
      if (name == "waits") {
        gauges.waits = n;
      } else if (name == "timers") {
        gauges.timers = n;
      } else if (name == "event_waits") {
        event_wait_rows = n;
      } else if (name.starts_with("executions.")) {
        std::optional<ExecutionStatus> status = ParseExecutionStatus(name.substr(sizeof("executions.") - 1));
        if (status) gauges.executions_by_status[static_cast<int>(*status)] = n;
      }
    }
    gauges.stale_waits = std::max<int64_t>(event_wait_rows - gauges.waits, 0);
  }
  {
    Result<Statement> stmt = connection.Prepare(
        "SELECT min(due_ms) FROM wakeups WHERE due_ms IS NOT NULL");  // wakeups_by_due
    if (!stmt.ok()) return stmt.status();
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (*row && !stmt->ColumnIsNull(0)) gauges.next_timer_due_ms = stmt->ColumnInt(0);
  }
  return gauges;
}

}  // namespace reach::storage
