#include "storage/sqlite_txn.h"

#include <algorithm>
#include <string_view>
#include <tuple>
#include <utility>


#include "storage/sqlite_queries.h"

namespace reach::storage {
namespace {

// The (kind, value) rows PutUser indexes for a user's `identities` (`user_id` names it in errors).
Result<std::vector<std::pair<std::string, std::string>>> IdentityRows(const std::string& user_id,
                                                                      const boost::json::object& identities) {
  std::vector<std::pair<std::string, std::string>> rows;
  auto add = [&](const std::string& kind, const boost::json::value& v) -> Status {
    if (v.is_null()) return Status::Ok();
    if (v.is_string()) {
      if (!v.get_string().empty()) rows.emplace_back(kind, std::string(v.get_string()));
      return Status::Ok();
    }
    if (v.is_number()) {
      rows.emplace_back(kind, JsonText(v));
      return Status::Ok();
    }
    return Status::Invalid("user '" + user_id + "': identity '" + kind +
                           "' must be a string, a number or an array of those");
  };
  for (const auto& [key, value] : identities) {
    std::string kind(key);
    if (value.is_array()) {
      for (const boost::json::value& element : value.get_array()) {
        if (element.is_array()) return Status::Invalid("user '" + user_id + "': identity '" + kind + "' is nested");
        Status status = add(kind, element);
        if (!status.ok()) return status;
      }
    } else {
      Status status = add(kind, value);
      if (!status.ok()) return status;
    }
  }
  return rows;
}

// The event column's text: as read when it was never parsed, else serialized into `scratch`.
std::string_view EventText(const ExecutionRecord& e, std::string& scratch) {
  if (!e.event_text.empty()) return e.event_text;
  scratch = JsonText(e.event);
  return scratch;
}

// The writer is the only one inserting events and executions, so the next id of each is known
// once read: past every row and past the high-water mark AUTOINCREMENT kept in sqlite_sequence
// until v9 (so no id of a row deleted before is handed out again; code that deletes the newest
// rows must raise that mark first: docs/storage.md) — and kept in SqliteWriterState from then on.
// An id handed out to a job that rolls back is not given back: a gap is harmless, a reuse would
// not be. `last_used_sql` is one of the constants below (a cached statement: static storage).
constexpr const char kLastEventSeqSql[] =
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), "
    "coalesce((SELECT max(seq) FROM events), 0))";
constexpr const char kLastExecutionIdSql[] =
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'executions'), 0), "
    "coalesce((SELECT max(id) FROM executions), 0))";

Result<int64_t> NextUnusedId(SqliteConnection& connection, int64_t& next, const char* last_used_sql) {
  if (next == 0) {
    Result<int64_t> last = connection.QueryInt(last_used_sql);
    if (!last.ok()) return last.status();
    next = *last + 1;
  }
  return next++;
}

// A node's counts that a job or batch did not change (Clear keeps the node's entry at zero).
bool Unchanged(const std::array<int64_t, 5>& d) {
  return d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 0 && d[4] == 0;
}

}  // namespace

void CounterDeltas::Add(const CounterDeltas& other) {
  for (size_t i = 0; i < kGauges; ++i) gauges[i] += other.gauges[i];
  for (const auto& [key, d] : other.node_stats) {
    if (Unchanged(d)) continue;
    auto& sum = node_stats[key];
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += d[i];
  }
}

Status SqliteTxn::FlushCounters() {
  static constexpr const char* kGaugeNames[CounterDeltas::kGauges] = {
      "executions.running", "executions.waiting", "executions.completed", "executions.failed",
      "executions.cancelled", "waits", "timers", "event_waits"};
  CounterDeltas& batch = state_.batch;
  for (size_t i = 0; i < CounterDeltas::kGauges; ++i) {
    if (batch.gauges[i] == 0) continue;
    Status status = RunSql("UPDATE gauges SET n = n + ?2 WHERE name = ?1", std::string_view(kGaugeNames[i]),
                           batch.gauges[i]);
    if (!status.ok()) return status;
  }
  for (const auto& [key, d] : batch.node_stats) {
    const auto& [chain, chain_version, node] = key;
    if (Unchanged(d)) continue;
    Status status = RunSql(
        "INSERT INTO node_stats (chain, chain_version, node, entered, completed, failed, waiting, cancelled) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT (chain, chain_version, node) DO UPDATE SET entered = entered + excluded.entered, "
        "completed = completed + excluded.completed, failed = failed + excluded.failed, "
        "waiting = waiting + excluded.waiting, cancelled = cancelled + excluded.cancelled",
        chain, chain_version, node, d[0], d[1], d[2], d[3], d[4]);
    if (!status.ok()) return status;
  }
  batch.Clear();
  return Status::Ok();
}

