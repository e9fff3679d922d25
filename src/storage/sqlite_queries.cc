#include "storage/sqlite_queries.h"

#include <memory>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

namespace reach::storage {

// Empty ones (a new user's traits, tags and subscriptions) without starting a serializer.
std::string JsonText(const boost::json::value& value) {
  if (value.is_object()) return JsonText(value.get_object());
  if (value.is_array()) return JsonText(value.get_array());
  return boost::json::serialize(value);
}
std::string JsonText(const boost::json::object& value) {
  return value.empty() ? std::string("{}") : boost::json::serialize(value);
}
std::string JsonText(const boost::json::array& value) {
  return value.empty() ? std::string("[]") : boost::json::serialize(value);
}

Result<boost::json::value> ParseJsonValue(std::string_view text, std::string_view where,
                                          boost::json::storage_ptr storage) {
  // One parser per thread, reused: its working stack is allocated once, not for every value
  // (boost::json::parse builds a parser per call: a third of a small document's parse).
  thread_local boost::json::parser parser;
  parser.reset(std::move(storage));
  boost::system::error_code ec;
  parser.write(text.data(), text.size(), ec);
  if (ec) {
    parser.reset();
    return Status::Corruption(std::string(where) + ": stored JSON does not parse: " + ec.message());
  }
  return parser.release();
}

Result<boost::json::object> ParseJsonObject(std::string_view text, std::string_view where,
                                            boost::json::storage_ptr storage) {
  // The common empty object (a context nothing was put in) without a parser.
  if (text == "{}") return boost::json::object(std::move(storage));
  Result<boost::json::value> value = ParseJsonValue(text, where, std::move(storage));
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

Result<ExecutionRecord> ReadExecutionRow(const Statement& stmt, int first, bool parse_event,
                                         const boost::json::storage_ptr& storage, bool keep_unreadable) {
  ExecutionRecord e;
  const int c = first;
  e.id = stmt.ColumnInt(c + 0);
  e.flow = stmt.ColumnText(c + 1);
  e.chain = stmt.ColumnText(c + 2);
  e.chain_version = stmt.ColumnText(c + 3);
  e.set_version = stmt.ColumnText(c + 4);
  e.user_id = stmt.ColumnText(c + 5);
  e.entry_key = stmt.ColumnText(c + 6);
  std::optional<ExecutionStatus> status = ParseExecutionStatus(stmt.ColumnView(c + 7));
  // The row's name for messages is built only when one is needed.
  auto fail = [&](const Status& s) { return Status(s.code(), "executions " + std::to_string(e.id) + " " + s.message()); };
  if (!status) return fail(Status::Corruption("status: unknown status '" + stmt.ColumnText(c + 7) + "'"));
  e.status = *status;
  e.stored_status = *status;
  // A column that does not parse fails the row, or (keep_unreadable) is noted and left empty.
  auto unreadable = [&](const Status& parsed) {
    if (parsed.ok()) return false;
    if (!keep_unreadable) return true;
    if (!e.unreadable.empty()) e.unreadable += "; ";
    e.unreadable += parsed.message();
    return false;
  };
  Result<boost::json::object> state = ParseJsonObject(stmt.ColumnView(c + 8), "state", storage);
  if (unreadable(state.status())) return fail(state.status());
  if (!state.ok()) state = boost::json::object(storage);
  Result<boost::json::object> ctx = ParseJsonObject(stmt.ColumnView(c + 9), "ctx", storage);
  if (unreadable(ctx.status())) return fail(ctx.status());
  if (!ctx.ok()) ctx = boost::json::object(storage);
  // A container's storage is fixed when it is constructed (assigning across storages copies):
  // the record's are constructed from the parsed ones, keeping theirs.
  std::destroy_at(&e.state);
  std::construct_at(&e.state, std::move(*state));
  std::destroy_at(&e.ctx);
  std::construct_at(&e.ctx, std::move(*ctx));
  if (parse_event) {
    Result<boost::json::value> event = ParseJsonValue(stmt.ColumnView(c + 10), "event");
    if (unreadable(event.status())) return fail(event.status());
    if (event.ok()) e.event = std::move(*event);
  } else {
    e.event_text = stmt.ColumnText(c + 10);
  }
  e.trace = stmt.ColumnText(c + 11);
  e.error = stmt.ColumnText(c + 12);
  e.request_id = stmt.ColumnText(c + 13);
  e.created_ms = stmt.ColumnInt(c + 14);
  e.updated_ms = stmt.ColumnInt(c + 15);
  e.finished_ms = stmt.ColumnInt(c + 16);
  e.rev = stmt.ColumnInt(c + 17);
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

Result<std::optional<ExecutionRecord>> QueryExecution(SqliteConnection& connection, int64_t id, bool keep_unreadable) {
  Result<Statement> stmt = connection.Prepare("SELECT " REACH_EXECUTION_COLUMNS " FROM executions WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, id);
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ExecutionRecord>();
  Result<ExecutionRecord> execution = ReadExecutionRow(*stmt, 0, true, {}, keep_unreadable);
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

Result<std::vector<DueWakeup>> QueryDueWakeups(SqliteConnection& connection, int64_t now_ms, int limit,
                                               const WakeupCursor* after) {
  std::vector<DueWakeup> due;
  if (limit <= 0) return due;
  // wakeups_by_due is (due_ms) plus the primary key: the scan is in this order (from the
  // cursor's position, a row-value range on the same index) and stops after `limit` rows; each
  // row's execution is one lookup by id.
#define REACH_DUE_SELECT                                                                        \
  "SELECT w.due_ms, w.execution_id, w.wait_id, w.user_id, w.event_type, w.created_ms, "         \
  REACH_EXECUTION_COLUMNS_OF("e.") " FROM wakeups AS w LEFT JOIN executions AS e ON e.id = w.execution_id " \
  "WHERE w.due_ms <= ?1 "
#define REACH_DUE_ORDER "ORDER BY w.due_ms, w.execution_id, w.wait_id LIMIT ?2"
  Result<Statement> stmt =
      after ? connection.Prepare(REACH_DUE_SELECT "AND (w.due_ms, w.execution_id, w.wait_id) > (?3, ?4, ?5) " REACH_DUE_ORDER)
            : connection.Prepare(REACH_DUE_SELECT REACH_DUE_ORDER);
#undef REACH_DUE_SELECT
#undef REACH_DUE_ORDER
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, now_ms).Bind(2, int64_t{limit});
  if (after) stmt->Bind(3, after->due_ms).Bind(4, after->execution_id).Bind(5, after->wait_id);
  due.reserve(static_cast<size_t>(limit));
  // The batch's states and contexts, and what its runs add to them, come from one arena freed
  // with the last of them: no allocator call per JSON node, none per free.
  boost::json::storage_ptr arena = boost::json::make_shared_resource<boost::json::monotonic_resource>();
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    DueWakeup& d = due.emplace_back();
    d.wakeup.due_ms = stmt->ColumnInt(0);
    d.wakeup.execution_id = stmt->ColumnInt(1);
    d.wakeup.wait_id = stmt->ColumnInt(2);
    d.wakeup.user_id = stmt->ColumnText(3);
    if (!stmt->ColumnIsNull(4)) d.wakeup.event_type = stmt->ColumnText(4);
    d.wakeup.created_ms = stmt->ColumnInt(5);
    if (stmt->ColumnIsNull(6)) continue;
    // The event stays text: a run after a timer rarely looks at it.
    Result<ExecutionRecord> execution = ReadExecutionRow(*stmt, 6, /*parse_event=*/false, arena);
    if (!execution.ok() && execution.status().code() == StatusCode::kCorruption) {
      d.unreadable = execution.status();  // the others in the batch still fire
      continue;
    }
    if (!execution.ok()) return execution.status();
    d.execution = std::move(*execution);
  }
  return due;
}

}  // namespace reach::storage
