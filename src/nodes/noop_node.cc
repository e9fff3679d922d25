#include "nodes/noop_node.h"

namespace reach::nodes {

std::shared_ptr<const dsl::NodeConfig> NoopKind::Compile(dsl::FieldReader& fields) const {
  // No fields to read: Finish() reports anything beyond the common ones.
  if (fields.failed()) return nullptr;
  return std::make_shared<NoopConfig>();
}

engine::NodeOutcome NoopKind::Execute(const dsl::NodeDef&, engine::NodeContext&) const {
  return engine::NodeOutcome::Done();
}

}  // namespace reach::nodes
