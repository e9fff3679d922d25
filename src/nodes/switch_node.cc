#include "nodes/switch_node.h"

#include "nodes/runtime_support.h"

namespace reach::nodes {

std::shared_ptr<const dsl::NodeConfig> SwitchKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<SwitchConfig>();
  config->target = fields.Expr("to", dsl::ExprType::kString, /*required=*/true);
  if (fields.failed()) return nullptr;
  return config;
}

engine::NodeOutcome SwitchKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  const auto& config = static_cast<const SwitchConfig&>(*node.config);
  dsl::Value v = config.target->Evaluate(ctx.scope());
  if (v.is_error()) return ExpressionFailed("to", v);
  // null (a missing field) is LiteFlow's blank result: the executor takes DEFAULT.
  if (v.is_null()) return engine::NodeOutcome::Done("");
  if (v.kind() != dsl::Value::Kind::kString) return TypeFailed("to", "a node id or tag:name string", v);
  return engine::NodeOutcome::Done(v.ToJson());
}

}  // namespace reach::nodes
