// The schema: version 1, then the migrations below it. Why each index exists (which query uses it) is in docs/storage.md;
// keep the two in step.
//
//   users            id PK | traits tags identities subscriptions (JSON text) | timezone |
//                    created_ms updated_ms
//   user_identities  (kind, value) PK -> user_id   -- kept in sync by PutUser with users.identities;
//                    its index (user_id) dropped in v8 (PutUser reads the user's row instead)
//   events           seq PK (AUTOINCREMENT until v9) | message_id (unique when <> '') | type user_id |
//                    properties (JSON) | timestamp_ms received_ms | request_id;
//                    index (user_id, type, timestamp_ms)
//   flow_sets        version PK | files (JSON) | created_ms
//   flows            name PK | version set_version paused updated_ms
//   meta             key PK | value
//   executions       id PK (AUTOINCREMENT until v9) | flow chain chain_version set_version user_id entry_key
//                    status | state ctx event (JSON) | trace error request_id |
//                    created_ms updated_ms finished_ms | rev (v5: bumped by every update);
//                    indexes (user_id, chain, entry_key), (flow, chain) (v10; (flow) and (chain)
//                    before), (status) WHERE status <> 'completed' (v6)
//   wakeups          (execution_id, wait_id) PK | user_id event_type due_ms created_ms;
//                    partial index (due_ms) WHERE due_ms IS NOT NULL       -- v3: waits + timers
//   event_waits      (user_id, event_type, execution_id, wait_id) PK | due_ms  -- v7: the waits
//                    by event; an entry may outlive its wakeup (a fired timer's), until swept
//   node_stats       (chain, chain_version, node) PK | entered completed failed waiting (v3)
//   schedules        chain PK | last_tick_ms
//   gauges           name PK | n   -- row counts kept by the writer per batch (v2; triggers in
//                                     v1), read by GetGauges

#include "storage/sqlite_schema.h"

#include <string>

