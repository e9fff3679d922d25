#pragma once
// `set`: sets user traits and/or fields of the execution's `ctx`. `traits:` and `ctx:` are maps
// from a field name to an expression, evaluated in file order; at least one assignment in all.
//
//   - id: remember
//     type: set
//     traits: { last_campaign: '"spring_sale"', score: 'user.score + 10' }
//     ctx: { coupon: 'event.coupon_code' }
//
// Every value is an expression, so a literal string needs its own quotes inside the YAML ones.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct SetConfig final : public dsl::NodeConfig {
  using Assignments = std::vector<std::pair<std::string, std::shared_ptr<const dsl::Expression>>>;
  // `traits:`: trait name -> value, in file order.
  Assignments traits;
  // `ctx:`: ctx field name -> value, in file order.
  Assignments ctx;
};

class SetKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "set";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kCommon; }
  // Evaluates every expression first, then writes: an error (Failed(ExpressionError)) leaves
  // the user and ctx untouched, and every value sees the data as it was before the node.
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