// OR FAIL on the hot single-row writes: every constraint of a one-row INSERT or UPDATE is
// checked before anything is written, so FAIL (keep the statement's earlier changes) equals
// the default ABORT (undo them) here, but it spares SQLite the statement journal ABORT needs:
// a copy of every page the statement touches (a third of an UPDATE's cost, measured).
namespace {

// RunSql's arguments outlive the statement's run: text is bound without a copy.
void BindArg(Statement& stmt, int index, int64_t value) { stmt.Bind(index, value); }
void BindArg(Statement& stmt, int index, std::string_view value) { stmt.BindStatic(index, value); }

}  // namespace

template <class... Args>
Status SqliteTxn::RunSql(const char* sql, const Args&... args) {
  Result<Statement> stmt = connection_.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  int index = 0;
  (BindArg(*stmt, ++index, args), ...);
  return stmt->Run();
}

// ---- Users -----------------------------------------------------------------------------------

Result<std::optional<UserRecord>> SqliteTxn::GetUser(const std::string& id) { return QueryUser(connection_, id); }

Status SqliteTxn::PutUser(const UserRecord& user) { return WriteUser(user, /*may_be_stored=*/true); }

// A user without a row has no identity rows either (only WriteUser writes them, with the row).
Status SqliteTxn::CreateUser(const UserRecord& user) { return WriteUser(user, /*may_be_stored=*/false); }

Status SqliteTxn::WriteUser(const UserRecord& user, bool may_be_stored) {
  Result<std::vector<std::pair<std::string, std::string>>> identities = IdentityRows(user.id, user.identities);
  if (!identities.ok()) return identities.status();

  // The user's identity rows as stored: only the difference is written (nothing for an
  // unchanged user, inserts only for a new one), and only identities it does not hold yet can
  // belong to someone else. They are the rows of the stored user's `identities` (this function
  // writes both, from the same object), read from its row: user_identities has no index by
  // user (dropped in v8: one b-tree less to write for every new user).
  std::vector<std::pair<std::string, std::string>> stored;
  if (may_be_stored) {
    Result<Statement> stmt = connection_.Prepare("SELECT identities FROM users WHERE id = ?1");
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, user.id);
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      Result<boost::json::object> object = ParseJsonObject(stmt->ColumnView(0), "users '" + user.id + "' identities");
      if (!object.ok()) return object.status();
      Result<std::vector<std::pair<std::string, std::string>>> rows = IdentityRows(user.id, *object);
      if (!rows.ok()) return rows.status();
      stored = std::move(*rows);
    }
  }
  auto is_stored = [&](const std::pair<std::string, std::string>& id) {
    return std::find(stored.begin(), stored.end(), id) != stored.end();
  };

  // New identities first, each insert its own check: a row already there is this user's (the
  // same pair twice in the list) or another user's, which refuses the whole call — the rows
  // this call inserted are deleted again, so that nothing is written (see the class comment).
  // No lookup before each insert: the insert finds the conflict with the same probe.
  std::vector<const std::pair<std::string, std::string>*> inserted;
  for (const auto& id : *identities) {
    if (is_stored(id)) continue;
    // OR IGNORE: a (kind, value) that exists is not an error here; it is looked at below.
    Status status = RunSql("INSERT OR IGNORE INTO user_identities (kind, value, user_id) VALUES (?1, ?2, ?3)",
                           id.first, id.second, user.id);
    if (!status.ok()) return status;
    if (connection_.changes() == 1) {
      inserted.push_back(&id);
      continue;
    }
    Result<std::optional<std::string>> holder = FindUserByIdentity(id.first, id.second);
    if (!holder.ok()) return holder.status();
    if (*holder && **holder != user.id) {
      for (const auto* undo : inserted) {
        status = RunSql("DELETE FROM user_identities WHERE kind = ?1 AND value = ?2", undo->first, undo->second);
        if (!status.ok()) return status;
      }
      return Status(StatusCode::kAlreadyExists, "identity " + id.first + "=" + id.second + " belongs to user '" +
                                                    **holder + "', not '" + user.id + "'");
    }
  }

  Status status = RunSql(
      "INSERT OR FAIL INTO users (id, traits, tags, timezone, identities, subscriptions, created_ms, updated_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
      "ON CONFLICT (id) DO UPDATE SET traits = excluded.traits, tags = excluded.tags, "
      "timezone = excluded.timezone, identities = excluded.identities, "
      "subscriptions = excluded.subscriptions, created_ms = excluded.created_ms, "
      "updated_ms = excluded.updated_ms",
      user.id, JsonText(user.traits), JsonText(user.tags), user.timezone, JsonText(user.identities),
      JsonText(user.subscriptions), user.created_ms, user.updated_ms);
  if (!status.ok()) return status;

  // Deleting by primary key, and only a row this user holds.
  for (const auto& [kind, value] : stored) {
    if (std::find(identities->begin(), identities->end(), std::make_pair(kind, value)) != identities->end()) continue;
    status = RunSql("DELETE FROM user_identities WHERE kind = ?1 AND value = ?2 AND user_id = ?3", kind, value, user.id);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Result<std::optional<std::string>> SqliteTxn::FindUserByIdentity(const std::string& kind, const std::string& value) {
  Result<Statement> stmt = connection_.Prepare("SELECT user_id FROM user_identities WHERE kind = ?1 AND value = ?2");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, kind).Bind(2, value);
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->ColumnText(0));
}

