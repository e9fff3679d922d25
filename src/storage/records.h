#pragma once
// The rows the engine keeps, as plain structs. JSON-valued columns are Boost.JSON values.
// Times are Unix milliseconds, UTC.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/status.h"

namespace reach::storage {

struct UserRecord {
  std::string id;
  boost::json::object traits;
  boost::json::array tags;            // strings
  std::string timezone;               // IANA name, "" = unknown
  boost::json::object identities;     // phone, openid, unionid, external_userid, wecom_userid ...
  boost::json::object subscriptions;  // channel -> "subscribed" | "unsubscribed"
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct EventRecord {
  int64_t seq = 0;                    // assigned by the store, increasing
  std::string message_id;             // idempotency key; unique when not empty
  std::string type;
  std::string user_id;
  boost::json::object properties;
  int64_t timestamp_ms = 0;           // when it happened (client's clock)
  int64_t received_ms = 0;            // when Reach accepted it
  std::string request_id;             // carried through to traces and logs
};

enum class ExecutionStatus : uint8_t { kRunning, kWaiting, kCompleted, kFailed, kCancelled };
std::string_view ExecutionStatusName(ExecutionStatus s);  // "running", "waiting", ...
std::optional<ExecutionStatus> ParseExecutionStatus(std::string_view s);
inline bool IsFinished(ExecutionStatus s) {
  return s == ExecutionStatus::kCompleted || s == ExecutionStatus::kFailed || s == ExecutionStatus::kCancelled;
}

struct ExecutionRecord {
  int64_t id = 0;                     // assigned by the store
  std::string flow;                   // the flow (file) the chain belongs to
  std::string chain;
  std::string chain_version;          // content hash of what the chain reaches
  std::string set_version;            // the deployed flow set it runs on (to find the graph)
  std::string user_id;
  std::string entry_key;              // entry.key value ("" when the chain has none)
  ExecutionStatus status = ExecutionStatus::kRunning;
  boost::json::object state;          // the executor's resumable position (frames)
  boost::json::object ctx;            // the execution's data
  boost::json::value event;           // the event that started it / last resumed it (or null)
  // Not empty: `event` was not parsed (a timer's run reads it only when a node needs it) and
  // this is its text as stored; whoever needs `event` parses it (and clears this).
  std::string event_text;
  std::string trace;                  // "a==>b==>c"
  std::string error;                  // why it failed
  std::string request_id;             // of the request that started it
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t finished_ms = 0;            // 0 while not finished
  // The row's revision: every UpdateExecution bumps it. A record read (or written) by the store
  // carries the revision and status the row has, so that an update needs no read first, and an
  // update from a record that is no longer current (a lost update) is refused.
  int64_t rev = 0;
  std::optional<ExecutionStatus> stored_status;  // nullopt: not read from the store
  // Set only by the readers that show executions (StoreReader::GetExecution, ListExecutions):
  // the JSON columns whose stored text does not parse, with why ("event: stored JSON does not
  // parse: ..."); those fields are left empty. Such a record must never be written back.
  std::string unreadable;
};

// What a suspended execution waits for at one of its wait ids: an event of `event_type` for
// `user_id` (`event_type` not empty), a due time (`due_ms` > 0: a delay ending, a wait timing
// out, a retry backoff, a maxWait deadline), or both (a wait with a timeout). One row; removed
// as a whole when either happens.
struct WakeupRecord {
  int64_t execution_id = 0;
  int64_t wait_id = 0;                // unique within the execution
  std::string user_id;
  std::string event_type;             // "" = no event
  int64_t due_ms = 0;                 // 0 = no due time
  int64_t created_ms = 0;
};

// A position in the due order of wakeups (due_ms, execution_id, wait_id): where a scan that
// reads ahead of the writer stopped, so that the next scan starts after it.
struct WakeupCursor {
  int64_t due_ms = 0;
  int64_t execution_id = 0;
  int64_t wait_id = 0;
};

// A wakeup with an event, as FindWaits returns it.
struct WaitRecord {
  int64_t execution_id = 0;
  int64_t wait_id = 0;
  std::string user_id;
  std::string event_type;
  int64_t created_ms = 0;
};

// A wakeup with a due time and its execution, read together (DueWakeups: one statement for a
// batch of timers instead of a query per timer).
struct DueWakeup {
  WakeupRecord wakeup;
  std::optional<ExecutionRecord> execution;  // nullopt: the execution is not in the store, or:
  // Not ok: the execution's row does not read (kCorruption naming the column); `execution` is
  // nullopt. One such row does not fail the read of the others.
  Status unreadable;
};

// One deployed flow set: every flow file's text, so that any version can be compiled again.
struct FlowSetRecord {
  std::string version;                // FlowGraph::version()
  boost::json::array files;           // [{"path", "name", "version", "text"}]
  int64_t created_ms = 0;
};

// The current state of one flow (file).
struct FlowRecord {
  std::string name;
  std::string version;                // the file's content hash
  std::string set_version;            // the flow set it was last deployed in
  bool paused = false;
  int64_t updated_ms = 0;
};

// Per-node counters of one chain version.
struct NodeStats {
  std::string node;
  int64_t entered = 0;
  int64_t completed = 0;
  int64_t failed = 0;
  int64_t waiting = 0;                // suspensions at this node now (an execution that uses the
                                      // node twice and waits at both counts twice)
  int64_t cancelled = 0;              // executions cancelled while suspended here
};

struct ExecutionFilter {
  std::string user_id;                // "" = any
  std::string flow;                   // matches flow or chain name; "" = any
  std::optional<ExecutionStatus> status;
  int64_t after_id = 0;               // paging: ids greater than this
  int limit = 100;
};

}  // namespace reach::storage
