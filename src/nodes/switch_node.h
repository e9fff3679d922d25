#pragma once
// `switch`: the selector of SWITCH(x).TO(a, b).DEFAULT(c). Its expression yields the target:
// a node id, `tag:name`, `:name` or `id:name` (LiteFlow's forms; the executor matches them).
//
//   - id: by_city
//     type: switch
//     to: 'user.city == "Shanghai" ? "sh_offer" : "tag:generic"'

#include <memory>
#include <string_view>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct SwitchConfig final : public dsl::NodeConfig {
  // `to:` (required): a string expression (or any, checked at run time) giving the target.
  std::shared_ptr<const dsl::Expression> target;
};

class SwitchKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "switch";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kSwitch; }
  // Done(target string); null is Done("") (blank: the executor takes DEFAULT); another kind
  // is Failed(TypeError), an error Failed(ExpressionError).
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
