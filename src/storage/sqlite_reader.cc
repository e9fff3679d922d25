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
// By flow or chain (v10: executions_by_flow_chain (flow, chain), ordered by id within a pair):
// the pairs that match are found by seeks (a flow's chains; the flows that have a chain of the
// name), each pair's ids read in order up to LIMIT from the index alone, and the ids merged here.
constexpr const char kFirstChainOfFlow[] = "SELECT chain FROM executions WHERE flow = ?1 ORDER BY flow, chain LIMIT 1";
constexpr const char kNextChainOfFlow[] =
    "SELECT chain FROM executions WHERE flow = ?1 AND chain > ?2 ORDER BY flow, chain LIMIT 1";
constexpr const char kFirstFlow[] = "SELECT flow FROM executions ORDER BY flow LIMIT 1";
constexpr const char kNextFlow[] = "SELECT flow FROM executions WHERE flow > ?1 ORDER BY flow LIMIT 1";
constexpr const char kPairIds[] =
    "SELECT id FROM executions WHERE id > ?1 AND flow = ?3 AND chain = ?4 ORDER BY id LIMIT ?2";
constexpr const char kPairIdsStatus[] =
    "SELECT id FROM executions WHERE id > ?1 AND flow = ?3 AND chain = ?4 AND +status = ?5 ORDER BY id LIMIT ?2";
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

// Steps a one-column "next key" query: the key, or nullopt past the last.
Result<std::optional<std::string>> NextKey(SqliteConnection& connection, const char* sql,
                                           std::initializer_list<std::string_view> values) {
  Result<Statement> stmt = connection.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  int index = 1;
  for (std::string_view value : values) stmt->Bind(index++, value);
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->ColumnText(0));
}

// ListExecutions' flow filter: the executions of flow file `filter.flow` and those of a chain of
// that name (in another file), in id order. Every (flow, chain) pair that matches is one range of
// executions_by_flow_chain already ordered by id; up to `limit` ids are read from each, merged,
// and the first `limit` read as rows. The pairs are found with one seek each: the flow's chains,
// then every flow (there are few) for a chain of the name.
Status ListByFlowOrChain(SqliteConnection& connection, const ExecutionFilter& filter, int limit,
                         const std::string& status, std::vector<ExecutionRecord>& out) {
  const std::string& name = filter.flow;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (Result<std::optional<std::string>> chain = NextKey(connection, kFirstChainOfFlow, {name});;
       chain = NextKey(connection, kNextChainOfFlow, {name, **chain})) {
    if (!chain.ok()) return chain.status();
    if (!*chain) break;
    pairs.emplace_back(name, **chain);
  }
  for (Result<std::optional<std::string>> flow = NextKey(connection, kFirstFlow, {});;
       flow = NextKey(connection, kNextFlow, {**flow})) {
    if (!flow.ok()) return flow.status();
    if (!*flow) break;
    if (**flow != name) pairs.emplace_back(**flow, name);
  }
  std::vector<int64_t> ids;
  for (const auto& [flow, chain] : pairs) {
    Result<Statement> stmt = connection.Prepare(filter.status ? kPairIdsStatus : kPairIds);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, filter.after_id).Bind(2, int64_t{limit}).Bind(3, std::string_view(flow)).Bind(4, std::string_view(chain));
    if (filter.status) stmt->Bind(5, std::string_view(status));
    while (true) {
      Result<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ids.push_back(stmt->ColumnInt(0));
    }
  }
  std::sort(ids.begin(), ids.end());
  if (ids.size() > static_cast<size_t>(limit)) ids.resize(static_cast<size_t>(limit));
  for (int64_t id : ids) {
    Result<std::optional<ExecutionRecord>> execution = QueryExecution(connection, id, /*keep_unreadable=*/true);
    if (!execution.ok()) return execution.status();
    if (*execution) out.push_back(std::move(**execution));
  }
  return Status::Ok();
}

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
    // Several statements, one snapshot.
    ReadTransaction transaction(**connection);
    result = transaction.Begin();
    if (result.ok()) result = ListByFlowOrChain(**connection, filter, limit, status, executions);
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
        "SELECT node, sum(entered), sum(completed), sum(failed), sum(waiting), sum(cancelled) FROM node_stats "
        "WHERE chain = ?1 "
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
      stats.cancelled = stmt->ColumnInt(5);
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
