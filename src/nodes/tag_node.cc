#include "nodes/tag_node.h"

#include <algorithm>

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

}  // namespace reach::nodes
