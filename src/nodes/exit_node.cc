#include "nodes/exit_node.h"

namespace reach::nodes {

std::shared_ptr<const dsl::NodeConfig> ExitKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<ExitConfig>();
  if (auto reason = fields.String("reason")) config->reason = *reason;
  if (fields.failed()) return nullptr;
  return config;
}

engine::NodeOutcome ExitKind::Execute(const dsl::NodeDef& node, engine::NodeContext&) const {
  return engine::NodeOutcome::Exit(static_cast<const ExitConfig&>(*node.config).reason);
}

}  // namespace reach::nodes