Result<StoreTxn::UserPage> SqliteTxn::ListUsers(const std::string& after_id, int limit) {
  std::vector<std::string> ids;
  {
    Result<Statement> stmt = connection_.Prepare("SELECT id FROM users WHERE id > ?1 ORDER BY id LIMIT ?2");
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, after_id).Bind(2, static_cast<int64_t>(limit));
    for (;;) {
      Result<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ids.push_back(stmt->ColumnText(0));
    }
  }
  UserPage page;
  page.users.reserve(ids.size());
  page.rows = ids.size();
  if (!ids.empty()) page.last_id = ids.back();
  for (const std::string& id : ids) {
    auto u = QueryUser(connection_, id);
    if (!u.ok() && u.status().code() == StatusCode::kCorruption) {
      page.unreadable.emplace_back(id, u.status().message());
      continue;
    }
    if (!u.ok()) return u.status();
    if (*u) page.users.push_back(std::move(**u));
  }
  return page;
}

// ---- Events ----------------------------------------------------------------------------------

Result<bool> SqliteTxn::InsertEvent(EventRecord& event) {
  Result<int64_t> seq = NextUnusedId(connection_, state_.next_event_seq, kLastEventSeqSql);
  if (!seq.ok()) return seq.status();
  // The conflict target names the partial index, so only a duplicate non-empty message_id is
  // ignored; any other constraint still fails.
  Status status = RunSql(
      "INSERT OR FAIL INTO events (seq, message_id, type, user_id, properties, timestamp_ms, received_ms, request_id) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
      "ON CONFLICT (message_id) WHERE message_id <> '' DO NOTHING",
      *seq, event.message_id, event.type, event.user_id, JsonText(event.properties), event.timestamp_ms,
      event.received_ms, event.request_id);
  if (!status.ok()) return status;
  if (connection_.changes() == 1) {
    event.seq = *seq;
    return true;
  }
  // A duplicate: the seq was not used, and nothing was handed out since (one writer).
  --state_.next_event_seq;
  Result<Statement> stmt = connection_.Prepare("SELECT seq FROM events WHERE message_id = ?1 AND message_id <> ''");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, event.message_id);
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Internal("events: insert of message_id '" + event.message_id + "' ignored but no row holds it");
  event.seq = stmt->ColumnInt(0);
  return false;
}

Result<int64_t> SqliteTxn::CountEvents(const std::string& user_id, const std::string& type, int64_t since_ms) {
  Result<Statement> stmt = connection_.Prepare(
      "SELECT count(*) FROM events WHERE user_id = ?1 AND type = ?2 AND timestamp_ms >= ?3");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, user_id).Bind(2, type).Bind(3, since_ms);
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return stmt->ColumnInt(0);
}

// ---- Executions ------------------------------------------------------------------------------

Result<int64_t> SqliteTxn::ReserveExecutionId() {
  return NextUnusedId(connection_, state_.next_execution_id, kLastExecutionIdSql);
}

