#pragma once
// Queries shared by the writer's transaction (SqliteTxn) and the readers (SqliteReader), and the
// JSON column codec. Free functions over a SqliteConnection; each runs cached statements.
//
// JSON columns hold boost::json::serialize() text. A column that does not parse back (or parses
// to the wrong kind of value) is reported as kCorruption naming the table, the row and the column.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/status.h"
#include "storage/records.h"
#include "storage/sqlite_connection.h"

namespace reach::storage {

// JSON column codec. `where` names the cell for error messages, e.g. "users 'u1' traits".
std::string JsonText(const boost::json::value& value);
std::string JsonText(const boost::json::object& value);
std::string JsonText(const boost::json::array& value);
// `storage`: where the parsed value allocates (default: the heap).
Result<boost::json::value> ParseJsonValue(std::string_view text, std::string_view where,
                                          boost::json::storage_ptr storage = {});
Result<boost::json::object> ParseJsonObject(std::string_view text, std::string_view where,
                                            boost::json::storage_ptr storage = {});
Result<boost::json::array> ParseJsonArray(std::string_view text, std::string_view where);

// The executions columns in the order ReadExecutionRow expects; use in SELECT lists as
// "SELECT " REACH_EXECUTION_COLUMNS " FROM executions ...".
#define REACH_EXECUTION_COLUMNS_OF(t)                                                              \
  t "id, " t "flow, " t "chain, " t "chain_version, " t "set_version, " t "user_id, " t "entry_key, " \
  t "status, " t "state, " t "ctx, " t "event, " t "trace, " t "error, " t "request_id, "            \
  t "created_ms, " t "updated_ms, " t "finished_ms, " t "rev"
#define REACH_EXECUTION_COLUMNS REACH_EXECUTION_COLUMNS_OF("")
// Reads the current row of a statement selecting REACH_EXECUTION_COLUMNS, starting at column
// `first`. With `parse_event` false the event is left as text (ExecutionRecord::event_text).
// `storage`: where its state and ctx allocate (a batch's arena; default: the heap). A JSON column
// that does not parse fails the row (kCorruption naming row and column), or with
// `keep_unreadable` (for readers that show executions) is left empty and named in
// ExecutionRecord::unreadable.
Result<ExecutionRecord> ReadExecutionRow(const Statement& stmt, int first = 0, bool parse_event = true,
                                         const boost::json::storage_ptr& storage = {}, bool keep_unreadable = false);

Result<std::optional<UserRecord>> QueryUser(SqliteConnection& connection, const std::string& id);
Result<std::optional<ExecutionRecord>> QueryExecution(SqliteConnection& connection, int64_t id,
                                                      bool keep_unreadable = false);
Result<std::vector<FlowRecord>> QueryFlows(SqliteConnection& connection);  // by name
Result<std::optional<FlowSetRecord>> QueryFlowSet(SqliteConnection& connection, const std::string& version);
Result<std::optional<std::string>> QueryMeta(SqliteConnection& connection, const std::string& key);
// Up to `limit` wakeups due at or before `now_ms` (after `after` in due order when given), each
// with its execution; the execution's event stays text. One statement: one snapshot.
Result<std::vector<DueWakeup>> QueryDueWakeups(SqliteConnection& connection, int64_t now_ms, int limit,
                                               const WakeupCursor* after);

}  // namespace reach::storage
