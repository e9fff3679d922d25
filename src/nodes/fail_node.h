#pragma once
// `fail`: raises an error, failing the node (and its THEN, unless a CATCH holds it). For tests
// and scaffolding.
//
//   - id: boom
//     type: fail
//     message: "coupon service is down"

#include <memory>
#include <string>
#include <string_view>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct FailConfig final : public dsl::NodeConfig {
  // `message:` (optional): the error's text; the default names the node kind.
  std::string message = "failed by a fail node";
};

class FailKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "fail";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kCommon; }
  // Failed(message, "FailNode").
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
