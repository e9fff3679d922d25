#include "nodes/condition_node.h"

#include "nodes/runtime_support.h"

namespace reach::nodes {

std::shared_ptr<const dsl::NodeConfig> ConditionKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<ConditionConfig>();
  config->condition = fields.Expr("if", dsl::ExprType::kBool, /*required=*/true);
  if (fields.failed()) return nullptr;
  return config;
}

engine::NodeOutcome ConditionKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  const auto& config = static_cast<const ConditionConfig&>(*node.config);
  return EvaluateBoolean(*config.condition, ctx.scope(), "if");
}

}  // namespace reach::nodes
