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
// Percentages are whole numbers above 0 and sum to exactly 100. At run time the user's bucket
// (SplitHash(salt, node id, user id) % 100) picks the branch whose cumulative range holds it.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct SplitConfig final : public dsl::NodeConfig {
  struct Branch {
    std::string name;  // the switch result when this branch is picked
    int percent = 0;   // 1..100
  };
  // `branches:`: in file order; the percentages sum to 100.
  std::vector<Branch> branches;
  // `salt:` (optional): mixed into the per-user hash with the node id (node ids are unique in
  // a flow set), so two split nodes do not pick the same users even without a salt; a new salt
  // reshuffles the users of one node.
  std::string salt;
};

class SplitKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "split";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kSwitch; }
  // Done(branch name) for the current user's bucket.
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

// The per-user hash behind a split: FNV-1a 64 of salt, node id and user id, finalized with
// MurmurHash3's mixer. Stable across builds and platforms (never std::hash): the bucket of a
// user must not move when the binary changes, or a running A/B test would reshuffle.
uint64_t SplitHash(std::string_view salt, std::string_view node_id, std::string_view user_id);

// The branch that owns `bucket` (0..99) by cumulative percentages in file order.
const std::string& PickSplitBranch(const SplitConfig& config, int bucket);

}  // namespace reach::nodes
