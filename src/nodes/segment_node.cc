#include "nodes/segment_node.h"

#include "nodes/field_checks.h"
#include "nodes/runtime_support.h"

namespace reach::nodes {

std::shared_ptr<const dsl::NodeConfig> SegmentKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<SegmentConfig>();
  auto which = ReadExactlyOneOf(fields, {"where", "segment"});
  if (which == "where") {
    config->where = fields.Expr("where", dsl::ExprType::kBool);
  } else if (which == "segment") {
    if (auto name = fields.String("segment")) {
      if (name->empty()) fields.ErrorAt("segment", "field 'segment' must name a segment, not be empty");
      config->segment_name = *name;
    }
  }
  if (fields.failed()) return nullptr;
  return config;
}

engine::NodeOutcome SegmentKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  const auto& config = static_cast<const SegmentConfig&>(*node.config);
  // Named segments live in the store (defined outside flow files); neither the store side nor
  // a way for a node to ask it exists yet. Say so rather than guess.
  if (!config.where) return engine::NodeOutcome::Failed("named segments are not available yet", "Unsupported");
  return EvaluateBoolean(*config.where, ctx.scope(), "where");
}

}  // namespace reach::nodes
