#include "nodes/wait_event_node.h"

namespace reach::nodes {

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

}  // namespace reach::nodes
