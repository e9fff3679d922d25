#include "nodes/fail_node.h"

namespace reach::nodes {

std::shared_ptr<const dsl::NodeConfig> FailKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<FailConfig>();
  if (auto message = fields.String("message")) config->message = *message;
  if (fields.failed()) return nullptr;
  return config;
}

engine::NodeOutcome FailKind::Execute(const dsl::NodeDef& node, engine::NodeContext&) const {
  const auto& config = static_cast<const FailConfig&>(*node.config);
  return engine::NodeOutcome::Failed(config.message.empty() ? "failed" : config.message, "FailNode");
}

}  // namespace reach::nodes