Status SqliteTxn::InsertExecution(ExecutionRecord& e) {
  if (e.id == 0) {
    Result<int64_t> id = ReserveExecutionId();
    if (!id.ok()) return id.status();
    e.id = *id;
  }
  std::string event_scratch;
  Status status = RunSql(
      "INSERT OR FAIL INTO executions (id, flow, chain, chain_version, set_version, user_id, entry_key, status, state, ctx, "
      "event, trace, error, request_id, created_ms, updated_ms, finished_ms) "
      "VALUES (?17, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
      e.flow, e.chain, e.chain_version, e.set_version, e.user_id, e.entry_key, ExecutionStatusName(e.status),
      JsonText(e.state), JsonText(e.ctx), EventText(e, event_scratch), e.trace, e.error, e.request_id, e.created_ms,
      e.updated_ms, e.finished_ms, e.id);
  if (!status.ok()) return status;
  job_.gauges[static_cast<size_t>(e.status)] += 1;
  e.rev = 0;  // the column's default
  e.stored_status = e.status;
  return Status::Ok();
}

Status SqliteTxn::UpdateExecution(ExecutionRecord& e) {
  // A record read for display with columns left empty (ExecutionRecord::unreadable) would
  // overwrite them: refused.
  if (!e.unreadable.empty())
    return Status::Invalid("execution " + std::to_string(e.id) + " was read with unreadable columns: not written back");
  // Only the columns a run can change: an indexed column named in SET has its index entry
  // rewritten even when the value is the same (flow, chain, user_id/entry_key are indexed and
  // fixed at enrollment, as are the versions, created_ms and request_id). `status` is indexed
  // too, but it is what most often changes.
  // The status before (for the gauges) and the revision come with a record the store handed
  // out; a record made elsewhere has them read first.
  if (!e.stored_status) {
    Result<Statement> stmt = connection_.Prepare("SELECT status, rev FROM executions WHERE id = ?1");
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, e.id);
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("execution " + std::to_string(e.id) + " does not exist");
    e.stored_status = ParseExecutionStatus(stmt->ColumnView(0));
    if (!e.stored_status) return Status::Corruption("execution " + std::to_string(e.id) + ": unknown status");
    e.rev = stmt->ColumnInt(1);
  }
  std::string event_scratch;
  Status status = RunSql(
      "UPDATE OR FAIL executions SET status = ?2, state = ?3, ctx = ?4, event = ?5, trace = ?6, error = ?7, "
      "updated_ms = ?8, finished_ms = ?9, rev = ?10 + 1 WHERE id = ?1 AND rev = ?10",
      e.id, ExecutionStatusName(e.status), JsonText(e.state), JsonText(e.ctx), EventText(e, event_scratch), e.trace, e.error,
      e.updated_ms, e.finished_ms, e.rev);
  if (!status.ok()) return status;
  if (connection_.changes() != 1) {
    return Status::Aborted("execution " + std::to_string(e.id) + " changed since revision " +
                            std::to_string(e.rev) + " was read (or is gone): update refused");
  }
  job_.gauges[static_cast<size_t>(*e.stored_status)] -= 1;
  job_.gauges[static_cast<size_t>(e.status)] += 1;
  e.stored_status = e.status;
  e.rev += 1;
  return Status::Ok();
}

Result<std::optional<ExecutionRecord>> SqliteTxn::GetExecution(int64_t id) { return QueryExecution(connection_, id); }

Result<std::optional<ExecutionRecord>> SqliteTxn::GetExecutionAsIs(int64_t id) {
  return QueryExecution(connection_, id, /*keep_unreadable=*/true);
}

Result<bool> SqliteTxn::EndUnreadable(int64_t id, ExecutionStatus status, const std::string& error, int64_t now_ms) {
  if (!IsFinished(status)) return Status::Invalid("EndUnreadable: not a final status");
  std::optional<ExecutionStatus> was;
  {
    Result<Statement> stmt = connection_.Prepare("SELECT status FROM executions WHERE id = ?1");
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, id);
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return false;
    was = ParseExecutionStatus(stmt->ColumnView(0));
  }
  if (!was) return Status::Corruption("execution " + std::to_string(id) + ": unknown status");
  if (IsFinished(*was)) return false;
  Status updated = RunSql(
      "UPDATE executions SET status = ?2, error = iif(?3 = '', error, ?3), updated_ms = ?4, finished_ms = ?4, "
      "rev = rev + 1 WHERE id = ?1",
      id, ExecutionStatusName(status), std::string_view(error), now_ms);
  if (!updated.ok()) return updated;
  job_.gauges[static_cast<size_t>(*was)] -= 1;
  job_.gauges[static_cast<size_t>(status)] += 1;
  if (Status s = DeleteWakeupsOf(id); !s.ok()) return s;
  return true;
}

