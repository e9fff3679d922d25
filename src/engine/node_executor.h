#pragma once
// The runtime side of a node kind: what happens when a node runs. Node kinds (nodes/) implement
// NodeExecutor; the executor (executor.cc) calls it with a NodeContext through which the node
// sees the user, event and ctx, changes them, and suspends the execution.
//
// Suspending: a node registers what wakes it (WaitForEvent, WaitUntil) and returns Suspended.
// The execution is then written to the store and forgotten. When one of its wakeups fires, the
// node is called again with wakeup() set, and its frame() as it left it. A node that returns
// Done or Failed has its registered wakeups removed by the executor.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "dsl/expression.h"
#include "dsl/flow_graph.h"
#include "storage/records.h"

namespace reach::engine {

struct NodeOutcome {
  enum class Kind : uint8_t { kDone, kFailed, kSuspended, kExit };
  Kind kind = Kind::kDone;
  boost::json::value value;   // kDone: the node's result (boolean, switch target, count, list)
  std::string error;          // kFailed: what went wrong, for the trace and the API
  std::string error_name;     // kFailed: a short class name that `.retry(n, "Name")` can select

  static NodeOutcome Done(boost::json::value v = nullptr) { return {Kind::kDone, std::move(v), {}, {}}; }
  static NodeOutcome Failed(std::string error, std::string name = "NodeError") {
    return {Kind::kFailed, nullptr, std::move(error), std::move(name)};
  }
  static NodeOutcome Suspended() { return {Kind::kSuspended, nullptr, {}, {}}; }
  // Ends the whole execution as completed (the `exit` kind: goal reached).
  static NodeOutcome Exit(std::string reason) { return {Kind::kExit, nullptr, std::move(reason), {}}; }
};

// Why a suspended node is being called again.
struct Wakeup {
  enum class Kind : uint8_t { kEvent, kTimer };
  Kind kind = Kind::kTimer;
  int64_t wait_id = 0;
  const storage::EventRecord* event = nullptr;  // kEvent
  const boost::json::value* event_json = nullptr;  // kEvent: the event as expressions see it
};

// A rendered message, recorded (sandbox) or handed to a channel.
struct SendRequest {
  std::string channel;        // "wecom.message", "wechat.template", "sms.send", "webhook", ...
  std::string node;           // node id
  boost::json::object payload;  // the rendered, provider-neutral message
};

class NodeContext {
 public:
  virtual ~NodeContext() = default;
  virtual int64_t NowMillis() const = 0;
  // user / event / ctx for expressions (event is the wakeup's event while matching it).
  virtual const dsl::Scope& scope() const = 0;
  // The execution's data; changes are saved with the execution.
  virtual boost::json::object& ctx() = 0;
  // The user; call UserChanged() after changing it so that it is saved.
  virtual storage::UserRecord& user() = 0;
  virtual void UserChanged() = 0;
  // `.data(...)` written on this use of the node, or null.
  virtual const boost::json::value* data() const = 0;
  // The node's own persistent state across suspensions (empty on the first call).
  virtual boost::json::object& frame() = 0;
  // Non-null when this call wakes the node from a suspension it registered.
  virtual const Wakeup* wakeup() const = 0;
  // Registers a wait for an event of `type` for this user; returns its wait id.
  virtual int64_t WaitForEvent(const std::string& type) = 0;
  // Registers a timer at `due_ms`; returns its wait id.
  virtual int64_t WaitUntil(int64_t due_ms) = 0;
  // Registers a wait for an event of `type` that times out at `due_ms`, as one wakeup with one
  // wait id (the Wakeup's kind tells which came first; the other is gone with it).
  virtual int64_t WaitForEventUntil(const std::string& type, int64_t due_ms) = 0;
  // Replaces the execution's current event (after a wait_event matched).
  virtual void SetEvent(const boost::json::value& event) = 0;
  // Events of `type` for this user in the last `window_ms`.
  virtual int64_t CountEvents(std::string_view type, int64_t window_ms) = 0;
  // The execution's id, chain and flow time zone (for quiet hours and windows).
  virtual int64_t execution_id() const = 0;
  virtual const std::string& chain() const = 0;
  // The flow's `tz:` ("" when it has none): local-time windows fall back to it when the user's
  // time zone is unknown.
  virtual const std::string& flow_time_zone() const {
    static const std::string kNone;
    return kNone;
  }
  // Hands a rendered message over (recorded with a deterministic key: execution, node,
  // iteration). Returns false and an error when it cannot be queued.
  virtual bool Send(SendRequest request, std::string& error) = 0;
  // True while the execution's flow is paused: sends are held (the node waits and looks again
  // later) instead of going out.
  virtual bool SendsHeld() const { return false; }
  // A line about what the node did, for `reach run` and debug logs.
  virtual void Note(std::string line) = 0;
  // Whether notes are read at all: a node builds a costly note only when this is true.
  virtual bool noting() const { return true; }
};

class NodeExecutor {
 public:
  virtual ~NodeExecutor() = default;
  // Runs a node of this kind once. Must not block on I/O: anything slow is a suspension or
  // goes through Send.
  virtual NodeOutcome Execute(const dsl::NodeDef& node, NodeContext& context) const = 0;
};

// Node executors by `type:` name.
class NodeExecutorRegistry {
 public:
  void Register(std::string type, std::unique_ptr<NodeExecutor> executor) {
    executors_[std::move(type)] = std::move(executor);
  }
  const NodeExecutor* Find(std::string_view type) const {
    auto it = executors_.find(type);
    return it == executors_.end() ? nullptr : it->second.get();
  }

 private:
  std::map<std::string, std::unique_ptr<NodeExecutor>, std::less<>> executors_;
};

}  // namespace reach::engine
