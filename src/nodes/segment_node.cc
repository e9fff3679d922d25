#include "nodes/segment_node.h"

#include "nodes/field_checks.h"

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

}  // namespace reach::nodes