Result<StoreTxn::EntryState> SqliteTxn::GetEntryState(const std::string& chain, const std::string& user_id,
                                                      const std::string& entry_key) {
  // Both EXISTS probes use executions_by_user_entry; the second reads the few matching rows'
  // status.
  Result<Statement> stmt = connection_.Prepare(
      "SELECT EXISTS (SELECT 1 FROM executions WHERE chain = ?1 AND user_id = ?2 AND entry_key = ?3), "
      "EXISTS (SELECT 1 FROM executions WHERE chain = ?1 AND user_id = ?2 AND entry_key = ?3 "
      "AND status IN ('running', 'waiting'))");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, chain).Bind(2, user_id).Bind(3, entry_key);
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  EntryState state;
  state.any = stmt->ColumnInt(0) != 0;
  state.active = stmt->ColumnInt(1) != 0;
  return state;
}

// ---- Wakeups ---------------------------------------------------------------------------------

Status SqliteTxn::AddWakeup(const WakeupRecord& w) {
  Result<Statement> stmt = connection_.Prepare(
      "INSERT OR FAIL INTO wakeups (execution_id, wait_id, user_id, event_type, due_ms, created_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, w.execution_id).Bind(2, w.wait_id).Bind(3, w.user_id).Bind(6, w.created_ms);
  // NULL keeps the row out of the partial index it does not belong to.
  if (w.event_type.empty()) {
    stmt->BindNull(4);
  } else {
    stmt->Bind(4, w.event_type);
  }
  if (w.due_ms > 0) {
    stmt->Bind(5, w.due_ms);
  } else {
    stmt->BindNull(5);
  }
  Status status = stmt->Run();
  if (!status.ok()) return status;
  if (!w.event_type.empty()) {
    status = RunSql("INSERT OR FAIL INTO event_waits (user_id, event_type, execution_id, wait_id, due_ms) "
                    "VALUES (?1, ?2, ?3, ?4, nullif(?5, 0))",
                    std::string_view(w.user_id), std::string_view(w.event_type), w.execution_id, w.wait_id,
                    std::max<int64_t>(w.due_ms, 0));
    if (!status.ok()) return status;
    job_.gauges[CounterDeltas::kWaits] += 1;
    job_.gauges[CounterDeltas::kEventWaitRows] += 1;
  }
  if (w.due_ms > 0) job_.gauges[CounterDeltas::kTimers] += 1;
  return Status::Ok();
}

Result<std::vector<WaitRecord>> SqliteTxn::FindWaits(const std::string& user_id, const std::string& event_type) {
  // event_waits' key is (user_id, event_type, execution_id, wait_id): the order is the key's.
  // An entry whose wakeup is gone (a fired timer left it for the sweep) has no row to join.
  Result<Statement> stmt = connection_.Prepare(
      "SELECT ew.execution_id, ew.wait_id, w.created_ms FROM event_waits AS ew "
      "JOIN wakeups AS w ON w.execution_id = ew.execution_id AND w.wait_id = ew.wait_id "
      "WHERE ew.user_id = ?1 AND ew.event_type = ?2 ORDER BY ew.execution_id, ew.wait_id");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, user_id).Bind(2, event_type);
  std::vector<WaitRecord> waits;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    WaitRecord w;
    w.execution_id = stmt->ColumnInt(0);
    w.wait_id = stmt->ColumnInt(1);
    w.user_id = user_id;
    w.event_type = event_type;
    w.created_ms = stmt->ColumnInt(2);
    waits.push_back(std::move(w));
  }
  return waits;
}

Result<std::vector<DueWakeup>> SqliteTxn::DueWakeups(int64_t now_ms, int limit) {
  return QueryDueWakeups(connection_, now_ms, limit, nullptr);
}

