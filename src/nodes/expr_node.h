#pragma once
// `expr`: computes `value:` and, by its static type, serves as
//   number -> FOR(x) count        list -> ITERATOR(x) items (the current item is `ctx.item`)
//   bool   -> IF / WHILE / BREAK  string -> SWITCH target
//   any (a path into data, type known only at run time) -> any of these; the executor checks
//   the value against the construct using it.
//
//   - id: coupons
//     type: expr
//     value: 'user.coupons'

#include <memory>
#include <string_view>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct ExprConfig final : public dsl::NodeConfig {
  // `value:` (required): the expression computed each time the node runs.
  std::shared_ptr<const dsl::Expression> value;
  // The role implied by `value`'s static type (see the table above).
  dsl::NodeRole role = dsl::NodeRole::kAny;
};

class ExprKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "expr";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  // `config` must be the ExprConfig this spec compiled.
  dsl::NodeRole Role(const dsl::NodeConfig& config) const override;
  // Done(value as JSON); the construct using it checks the kind. Failed(ExpressionError).
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
