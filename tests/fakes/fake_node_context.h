#pragma once
// FakeNodeContext: an in-memory engine::NodeContext for node-kind tests. A manual clock, one
// user, the execution's event and ctx, and a record of everything a node asked for: waits,
// timers, sends and notes. No store, no executor.
//
// Run() calls a node the way the executor's RunNode does: the node's frame persists between
// calls while it is suspended, and is cleared (with its waits and timers) when it finishes.
// The JSON view of the user that expressions see is rebuilt before each call and after
// UserChanged(), as the executor does.
//
//   FakeNodeContext ctx;
//   ctx.user_record.identities["openid"] = "o-1";
//   engine::NodeOutcome out = ctx.Run(executor, node);  // first call
//   out = ctx.FireTimer(executor, node);                // the earliest timer comes due

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "dsl/expression.h"
#include "dsl/flow_graph.h"
#include "engine/node_executor.h"
#include "storage/records.h"

namespace reach::testing {

class FakeNodeContext final : public engine::NodeContext, public dsl::EvalHost {
 public:
  // A wait, a timer or both (a wait with its timeout, one id) the node registered and that
  // has not been removed.
  struct Registered {
    int64_t id = 0;
    std::string event_type;  // event waits
    int64_t due_ms = -1;     // timers
    bool is_timer() const { return due_ms >= 0; }
    bool is_wait() const { return !event_type.empty(); }
  };

  // ---- state a test sets up and inspects ----
  int64_t now_ms = 1'767'225'600'000;  // 2026-01-01T00:00:00Z, a Thursday
  storage::UserRecord user_record;
  boost::json::value event = nullptr;             // the execution's event
  boost::json::value ctx_json = boost::json::object();
  const boost::json::value* node_data = nullptr;  // `.data(...)`
  std::string chain_name = "main";
  std::map<std::string, int64_t, std::less<>> event_counts;  // CountEvents answers

  boost::json::object node_frame;                 // what frame() returns
  std::vector<Registered> registered;             // live waits and timers
  std::vector<engine::SendRequest> sends;
  std::vector<std::string> notes;
  int user_changes = 0;
  bool refuse_sends = false;                      // Send fails with send_error
  std::string send_error = "outbox is full";

  FakeNodeContext() { user_record.id = "u1"; }

  // Calls `node`'s executor once, with `wakeup` (null for a first call or a plain re-run).
  // After Done / Failed / Exit the frame and the node's waits are removed, as the executor does.
  engine::NodeOutcome Run(const engine::NodeExecutor& executor, const dsl::NodeDef& node,
                          const engine::Wakeup* wakeup = nullptr) {
    SyncUser();
    wakeup_ = wakeup;
    engine::NodeOutcome out = executor.Execute(node, *this);
    wakeup_ = nullptr;
    if (out.kind != engine::NodeOutcome::Kind::kSuspended) {
      registered.clear();
      node_frame.clear();
    }
    return out;
  }

  // Delivers an event of `type` with `properties` to the node's wait for that type (the
  // engine's event path). The event is {type, user_id, properties, timestamp, message_id}.
  engine::NodeOutcome DeliverEvent(const engine::NodeExecutor& executor, const dsl::NodeDef& node,
                                   std::string type, boost::json::object properties) {
    const Registered* wait = Find([&](const Registered& r) { return r.is_wait() && r.event_type == type; });
    if (!wait) return engine::NodeOutcome::Failed("test: no wait for " + type, "Test");
    storage::EventRecord record;
    record.type = type;
    record.user_id = user_record.id;
    record.properties = properties;
    record.timestamp_ms = now_ms;
    boost::json::value json = boost::json::object{{"type", type},
                                                  {"user_id", user_record.id},
                                                  {"properties", std::move(properties)},
                                                  {"message_id", "m" + std::to_string(++events_)}};
    engine::Wakeup wakeup;
    wakeup.kind = engine::Wakeup::Kind::kEvent;
    wakeup.wait_id = wait->id;
    wakeup.event = &record;
    wakeup.event_json = &json;
    return Run(executor, node, &wakeup);
  }

