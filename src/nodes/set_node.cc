#include "nodes/set_node.h"

#include <vector>

#include <boost/json/value.hpp>

#include "nodes/field_checks.h"
#include "nodes/runtime_support.h"

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

engine::NodeOutcome SetKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  const auto& config = static_cast<const SetConfig&>(*node.config);
  // All or nothing: every expression is evaluated (against the data as it was before the node)
  // before anything is written, so that an error leaves neither the user nor ctx half-updated.
  // Values are copied out (ToJson) at once: they may borrow from the JSON about to change.
  std::vector<boost::json::value> traits, fields;
  traits.reserve(config.traits.size());
  fields.reserve(config.ctx.size());
  const dsl::Scope& scope = ctx.scope();
  for (const auto& [name, expression] : config.traits) {
    dsl::Value v = expression->Evaluate(scope);
    if (v.is_error()) return ExpressionFailed("traits." + name, v);
    traits.push_back(v.ToJson());
  }
  for (const auto& [name, expression] : config.ctx) {
    dsl::Value v = expression->Evaluate(scope);
    if (v.is_error()) return ExpressionFailed("ctx." + name, v);
    fields.push_back(v.ToJson());
  }
  if (!traits.empty()) {
    boost::json::object& user_traits = ctx.user().traits;
    for (size_t i = 0; i < traits.size(); ++i) user_traits[config.traits[i].first] = std::move(traits[i]);
    ctx.UserChanged();
  }
  boost::json::object& data = ctx.ctx();
  for (size_t i = 0; i < fields.size(); ++i) data[config.ctx[i].first] = std::move(fields[i]);
  return engine::NodeOutcome::Done();
}

}  // namespace reach::nodes
