#pragma once
// `split`: a random split by percentages for A/B tests and holdout groups, deterministic per
// user: the same user (and salt) always lands in the same branch. The chosen branch's name is
// the node's switch result, so SWITCH(ab).TO(variant_a, variant_b) routes by it.
//
//   - id: ab
//     type: split
//     branches: { variant_a: 45, variant_b: 45, holdout: 10 }
//     salt: spring_2026        # optional: a new salt reshuffles users
//
// Percentages are whole numbers above 0 and sum to exactly 100.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/node_kind.h"

namespace reach::nodes {

struct SplitConfig final : public dsl::NodeConfig {
  struct Branch {
    std::string name;  // the switch result when this branch is picked
    int percent = 0;   // 1..100
  };
  // `branches:`: in file order; the percentages sum to 100.
  std::vector<Branch> branches;
  // `salt:` (optional): mixed into the per-user hash; empty means the engine uses the flow name
  // and node id, so two split nodes do not pick the same users.
  std::string salt;
};

class SplitKind final : public dsl::NodeKindSpec {
 public:
  static constexpr std::string_view kType = "split";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kSwitch; }
};

}  // namespace reach::nodes