Result<bool> SqliteTxn::TakeWakeup(const WakeupRecord& w) {
  // The row is what DueWakeups read: a (execution, wait id) pair is never used twice, so a row
  // still there is that row, and the gauges need no second look at it.
  Status status = RunSql("DELETE FROM wakeups WHERE execution_id = ?1 AND wait_id = ?2", w.execution_id, w.wait_id);
  if (!status.ok()) return status;
  if (connection_.changes() == 0) return false;
  if (!w.event_type.empty()) {
    job_.gauges[CounterDeltas::kWaits] -= 1;
    if (w.due_ms > 0) {
      // Its event_waits entry stays for the sweep (see SweepEventWaits), which removes it once
      // no timer due at or before it is left; the batch's end looks at the counts again.
      state_.sweep.check = true;
    } else {
      Result<int64_t> removed = DeleteEventWait(w.user_id, w.event_type, w.execution_id, w.wait_id);
      if (!removed.ok()) return removed.status();
    }
  }
  if (w.due_ms > 0) job_.gauges[CounterDeltas::kTimers] -= 1;
  return true;
}

Result<int64_t> SqliteTxn::DeleteEventWait(std::string_view user_id, std::string_view event_type, int64_t execution_id,
                                       int64_t wait_id) {
  Status status = RunSql(
      "DELETE FROM event_waits WHERE user_id = ?1 AND event_type = ?2 AND execution_id = ?3 AND wait_id = ?4",
      user_id, event_type, execution_id, wait_id);
  if (!status.ok()) return status;
  const int64_t removed = connection_.changes();
  job_.gauges[CounterDeltas::kEventWaitRows] -= removed;
  return removed;
}

Status SqliteTxn::DeleteWakeup(int64_t execution_id, int64_t wait_id) {
  // What the row is (for the gauges), then the delete: two primary-key probes of one page.
  // (Not DELETE ... RETURNING: SQLite buffers RETURNING rows in an ephemeral table, which costs
  // more than the second probe, and 3.40 computes `RETURNING x IS NOT NULL` wrongly here.)
  bool wait = false, timer = false;
  std::string user_id, event_type;
  {
    Result<Statement> stmt = connection_.Prepare(
        "SELECT user_id, event_type, due_ms IS NOT NULL FROM wakeups WHERE execution_id = ?1 AND wait_id = ?2");
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, execution_id).Bind(2, wait_id);
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    wait = !stmt->ColumnIsNull(1);
    if (wait) {
      user_id = stmt->ColumnText(0);
      event_type = stmt->ColumnText(1);
    }
    timer = stmt->ColumnInt(2) != 0;
  }
  Status status = RunSql("DELETE FROM wakeups WHERE execution_id = ?1 AND wait_id = ?2", execution_id, wait_id);
  if (!status.ok()) return status;
  if (wait) {
    job_.gauges[CounterDeltas::kWaits] -= 1;
    // The event that resumed it, or the branch that abandoned it, is here now: the entry goes
    // with the row (only fired timers leave theirs to the sweep).
    Result<int64_t> removed = DeleteEventWait(user_id, event_type, execution_id, wait_id);
    if (!removed.ok()) return removed.status();
  }
  if (timer) job_.gauges[CounterDeltas::kTimers] -= 1;
  return Status::Ok();
}

Status SqliteTxn::DeleteWakeupsOf(int64_t execution_id) {
  int64_t waits = 0, timers = 0;
  {
    Result<Statement> stmt = connection_.Prepare(
        "SELECT count(event_type), count(due_ms) FROM wakeups WHERE execution_id = ?1");
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, execution_id);
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      waits = stmt->ColumnInt(0);
      timers = stmt->ColumnInt(1);
    }
  }
  if (waits > 0) {
    Status status = RunSql(
        "DELETE FROM event_waits WHERE (user_id, event_type, execution_id, wait_id) IN "
        "(SELECT user_id, event_type, execution_id, wait_id FROM wakeups WHERE execution_id = ?1 AND event_type IS NOT NULL)",
        execution_id);
    if (!status.ok()) return status;
    job_.gauges[CounterDeltas::kEventWaitRows] -= connection_.changes();
  }
  Status status = RunSql("DELETE FROM wakeups WHERE execution_id = ?1", execution_id);
  if (!status.ok()) return status;
  job_.gauges[CounterDeltas::kWaits] -= waits;
  job_.gauges[CounterDeltas::kTimers] -= timers;
  return Status::Ok();
}

