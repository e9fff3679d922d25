#pragma once
// `tag`: adds tags to and removes tags from the current user. Takes `add:` and/or `remove:`,
// each a list of tag names (a single name is a one-item list); at least one tag in all.
//
//   - id: thanks
//     type: tag
//     add: [spring_sale_lead]
//     remove: [cold]
//
// Tag names are literal (no templates): flows that filter on them (`has_tag("vip")`) must be
// able to know them by reading the file.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct TagConfig final : public dsl::NodeConfig {
  // `add:`: tags to add, in file order, without duplicates.
  std::vector<std::string> add;
  // `remove:`: tags to remove, in file order, without duplicates; disjoint from `add`.
  std::vector<std::string> remove;
};

class TagKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "tag";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kCommon; }
  // Adds (skipping tags the user has) and removes (every copy); calls UserChanged only when
  // the tags changed.
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
