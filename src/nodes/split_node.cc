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

}  // namespace reach::nodes
