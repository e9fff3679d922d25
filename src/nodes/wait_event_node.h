#pragma once
// `wait_event`: suspends the execution until an event of type `event:` for the current user
// arrives and satisfies `match:` (the node is then true, and the event becomes `event` for the
// nodes after it), or until `timeout:` passes (the node is false).
//
//   - id: wait_form
//     type: wait_event
//     event: form_submitted
//     match: 'event.form_id == "spring-sale"'
//     timeout: 3d
//
// `timeout` is also one of the common fields the compiler reads for every node; for this kind it
// is the wait's own deadline, and reaching it is the node's false result, not a failure. The spec
// reads it itself (with the same FieldReader reader, so a bad value is reported once: Diagnostics
// drops an identical message at the same place).
//
// At run time: the first call registers the event wait and, with a timeout, a timer at now +
// timeout (NodeDef::timeout_millis, which the compiler fills from the same field; the config's
// copy is the fallback), and suspends. An event wakeup that fails `match:` (or whose `match:`
// errors) leaves it waiting; a matching one becomes the execution's event and the node is true.
// The timer, or an event arriving at or after the deadline, makes it false.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct WaitEventConfig final : public dsl::NodeConfig {
  // `event:` (required): the event type waited for, e.g. "form_submitted".
  std::string event_type;
  // `match:` (optional): a bool expression the event must satisfy; null matches any event.
  std::shared_ptr<const dsl::Expression> match;
  // `timeout:` (optional): how long to wait before the node is false; nullopt waits forever.
  std::optional<int64_t> timeout_millis;
};

class WaitEventKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "wait_event";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kBoolean; }
  bool CanSuspend() const override { return true; }
  // See the file comment; frame keys e (event wait id), t (timer id), d (deadline ms).
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