Result<std::optional<int64_t>> SqliteTxn::NextTimerDue() {
  Result<Statement> stmt = connection_.Prepare("SELECT min(due_ms) FROM wakeups WHERE due_ms IS NOT NULL");
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row || stmt->ColumnIsNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(stmt->ColumnInt(0));
}

// ---- The sweep of event_waits -----------------------------------------------------------------

Status SqliteTxn::SweepEventWaits(int64_t min_stale, double stale_ratio, int chunk) {
  EventWaitSweep& sweep = state_.sweep;
  CounterDeltas& batch = state_.batch;
  // Stale entries as this batch leaves them: the table's rows less the live waits.
  auto stale_now = [&]() -> Result<std::pair<int64_t, int64_t>> {
    Result<Statement> stmt = connection_.Prepare(
        "SELECT (SELECT n FROM gauges WHERE name = 'event_waits'), (SELECT n FROM gauges WHERE name = 'waits')");
    if (!stmt.ok()) return stmt.status();
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    const int64_t rows = (*row ? stmt->ColumnInt(0) : 0) + batch.gauges[CounterDeltas::kEventWaitRows];
    const int64_t live = (*row ? stmt->ColumnInt(1) : 0) + batch.gauges[CounterDeltas::kWaits];
    return std::make_pair(rows - live, live);
  };
  if (!sweep.running) {
    if (!sweep.check) return Status::Ok();
    sweep.check = false;
    Result<std::pair<int64_t, int64_t>> counts = stale_now();
    if (!counts.ok()) return counts.status();
    const auto [stale, live] = *counts;
    const double threshold = std::max(static_cast<double>(min_stale), stale_ratio * static_cast<double>(live));
    if (static_cast<double>(stale - sweep.stale_after_pass) <= threshold) return Status::Ok();
    sweep.running = true;
    sweep.at_start = true;
  }

  Result<std::optional<int64_t>> earliest = NextTimerDue();
  if (!earliest.ok()) return earliest.status();
  // The chunk is the key range after the last key read, up to the chunk's last entry (found by
  // skipping `chunk - 1` entries; none: the range runs to the table's end and the pass ends).
  // One DELETE removes its stale entries as it scans the range. Statements are cached by their
  // text's address: one literal per shape. ?1-?4: after this key; ?5-?8: up to this key.
#define REACH_KEY "(user_id, event_type, execution_id, wait_id)"
#define REACH_ORDER "user_id, event_type, execution_id, wait_id"
#define REACH_STALE "due_ms IS NOT NULL AND (?9 IS NULL OR due_ms < ?9)"
  static constexpr const char* kLastOfChunk[2] = {
      "SELECT " REACH_ORDER " FROM event_waits ORDER BY " REACH_ORDER " LIMIT 1 OFFSET ?9",
      "SELECT " REACH_ORDER " FROM event_waits WHERE " REACH_KEY " > (?1, ?2, ?3, ?4) ORDER BY " REACH_ORDER
      " LIMIT 1 OFFSET ?9"};
  static constexpr const char* kDeleteStale[2][2] = {
      {"DELETE FROM event_waits WHERE " REACH_STALE,
       "DELETE FROM event_waits WHERE " REACH_KEY " <= (?5, ?6, ?7, ?8) AND " REACH_STALE},
      {"DELETE FROM event_waits WHERE " REACH_KEY " > (?1, ?2, ?3, ?4) AND " REACH_STALE,
       "DELETE FROM event_waits WHERE " REACH_KEY " > (?1, ?2, ?3, ?4) AND " REACH_KEY " <= (?5, ?6, ?7, ?8) AND "
       REACH_STALE}};
#undef REACH_KEY
#undef REACH_ORDER
#undef REACH_STALE
  const bool after = !sweep.at_start;
  bool to_end = true;
  std::string last_user, last_type;
  int64_t last_execution = 0, last_wait = 0;
  {
    Result<Statement> stmt = connection_.Prepare(kLastOfChunk[after]);
    if (!stmt.ok()) return stmt.status();
    if (after) stmt->Bind(1, sweep.user_id).Bind(2, sweep.event_type).Bind(3, sweep.execution_id).Bind(4, sweep.wait_id);
    stmt->Bind(9, int64_t{chunk - 1});
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      to_end = false;
      last_user = stmt->ColumnView(0);
      last_type = stmt->ColumnView(1);
      last_execution = stmt->ColumnInt(2);
      last_wait = stmt->ColumnInt(3);
    }
  }
  {
    Result<Statement> stmt = connection_.Prepare(kDeleteStale[after][!to_end]);
    if (!stmt.ok()) return stmt.status();
    if (after) stmt->Bind(1, sweep.user_id).Bind(2, sweep.event_type).Bind(3, sweep.execution_id).Bind(4, sweep.wait_id);
    if (!to_end) stmt->Bind(5, last_user).Bind(6, last_type).Bind(7, last_execution).Bind(8, last_wait);
    // An entry without a due time never goes stale (its wakeup is not a timer's to take).
    if (*earliest) {
      stmt->Bind(9, **earliest);
    } else {
      stmt->BindNull(9);
    }
    if (Status s = stmt->Run(); !s.ok()) return s;
    state_.batch.gauges[CounterDeltas::kEventWaitRows] -= connection_.changes();
  }
  sweep.at_start = false;
  sweep.user_id = std::move(last_user);
  sweep.event_type = std::move(last_type);
  sweep.execution_id = last_execution;
  sweep.wait_id = last_wait;
  if (to_end) {
    // The pass reached the end of the table.
    sweep.running = false;
    Result<std::pair<int64_t, int64_t>> counts = stale_now();
    if (!counts.ok()) return counts.status();
    sweep.stale_after_pass = std::max<int64_t>(counts->first, 0);
  }
  return Status::Ok();
}

