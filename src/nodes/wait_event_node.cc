#include "nodes/wait_event_node.h"

#include <boost/json/value.hpp>

#include "common/time_util.h"

namespace reach::nodes {
namespace {

// Frame keys (stored with every waiting execution, so kept short):
//   e  the event wait's id      t  the timeout timer's id      d  the deadline (Unix ms)
constexpr std::string_view kEventWait = "e";
constexpr std::string_view kTimer = "t";
constexpr std::string_view kDeadline = "d";

int64_t GetInt(const boost::json::object& frame, std::string_view key) {
  const boost::json::value* v = frame.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : -1;
}

}  // namespace

std::shared_ptr<const dsl::NodeConfig> WaitEventKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<WaitEventConfig>();
  if (auto event = fields.String("event", /*required=*/true)) {
    if (event->empty()) fields.ErrorAt("event", "field 'event' must name an event type, not be empty");
    config->event_type = *event;
  }
  config->match = fields.Expr("match", dsl::ExprType::kBool);
  config->timeout_millis = fields.DurationMillis("timeout");
  if (fields.failed()) return nullptr;
  return config;
}

engine::NodeOutcome WaitEventKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  using engine::NodeOutcome;
  using engine::Wakeup;
  const auto& config = static_cast<const WaitEventConfig&>(*node.config);
  boost::json::object& frame = ctx.frame();

  if (frame.empty()) {
    // First call: register the event wait and the deadline, then sleep.
    const int64_t timeout = node.timeout_millis > 0 ? node.timeout_millis : config.timeout_millis.value_or(0);
    if (timeout > 0) {
      // One wakeup for both: the event or the deadline, whichever comes first.
      const int64_t deadline = ctx.NowMillis() + timeout;
      const int64_t id = ctx.WaitForEventUntil(config.event_type, deadline);
      frame.reserve(3);  // one table for the three keys
      frame[kEventWait] = id;
      frame[kTimer] = id;
      frame[kDeadline] = deadline;
      if (ctx.noting()) ctx.Note("waiting for " + config.event_type + " until " + FormatTimestamp(deadline));
    } else {
      frame[kEventWait] = ctx.WaitForEvent(config.event_type);
      if (ctx.noting()) ctx.Note("waiting for " + config.event_type + " (no timeout)");
    }
    return NodeOutcome::Suspended();
  }

  const Wakeup* wakeup = ctx.wakeup();
  if (!wakeup) return NodeOutcome::Suspended();  // a re-run that is not for this node
  const int64_t deadline = GetInt(frame, kDeadline);

  if (wakeup->kind == Wakeup::Kind::kTimer) {
    if (wakeup->wait_id != GetInt(frame, kTimer)) return NodeOutcome::Suspended();
    if (ctx.noting()) ctx.Note("no matching " + config.event_type + " by " + FormatTimestamp(deadline) + ": false");
    return NodeOutcome::Done(false);  // the timeout is the node's false result, not a failure
  }

  if (wakeup->wait_id != GetInt(frame, kEventWait) || !wakeup->event_json) return NodeOutcome::Suspended();
  // An event that reaches us after the deadline (the timer is due but not fired yet) is late:
  // the answer is the timeout's, whatever the order the engine sees them in.
  if (deadline >= 0 && ctx.NowMillis() >= deadline) {
    if (ctx.noting()) ctx.Note(config.event_type + " came after the deadline " + FormatTimestamp(deadline) + ": false");
    return NodeOutcome::Done(false);
  }
  if (config.match) {
    dsl::Scope scope = ctx.scope();
    scope.event = wakeup->event_json;
    dsl::Value v = config.match->Evaluate(scope);
    // A runtime error against one event (a field of the wrong type, say) is that event not
    // matching: one malformed event must not end a wait of days. The note keeps it visible.
    if (v.is_error()) {
      if (ctx.noting()) ctx.Note("match: " + std::string(v.as_string()) + " (event ignored, still waiting)");
      return NodeOutcome::Suspended();
    }
    if (v.kind() != dsl::Value::Kind::kBool || !v.as_bool()) return NodeOutcome::Suspended();
  }
  ctx.SetEvent(*wakeup->event_json);
  if (ctx.noting()) ctx.Note("got " + config.event_type + ": true");
  return NodeOutcome::Done(true);
}

}  // namespace reach::nodes
