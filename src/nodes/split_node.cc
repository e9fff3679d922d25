#include "nodes/split_node.h"

#include <boost/json/value.hpp>

#include "nodes/field_checks.h"

namespace reach::nodes {

std::shared_ptr<const dsl::NodeConfig> SplitKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<SplitConfig>();
  if (auto salt = fields.String("salt")) config->salt = *salt;
  const dsl::YamlNode* branches = ReadMap(fields, "branches", /*required=*/true);
  if (!branches) return nullptr;
  if (branches->entries.empty()) {
    fields.ErrorAt(*branches, "field 'branches' needs at least one branch: name: percent");
    return nullptr;
  }
  int64_t sum = 0;
  bool values_ok = true;
  for (const auto& [name, value] : branches->entries) {
    boost::json::value json = value.ToJson();
    if (!json.is_int64() || json.as_int64() < 1 || json.as_int64() > 100) {
      fields.ErrorAt(value, "branch '" + name + "' must have a whole percentage from 1 to 100, not " +
                                (value.is_scalar() ? "'" + value.scalar + "'" : std::string(value.Describe())));
      values_ok = false;
      continue;
    }
    sum += json.as_int64();
    config->branches.push_back({name, static_cast<int>(json.as_int64())});
  }
  if (values_ok && sum != 100)
    fields.ErrorAt(*branches, "the percentages in field 'branches' sum to " + std::to_string(sum) +
                                  ", not 100");
  if (fields.failed()) return nullptr;
  return config;
}

uint64_t SplitHash(std::string_view salt, std::string_view node_id, std::string_view user_id) {
  // FNV-1a 64 over the three parts with a separator byte that ids do not contain (so that
  // ("ab", "c") and ("a", "bc") differ), then MurmurHash3's 64-bit finalizer: FNV-1a alone
  // spreads nearby inputs ("user1", "user2") poorly in its low digits, which is where % 100
  // looks. Both are fixed arithmetic: the same bucket on every build, platform and version.
  uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](std::string_view part) {
    for (unsigned char c : part) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0x1f;
    h *= 1099511628211ULL;
  };
  mix(salt);
  mix(node_id);
  mix(user_id);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

const std::string& PickSplitBranch(const SplitConfig& config, int bucket) {
  int cumulative = 0;
  for (const SplitConfig::Branch& branch : config.branches) {
    cumulative += branch.percent;
    if (bucket < cumulative) return branch.name;
  }
  return config.branches.back().name;  // unreachable when the percentages sum to 100
}

engine::NodeOutcome SplitKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  const auto& config = static_cast<const SplitConfig&>(*node.config);
  int bucket = static_cast<int>(SplitHash(config.salt, node.id, ctx.user().id) % 100);
  return engine::NodeOutcome::Done(boost::json::string(PickSplitBranch(config, bucket)));
}

}  // namespace reach::nodes
