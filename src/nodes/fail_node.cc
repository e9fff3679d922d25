#include "nodes/fail_node.h"

namespace reach::nodes {

std::shared_ptr<const dsl::NodeConfig> FailKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<FailConfig>();
  if (auto message = fields.String("message")) config->message = *message;
  if (fields.failed()) return nullptr;
  return config;
}

}  // namespace reach::nodes
