#pragma once
// `noop`: does nothing and succeeds. For tests and scaffolding. Takes no fields of its own.

#include <memory>
#include <string_view>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct NoopConfig final : public dsl::NodeConfig {};

class NoopKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "noop";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kCommon; }
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
