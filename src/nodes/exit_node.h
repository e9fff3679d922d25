#pragma once
// `exit`: ends the execution as completed (a goal reached, a user who opted out), wherever it
// is: inside a loop, a WHEN branch or a CATCH, nothing after it runs.
//
//   - id: converted
//     type: exit
//     reason: goal_reached

#include <memory>
#include <string>
#include <string_view>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct ExitConfig final : public dsl::NodeConfig {
  // `reason:` (optional): recorded on the execution and in its stats; empty when not given.
  std::string reason;
};

class ExitKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "exit";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kCommon; }
  bool EndsExecution() const override { return true; }
  // NodeOutcome::Exit(reason).
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
