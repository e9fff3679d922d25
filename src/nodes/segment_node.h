#pragma once
// `segment`: a segment pick. As the first node of a scheduled or manual chain the engine enrolls
// every matching user (evaluated in the store); elsewhere the node is true when the current user
// matches. Takes exactly one of:
//
//   where: 'user.city == "Shanghai" && has_tag("vip")'   # an inline predicate
//   segment: shanghai_vips                                # a segment defined by name elsewhere
//
// Whether a named segment exists is not known here (segments live outside the flow file); the
// engine checks it when the flow is deployed.

#include <memory>
#include <string>
#include <string_view>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct SegmentConfig final : public dsl::NodeConfig {
  // `where:`: a bool expression over `user` (and `event`, `ctx`); null when `segment:` is used.
  std::shared_ptr<const dsl::Expression> where;
  // `segment:`: the name of a stored segment; empty when `where:` is used.
  std::string segment_name;
};

class SegmentKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "segment";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kBoolean; }
  bool GatesWhenFalse() const override { return true; }
  const dsl::Expression* AudienceFilter(const dsl::NodeConfig& config) const override {
    return static_cast<const SegmentConfig&>(config).where.get();
  }
  // Per-user use: `where:` over the current user. A named segment is not available at run time
  // yet: Failed(Unsupported).
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
