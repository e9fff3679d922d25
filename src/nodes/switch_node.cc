#include "nodes/switch_node.h"

namespace reach::nodes {

std::shared_ptr<const dsl::NodeConfig> SwitchKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<SwitchConfig>();
  config->target = fields.Expr("to", dsl::ExprType::kString, /*required=*/true);
  if (fields.failed()) return nullptr;
  return config;
}

}  // namespace reach::nodes
