#include "nodes/exit_node.h"

namespace reach::nodes {

std::shared_ptr<const dsl::NodeConfig> ExitKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<ExitConfig>();
  if (auto reason = fields.String("reason")) config->reason = *reason;
  if (fields.failed()) return nullptr;
  return config;
}

}  // namespace reach::nodes