namespace reach::storage {
namespace {

constexpr const char kSchemaV1[] = R"sql(
CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  traits        TEXT NOT NULL DEFAULT '{}',
  tags          TEXT NOT NULL DEFAULT '[]',
  timezone      TEXT NOT NULL DEFAULT '',
  identities    TEXT NOT NULL DEFAULT '{}',
  subscriptions TEXT NOT NULL DEFAULT '{}',
  created_ms    INTEGER NOT NULL,
  updated_ms    INTEGER NOT NULL
);

CREATE TABLE user_identities (
  kind    TEXT NOT NULL,
  value   TEXT NOT NULL,
  user_id TEXT NOT NULL,
  PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE INDEX user_identities_by_user ON user_identities (user_id);

-- AUTOINCREMENT: seq never goes back, even after the newest events are deleted by retention.
CREATE TABLE events (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id   TEXT NOT NULL DEFAULT '',
  type         TEXT NOT NULL,
  user_id      TEXT NOT NULL,
  properties   TEXT NOT NULL DEFAULT '{}',
  timestamp_ms INTEGER NOT NULL,
  received_ms  INTEGER NOT NULL,
  request_id   TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX events_by_message_id ON events (message_id) WHERE message_id <> '';
CREATE INDEX events_by_user_type_time ON events (user_id, type, timestamp_ms);

CREATE TABLE flow_sets (
  version    TEXT PRIMARY KEY,
  files      TEXT NOT NULL DEFAULT '[]',
  created_ms INTEGER NOT NULL
);

CREATE TABLE flows (
  name        TEXT PRIMARY KEY,
  version     TEXT NOT NULL,
  set_version TEXT NOT NULL,
  paused      INTEGER NOT NULL DEFAULT 0,
  updated_ms  INTEGER NOT NULL
);

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- AUTOINCREMENT: an execution id appears in URLs and logs and must never name two executions.
CREATE TABLE executions (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  flow          TEXT NOT NULL,
  chain         TEXT NOT NULL,
  chain_version TEXT NOT NULL,
  set_version   TEXT NOT NULL,
  user_id       TEXT NOT NULL,
  entry_key     TEXT NOT NULL DEFAULT '',
  status        TEXT NOT NULL
                CHECK (status IN ('running', 'waiting', 'completed', 'failed', 'cancelled')),
  state         TEXT NOT NULL DEFAULT '{}',
  ctx           TEXT NOT NULL DEFAULT '{}',
  event         TEXT NOT NULL DEFAULT 'null',
  trace         TEXT NOT NULL DEFAULT '',
  error         TEXT NOT NULL DEFAULT '',
  request_id    TEXT NOT NULL DEFAULT '',
  created_ms    INTEGER NOT NULL,
  updated_ms    INTEGER NOT NULL,
  finished_ms   INTEGER NOT NULL DEFAULT 0
);
-- (user_id, chain, entry_key) rather than (user_id) plus (chain, user_id, entry_key): one index
-- answers GetEntryState exactly and lists a user's executions (few, sorted in memory), which
-- leaves (chain) free to be ordered by id for ListExecutions' chain match.
CREATE INDEX executions_by_user_entry ON executions (user_id, chain, entry_key);
CREATE INDEX executions_by_flow ON executions (flow);
CREATE INDEX executions_by_chain ON executions (chain);
CREATE INDEX executions_by_status ON executions (status);

CREATE TABLE waits (
  execution_id INTEGER NOT NULL,
  wait_id      INTEGER NOT NULL,
  user_id      TEXT NOT NULL,
  event_type   TEXT NOT NULL,
  created_ms   INTEGER NOT NULL,
  PRIMARY KEY (execution_id, wait_id)
) WITHOUT ROWID;
CREATE INDEX waits_by_user_event ON waits (user_id, event_type);

-- AUTOINCREMENT: a timer id read by the scheduler must not be reused by a timer added after
-- the first was deleted, or deleting "the fired timer" could delete the new one.
CREATE TABLE timers (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  due_ms       INTEGER NOT NULL,
  execution_id INTEGER NOT NULL,
  wait_id      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX timers_by_due ON timers (due_ms);
CREATE INDEX timers_by_execution ON timers (execution_id, wait_id);

CREATE TABLE node_stats (
  chain         TEXT NOT NULL,
  chain_version TEXT NOT NULL,
  node          TEXT NOT NULL,
  entered       INTEGER NOT NULL DEFAULT 0,
  completed     INTEGER NOT NULL DEFAULT 0,
  failed        INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (chain, chain_version, node)
) WITHOUT ROWID;

CREATE TABLE waiting_nodes (
  execution_id INTEGER NOT NULL,
  node         TEXT NOT NULL,
  chain        TEXT NOT NULL,
  PRIMARY KEY (execution_id, node)
) WITHOUT ROWID;
CREATE INDEX waiting_nodes_by_chain_node ON waiting_nodes (chain, node);

CREATE TABLE schedules (
  chain        TEXT PRIMARY KEY,
  last_tick_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Row counts for GetGauges (/metrics), kept by triggers so that a scrape reads seven rows
-- instead of counting every execution ever run. Savepoint rollbacks undo them with the rows.
CREATE TABLE gauges (
  name TEXT PRIMARY KEY,
  n    INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO gauges (name, n) VALUES
  ('executions.running', 0), ('executions.waiting', 0), ('executions.completed', 0),
  ('executions.failed', 0), ('executions.cancelled', 0), ('waits', 0), ('timers', 0);

CREATE TRIGGER executions_gauge_insert AFTER INSERT ON executions BEGIN
  UPDATE gauges SET n = n + 1 WHERE name = 'executions.' || NEW.status;
END;
CREATE TRIGGER executions_gauge_update AFTER UPDATE OF status ON executions
WHEN OLD.status <> NEW.status BEGIN
  UPDATE gauges SET n = n - 1 WHERE name = 'executions.' || OLD.status;
  UPDATE gauges SET n = n + 1 WHERE name = 'executions.' || NEW.status;
END;
CREATE TRIGGER executions_gauge_delete AFTER DELETE ON executions BEGIN
  UPDATE gauges SET n = n - 1 WHERE name = 'executions.' || OLD.status;
END;
CREATE TRIGGER waits_gauge_insert AFTER INSERT ON waits BEGIN
  UPDATE gauges SET n = n + 1 WHERE name = 'waits';
END;
CREATE TRIGGER waits_gauge_delete AFTER DELETE ON waits BEGIN
  UPDATE gauges SET n = n - 1 WHERE name = 'waits';
END;
CREATE TRIGGER timers_gauge_insert AFTER INSERT ON timers BEGIN
  UPDATE gauges SET n = n + 1 WHERE name = 'timers';
END;
CREATE TRIGGER timers_gauge_delete AFTER DELETE ON timers BEGIN
  UPDATE gauges SET n = n - 1 WHERE name = 'timers';
END;
)sql";

// Version 2: the gauges are kept by the writer (one UPDATE per gauge per batch, see
// sqlite_txn.h) instead of by a trigger per row; the counts are taken afresh.
constexpr const char kSchemaV2[] = R"sql(
DROP TRIGGER executions_gauge_insert;
DROP TRIGGER executions_gauge_update;
DROP TRIGGER executions_gauge_delete;
DROP TRIGGER waits_gauge_insert;
DROP TRIGGER waits_gauge_delete;
DROP TRIGGER timers_gauge_insert;
DROP TRIGGER timers_gauge_delete;
UPDATE gauges SET n = (SELECT count(*) FROM executions WHERE status = substr(gauges.name, 12))
  WHERE name LIKE 'executions.%';
UPDATE gauges SET n = (SELECT count(*) FROM waits) WHERE name = 'waits';
UPDATE gauges SET n = (SELECT count(*) FROM timers) WHERE name = 'timers';
)sql";

// Version 3: waits and timers become one table, `wakeups` (a wait with a timeout is one row,
// written and removed once, with two partial indexes instead of two tables and three indexes),
// and the per-execution waiting_nodes rows become a `waiting` counter in node_stats, kept by
// the engine from the set of nodes each execution is suspended at (state.wn).
constexpr const char kSchemaV3[] = R"sql(
CREATE TABLE wakeups (
  execution_id INTEGER NOT NULL,
  wait_id      INTEGER NOT NULL,
  user_id      TEXT NOT NULL DEFAULT '',
  event_type   TEXT,
  due_ms       INTEGER,
  created_ms   INTEGER NOT NULL,
  PRIMARY KEY (execution_id, wait_id)
) WITHOUT ROWID;
CREATE INDEX wakeups_by_event ON wakeups (user_id, event_type) WHERE event_type IS NOT NULL;
CREATE INDEX wakeups_by_due ON wakeups (due_ms) WHERE due_ms IS NOT NULL;
INSERT INTO wakeups (execution_id, wait_id, user_id, event_type, due_ms, created_ms)
  SELECT w.execution_id, w.wait_id, w.user_id, w.event_type,
         (SELECT min(t.due_ms) FROM timers AS t WHERE t.execution_id = w.execution_id AND t.wait_id = w.wait_id),
         w.created_ms
  FROM waits AS w;
INSERT INTO wakeups (execution_id, wait_id, user_id, event_type, due_ms, created_ms)
  SELECT t.execution_id, t.wait_id, '', NULL, min(t.due_ms), 0 FROM timers AS t
  WHERE NOT EXISTS (SELECT 1 FROM waits AS w WHERE w.execution_id = t.execution_id AND w.wait_id = t.wait_id)
  GROUP BY t.execution_id, t.wait_id;
DROP TABLE waits;
DROP TABLE timers;
UPDATE gauges SET n = (SELECT count(*) FROM wakeups WHERE event_type IS NOT NULL) WHERE name = 'waits';
UPDATE gauges SET n = (SELECT count(*) FROM wakeups WHERE due_ms IS NOT NULL) WHERE name = 'timers';

ALTER TABLE node_stats ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;
-- One grouped pass over the waiting executions (UPDATE ... FROM materializes it once), not a
-- count per node_stats row: a million waiting executions times hundreds of rows took minutes.
UPDATE node_stats SET waiting = c.n
  FROM (SELECT e.chain AS chain, e.chain_version AS chain_version, w.node AS node, count(*) AS n
          FROM waiting_nodes AS w JOIN executions AS e ON e.id = w.execution_id
         WHERE e.status = 'waiting'
         GROUP BY e.chain, e.chain_version, w.node) AS c
 WHERE c.chain = node_stats.chain AND c.chain_version = node_stats.chain_version AND c.node = node_stats.node;
UPDATE executions SET state = json_set(state, '$.wn',
    (SELECT json_group_array(w.node) FROM waiting_nodes AS w WHERE w.execution_id = executions.id))
  WHERE status = 'waiting' AND EXISTS (SELECT 1 FROM waiting_nodes AS w WHERE w.execution_id = executions.id);
DROP TABLE waiting_nodes;
)sql";

// Version 4: the CHECK on executions.status as a chain of equalities instead of an IN list,
// which SQLite evaluates by building an ephemeral table on every INSERT and UPDATE of a row
// (~12 % of a fired timer's instructions). Done the way SQLite documents for CHECK changes
// ("Making Other Kinds Of Table Schema Changes"): the stored CREATE TABLE text is edited (the
// file format does not change; every row satisfies the new constraint as it did the old), then
// a throw-away table bumps the schema version so that every connection reloads the schema.
// RESET (not OFF) makes this connection reload it too: ALTER TABLE ADD COLUMN (version 5)
// places the new column by offsets into the CREATE text this connection parsed, and with the
// IN-list text still loaded it cut the edited text in the wrong place.
constexpr const char kSchemaV4[] = R"sql(
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (status IN (''running'', ''waiting'', ''completed'', ''failed'', ''cancelled''))',
                     'CHECK (status = ''running'' OR status = ''waiting'' OR status = ''completed'' OR status = ''failed'' OR status = ''cancelled'')')
 WHERE type = 'table' AND name = 'executions';
PRAGMA writable_schema = RESET;
CREATE TABLE schema_bump_v4 (x);
DROP TABLE schema_bump_v4;
)sql";

// Version 5: executions.rev, the row's revision, bumped by every update: the timer thread reads
// due wakeups and their executions ahead of the writer, which then checks one integer instead
// of reading and parsing the row again. (ADD COLUMN with a constant default rewrites nothing.)
constexpr const char kSchemaV5[] = R"sql(
ALTER TABLE executions ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
)sql";

