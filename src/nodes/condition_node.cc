#include "nodes/condition_node.h"

namespace reach::nodes {

std::shared_ptr<const dsl::NodeConfig> ConditionKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<ConditionConfig>();
  config->condition = fields.Expr("if", dsl::ExprType::kBool, /*required=*/true);
  if (fields.failed()) return nullptr;
  return config;
}

}  // namespace reach::nodes
