#include "nodes/set_node.h"

#include "nodes/field_checks.h"

namespace reach::nodes {
namespace {

void ReadAssignments(dsl::FieldReader& fields, std::string_view key, SetConfig::Assignments& out) {
  const dsl::YamlNode* map = ReadMap(fields, key);
  if (!map) return;
  if (map->entries.empty()) {
    fields.ErrorAt(*map, "field '" + std::string(key) + "' sets nothing: give it name: expression pairs");
    return;
  }
  for (size_t i = 0; i < map->entries.size(); ++i) {
    const auto& [name, value] = map->entries[i];
    if (name.empty()) {
      dsl::YamlNode at;
      at.where = map->key_locations[i];
      fields.ErrorAt(at, "a field name in '" + std::string(key) + "' is empty");
      continue;
    }
    auto expr = fields.ExprAt(value, dsl::ExprType::kAny, "field '" + std::string(key) + "." + name + "'");
    if (expr) out.emplace_back(name, std::move(expr));
  }
}

}  // namespace

std::shared_ptr<const dsl::NodeConfig> SetKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<SetConfig>();
  const bool has_traits = fields.Get("traits") != nullptr;
  const bool has_ctx = fields.Get("ctx") != nullptr;
  if (!has_traits && !has_ctx) {
    fields.ErrorAt("traits", "node kind 'set' needs 'traits' or 'ctx' (a map of name: expression)");
    return nullptr;
  }
  ReadAssignments(fields, "traits", config->traits);
  ReadAssignments(fields, "ctx", config->ctx);
  if (fields.failed()) return nullptr;
  return config;
}

}  // namespace reach::nodes