// Version 6: executions_by_status leaves completed executions out. They are most rows, and
// every timer that ends a journey moved its execution's entry from 'waiting' to 'completed'
// (13 % of a firing's instructions went to that index); listing completed executions by status
// alone reads the primary key in order instead (they are dense there).
constexpr const char kSchemaV6[] = R"sql(
DROP INDEX executions_by_status;
CREATE INDEX executions_by_status ON executions (status) WHERE status <> 'completed';
)sql";

// Version 7: the by-event lookup of waits moves from an index on wakeups to a table of its own,
// event_waits, whose entries may outlive their wakeup: a timer that fires removes its wakeup row
// only, and a sweep removes the entries left behind later, in key order (sqlite_txn.h,
// SweepEventWaits). The index's entry was a page write chosen by the user for every timer
// fired, the most of the pages a firing wrote (docs/benchmarks.md). `due_ms` tells the sweep
// which entries are stale without a lookup; `event_waits` in gauges counts the rows, live and
// stale.
constexpr const char kSchemaV7[] = R"sql(
CREATE TABLE event_waits (
  user_id      TEXT NOT NULL,
  event_type   TEXT NOT NULL,
  execution_id INTEGER NOT NULL,
  wait_id      INTEGER NOT NULL,
  due_ms       INTEGER,
  PRIMARY KEY (user_id, event_type, execution_id, wait_id)
) WITHOUT ROWID;
INSERT INTO event_waits (user_id, event_type, execution_id, wait_id, due_ms)
  SELECT user_id, event_type, execution_id, wait_id, due_ms FROM wakeups WHERE event_type IS NOT NULL
  ORDER BY user_id, event_type, execution_id, wait_id;