// ---- Node stats ------------------------------------------------------------------------------

Status SqliteTxn::BumpNodeStats(const std::string& chain, const std::string& chain_version, const std::string& node,
                                int64_t entered, int64_t completed, int64_t failed, int64_t waiting,
                                int64_t cancelled) {
  auto it = job_.node_stats.find(std::make_tuple(std::string_view(chain), std::string_view(chain_version),
                                                 std::string_view(node)));
  if (it == job_.node_stats.end()) it = job_.node_stats.try_emplace({chain, chain_version, node}).first;
  auto& d = it->second;
  d[0] += entered;
  d[1] += completed;
  d[2] += failed;
  d[3] += waiting;
  d[4] += cancelled;
  return Status::Ok();
}

// ---- Schedules -------------------------------------------------------------------------------

Result<int64_t> SqliteTxn::GetLastTick(const std::string& chain) {
  Result<Statement> stmt = connection_.Prepare("SELECT last_tick_ms FROM schedules WHERE chain = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, chain);
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? stmt->ColumnInt(0) : int64_t{0};
}

Status SqliteTxn::SetLastTick(const std::string& chain, int64_t tick_ms) {
  return RunSql(
      "INSERT INTO schedules (chain, last_tick_ms) VALUES (?1, ?2) "
      "ON CONFLICT (chain) DO UPDATE SET last_tick_ms = excluded.last_tick_ms",
      chain, tick_ms);
}

// ---- Flows and meta --------------------------------------------------------------------------

Status SqliteTxn::PutFlowSet(const FlowSetRecord& set) {
  // A version is a content hash: a second put of the same version holds the same files.
  return RunSql(
      "INSERT INTO flow_sets (version, files, created_ms) VALUES (?1, ?2, ?3) ON CONFLICT (version) DO NOTHING",
      set.version, JsonText(set.files), set.created_ms);
}

Result<std::optional<FlowSetRecord>> SqliteTxn::GetFlowSet(const std::string& version) {
  return QueryFlowSet(connection_, version);
}

Status SqliteTxn::PutFlow(const FlowRecord& flow) {
  return RunSql(
      "INSERT INTO flows (name, version, set_version, paused, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT (name) DO UPDATE SET version = excluded.version, set_version = excluded.set_version, "
      "paused = excluded.paused, updated_ms = excluded.updated_ms",
      flow.name, flow.version, flow.set_version, int64_t{flow.paused ? 1 : 0}, flow.updated_ms);
}

Result<std::vector<FlowRecord>> SqliteTxn::ListFlows() { return QueryFlows(connection_); }

Result<std::optional<std::string>> SqliteTxn::GetMeta(const std::string& key) { return QueryMeta(connection_, key); }

Status SqliteTxn::PutMeta(const std::string& key, const std::string& value) {
  return RunSql("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                key, value);
}

}  // namespace reach::storage
