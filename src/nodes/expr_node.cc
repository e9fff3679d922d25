#include "nodes/expr_node.h"

#include "nodes/runtime_support.h"

namespace reach::nodes {

std::shared_ptr<const dsl::NodeConfig> ExprKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<ExprConfig>();
  config->value = fields.Expr("value", dsl::ExprType::kAny, /*required=*/true);
  if (config->value) {
    switch (config->value->type()) {
      case dsl::ExprType::kNumber: config->role = dsl::NodeRole::kFor; break;
      case dsl::ExprType::kList: config->role = dsl::NodeRole::kIterator; break;
      case dsl::ExprType::kBool: config->role = dsl::NodeRole::kBoolean; break;
      case dsl::ExprType::kString: config->role = dsl::NodeRole::kSwitch; break;
      case dsl::ExprType::kAny: config->role = dsl::NodeRole::kAny; break;
      default:
        fields.ErrorAt("value", "an expr node's value must be a number, list, boolean or string");
    }
  }
  if (fields.failed()) return nullptr;
  return config;
}

dsl::NodeRole ExprKind::Role(const dsl::NodeConfig& config) const {
  // Only ever handed the config Compile made; anything else is a caller's bug, answered with the
  // most permissive role rather than undefined behaviour.
  const auto* expr = dynamic_cast<const ExprConfig*>(&config);
  return expr ? expr->role : dsl::NodeRole::kAny;
}

engine::NodeOutcome ExprKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  const auto& config = static_cast<const ExprConfig&>(*node.config);
  dsl::Value v = config.value->Evaluate(ctx.scope());
  if (v.is_error()) return ExpressionFailed("value", v);
  // The construct that uses the node (FOR, ITERATOR, IF, SWITCH) checks the value's kind.
  return engine::NodeOutcome::Done(v.ToJson());
}

}  // namespace reach::nodes