DROP INDEX wakeups_by_event;
INSERT INTO gauges (name, n) VALUES ('event_waits', (SELECT count(*) FROM event_waits));
)sql";

// Version 8: user_identities_by_user goes. PutUser read a user's stored identity rows through
// it; it now derives them from the user's row (users.identities, which it writes with the rows,
// from the same object), so the index was one more b-tree written for every new user and every
// change of identities, read by nothing else.
constexpr const char kSchemaV8[] = R"sql(
DROP INDEX user_identities_by_user;
)sql";

// Version 9: events and executions lose AUTOINCREMENT. Their ids were handed out by SQLite from
// sqlite_sequence, a row it read and rewrote for every insert (~0.5-1 us each, and a page
// written in every commit); the writer now hands them out itself (SqliteTxn's NextUnusedId: past
// every row and past the sqlite_sequence mark left here, so an id is still never used twice).
// The tables' b-trees are the same with or without the keyword — it only tells SQLite to keep
// sqlite_sequence — so the stored CREATE TABLE text is edited as in v4, not rebuilt; the
// sqlite_sequence rows stay, as the floor for the next ids.
constexpr const char kSchemaV9[] = R"sql(
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, ' AUTOINCREMENT', '')
 WHERE type = 'table' AND name IN ('events', 'executions');
