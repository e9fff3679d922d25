#pragma once
// `condition`: a boolean component for IF / WHILE / BREAK / AND / OR / NOT.
//
//   - id: new_follower
//     type: condition
//     if: 'event.type == "subscribe" && !has_tag("blocked")'
//
// At run time the node is `if:` over user / event / ctx: Done(true|false). A runtime error is
// Failed(ExpressionError), a non-boolean Failed(TypeError). As a step of a sequence (not the
// condition of an IF) a false result ends the execution there (GatesWhenFalse).

#include <memory>
#include <string_view>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct ConditionConfig final : public dsl::NodeConfig {
  // `if:` (required): the node's result; its static type is bool, or any (checked at run time).
  std::shared_ptr<const dsl::Expression> condition;
};

class ConditionKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "condition";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kBoolean; }
  bool GatesWhenFalse() const override { return true; }
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
