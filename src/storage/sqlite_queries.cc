#include "storage/sqlite_queries.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace reach::storage {

std::string JsonText(const boost::json::value& value) { return boost::json::serialize(value); }
std::string JsonText(const boost::json::object& value) { return boost::json::serialize(value); }
std::string JsonText(const boost::json::array& value) { return boost::json::serialize(value); }

Result<boost::json::value> ParseJsonValue(std::string_view text, std::string_view where) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec) return Status::Corruption(std::string(where) + ": stored JSON does not parse: " + ec.message());
  return value;
}

Result<boost::json::object> ParseJsonObject(std::string_view text, std::string_view where) {
  Result<boost::json::value> value = ParseJsonValue(text, where);
  if (!value.ok()) return value.status();
  if (!value->is_object()) return Status::Corruption(std::string(where) + ": stored JSON is not an object");
  return std::move(value->get_object());
}

Result<boost::json::array> ParseJsonArray(std::string_view text, std::string_view where) {
  Result<boost::json::value> value = ParseJsonValue(text, where);
  if (!value.ok()) return value.status();
  if (!value->is_array()) return Status::Corruption(std::string(where) + ": stored JSON is not an array");
  return std::move(value->get_array());
}

Result<ExecutionRecord> ReadExecutionRow(const Statement& stmt) {
  ExecutionRecord e;
  e.id = stmt.ColumnInt(0);
  e.flow = stmt.ColumnText(1);
  e.chain = stmt.ColumnText(2);
  e.chain_version = stmt.ColumnText(3);
  e.set_version = stmt.ColumnText(4);
  e.user_id = stmt.ColumnText(5);
  e.entry_key = stmt.ColumnText(6);
  const std::string where = "executions " + std::to_string(e.id);
  std::optional<ExecutionStatus> status = ParseExecutionStatus(stmt.ColumnView(7));
  if (!status) return Status::Corruption(where + ": unknown status '" + stmt.ColumnText(7) + "'");
  e.status = *status;
  Result<boost::json::object> state = ParseJsonObject(stmt.ColumnView(8), where + " state");
  if (!state.ok()) return state.status();
  e.state = std::move(*state);
  Result<boost::json::object> ctx = ParseJsonObject(stmt.ColumnView(9), where + " ctx");
  if (!ctx.ok()) return ctx.status();
  e.ctx = std::move(*ctx);
  Result<boost::json::value> event = ParseJsonValue(stmt.ColumnView(10), where + " event");
  if (!event.ok()) return event.status();
  e.event = std::move(*event);
  e.trace = stmt.ColumnText(11);
  e.error = stmt.ColumnText(12);
  e.request_id = stmt.ColumnText(13);
  e.created_ms = stmt.ColumnInt(14);
  e.updated_ms = stmt.ColumnInt(15);
  e.finished_ms = stmt.ColumnInt(16);
  return e;
}

Result<std::optional<UserRecord>> QueryUser(SqliteConnection& connection, const std::string& id) {
  Result<Statement> stmt = connection.Prepare(
      "SELECT traits, tags, timezone, identities, subscriptions, created_ms, updated_ms "
      "FROM users WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, id);
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<UserRecord>();

  UserRecord user;
  user.id = id;
  const std::string where = "users '" + id + "'";
  Result<boost::json::object> traits = ParseJsonObject(stmt->ColumnView(0), where + " traits");
  if (!traits.ok()) return traits.status();
  user.traits = std::move(*traits);
  Result<boost::json::array> tags = ParseJsonArray(stmt->ColumnView(1), where + " tags");
  if (!tags.ok()) return tags.status();
  user.tags = std::move(*tags);
  user.timezone = stmt->ColumnText(2);
  Result<boost::json::object> identities = ParseJsonObject(stmt->ColumnView(3), where + " identities");
  if (!identities.ok()) return identities.status();
  user.identities = std::move(*identities);
  Result<boost::json::object> subscriptions = ParseJsonObject(stmt->ColumnView(4), where + " subscriptions");
  if (!subscriptions.ok()) return subscriptions.status();
  user.subscriptions = std::move(*subscriptions);
  user.created_ms = stmt->ColumnInt(5);
  user.updated_ms = stmt->ColumnInt(6);
  return std::optional<UserRecord>(std::move(user));
}

Result<std::optional<ExecutionRecord>> QueryExecution(SqliteConnection& connection, int64_t id) {
  Result<Statement> stmt = connection.Prepare("SELECT " REACH_EXECUTION_COLUMNS " FROM executions WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, id);
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ExecutionRecord>();
  Result<ExecutionRecord> execution = ReadExecutionRow(*stmt);
  if (!execution.ok()) return execution.status();
  return std::optional<ExecutionRecord>(std::move(*execution));
}

Result<std::vector<FlowRecord>> QueryFlows(SqliteConnection& connection) {
  Result<Statement> stmt =
      connection.Prepare("SELECT name, version, set_version, paused, updated_ms FROM flows ORDER BY name");
  if (!stmt.ok()) return stmt.status();
  std::vector<FlowRecord> flows;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    FlowRecord flow;
    flow.name = stmt->ColumnText(0);
    flow.version = stmt->ColumnText(1);
    flow.set_version = stmt->ColumnText(2);
    flow.paused = stmt->ColumnInt(3) != 0;
    flow.updated_ms = stmt->ColumnInt(4);
    flows.push_back(std::move(flow));
  }
  return flows;
}

Result<std::optional<FlowSetRecord>> QueryFlowSet(SqliteConnection& connection, const std::string& version) {
  Result<Statement> stmt = connection.Prepare("SELECT files, created_ms FROM flow_sets WHERE version = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, version);
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<FlowSetRecord>();
  FlowSetRecord set;
  set.version = version;
  Result<boost::json::array> files = ParseJsonArray(stmt->ColumnView(0), "flow_sets '" + version + "' files");
  if (!files.ok()) return files.status();
  set.files = std::move(*files);
  set.created_ms = stmt->ColumnInt(1);
  return std::optional<FlowSetRecord>(std::move(set));
}

Result<std::optional<std::string>> QueryMeta(SqliteConnection& connection, const std::string& key) {
  Result<Statement> stmt = connection.Prepare("SELECT value FROM meta WHERE key = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, key);
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->ColumnText(0));
}

}  // namespace reach::storage