PRAGMA writable_schema = RESET;
CREATE TABLE schema_bump_v9 (x);
DROP TABLE schema_bump_v9;
)sql";

// Version 10: executions_by_flow (flow) and executions_by_chain (chain) become one index,
// executions_by_flow_chain (flow, chain). Both served ListExecutions' flow filter only (a name
// matches the flow file or the chain), and every new execution wrote an entry into each: two
// b-trees' right edges, ~3 of the ~25 pages a small commit wrote (docs/benchmarks.md). The
// listing now walks the (flow, chain) pairs with seeks (sqlite_reader.cc) and merges their
// ordered id ranges. Creating the index reads every execution once.
constexpr const char kSchemaV10[] = R"sql(
CREATE INDEX executions_by_flow_chain ON executions (flow, chain);
DROP INDEX executions_by_flow;
DROP INDEX executions_by_chain;
)sql";

// Version 11: node_stats.cancelled, the executions cancelled while suspended at the node. Its
// `waiting` count went down at a cancel and nothing else went up, so a node's entered no longer
// added up to completed + failed + waiting. Counted from this version on: an execution cancelled
// before keeps no record of where it waited. (ADD COLUMN with a constant default rewrites
// nothing.)
constexpr const char kSchemaV11[] = R"sql(
ALTER TABLE node_stats ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;
)sql";

constexpr MigrationStep kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
    {4, kSchemaV4},
    {5, kSchemaV5},
    {6, kSchemaV6},
    {7, kSchemaV7},
    {8, kSchemaV8},
    {9, kSchemaV9},
    {10, kSchemaV10},
    {11, kSchemaV11},
};

// Switches to WAL (persistent: recorded in the file header, so every later connection uses it).
Status EnableWal(SqliteConnection& connection) {
  Result<Statement> stmt = connection.Prepare("PRAGMA journal_mode=WAL");
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  std::string mode = *row ? stmt->ColumnText(0) : "";
  if (mode != "wal") {
    return Status::Io(connection.path() + ": cannot switch to WAL mode (journal_mode is '" + mode +
                      "'); the file system may not support shared memory");
  }
  return Status::Ok();
}

}  // namespace

std::span<const MigrationStep> SchemaMigrations() { return kMigrations; }

Status MigrateSchema(SqliteConnection& connection) { return MigrateSchema(connection, SchemaMigrations()); }

Status MigrateSchema(SqliteConnection& connection, std::span<const MigrationStep> steps) {
  // Checks first: a file that is refused must be left exactly as it was (not even switched to WAL).
  Result<int64_t> application_id = connection.QueryInt("PRAGMA application_id");
  if (!application_id.ok()) return application_id.status();
  Result<int64_t> version = connection.QueryInt("PRAGMA user_version");
  if (!version.ok()) return version.status();
  Result<int64_t> objects = connection.QueryInt("SELECT count(*) FROM sqlite_schema");
  if (!objects.ok()) return objects.status();

  const std::string& path = connection.path();
  if (*application_id != 0 && *application_id != kReachApplicationId) {
    return Status::Precondition(path + " is an SQLite database of another application (application_id " +
                                std::to_string(*application_id) + ")");
  }
  if (*application_id == 0 && *objects > 0) {
    return Status::Precondition(path + " holds tables but is not a Reach database (no application_id)");
  }
  const int64_t known = steps.empty() ? 0 : steps.back().version;
  if (*version > known) {
    return Status::Precondition(path + " has schema version " + std::to_string(*version) +
                                ", newer than this build knows (" + std::to_string(known) +
                                "); run the newer reach binary or restore a backup");
  }

  Status status = EnableWal(connection);
  if (!status.ok()) return status;
  for (const MigrationStep& step : steps) {
    if (step.version <= *version) continue;
    // Not cached: each step runs once in the life of the file.
    std::string sql = "BEGIN IMMEDIATE;\n";
    sql += step.sql;
    sql += "\nPRAGMA user_version = " + std::to_string(step.version) + ";";
    sql += "\nPRAGMA application_id = " + std::to_string(kReachApplicationId) + ";";
    sql += "\nCOMMIT;";
    status = connection.Exec(sql);
    if (!status.ok()) {
      if (connection.in_transaction()) connection.Exec("ROLLBACK");
      return Status(status.code(), "migration to schema version " + std::to_string(step.version) +
                                       " failed: " + status.message());
    }
  }
  return Status::Ok();
}

}  // namespace reach::storage