  // Moves the clock to the earliest registered timer and fires it.
  engine::NodeOutcome FireTimer(const engine::NodeExecutor& executor, const dsl::NodeDef& node) {
    const Registered* timer = nullptr;
    for (const Registered& r : registered)
      if (r.is_timer() && (!timer || r.due_ms < timer->due_ms)) timer = &r;
    if (!timer) return engine::NodeOutcome::Failed("test: no timer", "Test");
    now_ms = std::max(now_ms, timer->due_ms);
    engine::Wakeup wakeup;
    wakeup.kind = engine::Wakeup::Kind::kTimer;
    wakeup.wait_id = timer->id;
    return Run(executor, node, &wakeup);
  }

  std::vector<Registered> timers() const { return Filter(true); }
  std::vector<Registered> event_waits() const { return Filter(false); }

  // ---- engine::NodeContext ----
  int64_t NowMillis() const override { return now_ms; }
  const dsl::Scope& scope() const override { return scope_; }
  boost::json::object& ctx() override { return ctx_json.as_object(); }
  storage::UserRecord& user() override { return user_record; }
  void UserChanged() override {
    ++user_changes;
    SyncUser();
  }
  const boost::json::value* data() const override { return node_data; }
  boost::json::object& frame() override { return node_frame; }
  const engine::Wakeup* wakeup() const override { return wakeup_; }
  int64_t WaitForEvent(const std::string& type) override {
    registered.push_back({next_id_, type, -1});
    return next_id_++;
  }
  int64_t WaitUntil(int64_t due_ms) override {
    registered.push_back({next_id_, "", due_ms});
    return next_id_++;
  }
  int64_t WaitForEventUntil(const std::string& type, int64_t due_ms) override {
    registered.push_back({next_id_, type, due_ms});
    return next_id_++;
  }
  void SetEvent(const boost::json::value& e) override { event = e; }
  int64_t CountEvents(std::string_view type, int64_t window_ms) override {
    return static_cast<const FakeNodeContext*>(this)->CountEvents(type, window_ms);
  }
  int64_t execution_id() const override { return 1; }
  const std::string& chain() const override { return chain_name; }
  bool Send(engine::SendRequest request, std::string& error) override {
    if (refuse_sends) {
      error = send_error;
      return false;
    }
    sends.push_back(std::move(request));
    return true;
  }
  void Note(std::string line) override { notes.push_back(std::move(line)); }

  // ---- dsl::EvalHost ----
  int64_t CountEvents(std::string_view type, int64_t) const override {
    auto it = event_counts.find(type);
    return it == event_counts.end() ? 0 : it->second;
  }

 private:
  // The user as expressions see it (engine::UserJson's shape; the engine is not linked here).
  void SyncUser() {
    boost::json::object o;
    o["id"] = user_record.id;
    o["traits"] = user_record.traits;
    o["tags"] = user_record.tags;
    o["timezone"] = user_record.timezone;
    o["identities"] = user_record.identities;
    o["subscriptions"] = user_record.subscriptions;
    user_json_ = std::move(o);
    scope_.user = &user_json_;
    scope_.event = &event;
    scope_.ctx = &ctx_json;
    scope_.host = this;
  }
  template <class Pred>
  const Registered* Find(Pred pred) const {
    auto it = std::find_if(registered.begin(), registered.end(), pred);
    return it == registered.end() ? nullptr : &*it;
  }
  std::vector<Registered> Filter(bool want_timers) const {
    std::vector<Registered> out;
    for (const Registered& r : registered)
      if (want_timers ? r.is_timer() : r.is_wait()) out.push_back(r);
    return out;
  }

  const engine::Wakeup* wakeup_ = nullptr;
  boost::json::value user_json_;
  dsl::Scope scope_;
  int64_t next_id_ = 1;
  int events_ = 0;
};

}  // namespace reach::testing
