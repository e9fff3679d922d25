#include "nodes/tag_node.h"

#include <algorithm>

#include <boost/json/value.hpp>

namespace reach::nodes {
namespace {

// Reads one list field into `out`, reporting empty names at the item.
void ReadTags(dsl::FieldReader& fields, std::string_view key, std::vector<std::string>& out) {
  auto tags = fields.StringList(key);
  if (!tags) return;
  const dsl::YamlNode* node = fields.Get(key);
  for (size_t i = 0; i < tags->size(); ++i) {
    const std::string& tag = (*tags)[i];
    if (tag.empty()) {
      const dsl::YamlNode& at = node->is_sequence() ? node->items[i] : *node;
      fields.ErrorAt(at, "a tag name in field '" + std::string(key) + "' is empty");
      continue;
    }
    if (std::find(out.begin(), out.end(), tag) == out.end()) out.push_back(tag);
  }
}

}  // namespace

std::shared_ptr<const dsl::NodeConfig> TagKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<TagConfig>();
  const bool has_add = fields.Get("add") != nullptr;
  const bool has_remove = fields.Get("remove") != nullptr;
  if (!has_add && !has_remove) {
    fields.ErrorAt("add", "node kind 'tag' needs 'add' or 'remove' (a list of tag names)");
    return nullptr;
  }
  ReadTags(fields, "add", config->add);
  ReadTags(fields, "remove", config->remove);
  if (fields.failed()) return nullptr;
  if (config->add.empty() && config->remove.empty()) {
    fields.ErrorAt(has_add ? "add" : "remove", "a tag node must add or remove at least one tag");
    return nullptr;
  }
  for (const std::string& tag : config->remove) {
    if (std::find(config->add.begin(), config->add.end(), tag) != config->add.end())
      fields.ErrorAt("remove", "tag '" + tag + "' is both added and removed");
  }
  if (fields.failed()) return nullptr;
  return config;
}

engine::NodeOutcome TagKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  const auto& config = static_cast<const TagConfig&>(*node.config);
  boost::json::array& tags = ctx.user().tags;
  bool changed = false;
  for (const std::string& tag : config.add) {
    if (std::find(tags.begin(), tags.end(), boost::json::value(tag)) != tags.end()) continue;
    tags.emplace_back(tag);
    changed = true;
  }
  for (const std::string& tag : config.remove) {
    // Every copy goes: a store that ever held a duplicate is cleaned up here.
    auto end = std::remove(tags.begin(), tags.end(), boost::json::value(tag));
    if (end == tags.end()) continue;
    tags.erase(end, tags.end());
    changed = true;
  }
  // Only a real change is saved (a user written for nothing is a write and a version bump).
  if (changed) ctx.UserChanged();
  return engine::NodeOutcome::Done();
}

}  // namespace reach::nodes
