#include "nodes/field_checks.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace reach::nodes {
namespace {
std::string FieldName(std::string_view path) { return "field '" + std::string(path) + "'"; }

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  return true;
}
std::string QuotedList(const std::vector<std::string_view>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += "'" + std::string(words[i]) + "'";
  }
  return out;
}

bool CheckKeyList(dsl::FieldReader& fields, const dsl::YamlNode& map, std::string_view path,
                  const std::vector<std::string_view>& allowed) {
  std::vector<std::string> candidates(allowed.begin(), allowed.end());
  bool ok = true;
  for (size_t i = 0; i < map.entries.size(); ++i) {
    const std::string& key = map.entries[i].first;
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string message = "unknown field '" + key + "' in '" + std::string(path) + "'";
    std::string hint = dsl::ClosestMatch(key, candidates);
    if (!hint.empty()) message += " (did you mean '" + hint + "'?)";
    else message += " (expected " + QuotedList(allowed) + ")";
    dsl::YamlNode at;  // ErrorAt takes a node; the key's own location is what we want to show
    at.where = i < map.key_locations.size() ? map.key_locations[i] : map.where;
    fields.ErrorAt(at, std::move(message));
    ok = false;
  }
  return ok;
}

}  // namespace

std::string QuotedAlternatives(std::initializer_list<std::string_view> words) {
  return QuotedList(std::vector<std::string_view>(words));
}

std::optional<std::string> ReadOneOf(dsl::FieldReader& fields, std::string_view key,
                                     std::initializer_list<std::string_view> allowed, bool required) {
  auto value = fields.String(key, required);
  if (!value) return std::nullopt;
  for (std::string_view a : allowed)
    if (*value == a) return value;
  std::string list;
  for (std::string_view a : allowed) {
    if (!list.empty()) list += ", ";
    list += a;
  }
  fields.ErrorAt(key, FieldName(key) + " must be one of " + list + ", not '" + *value + "'");
  return std::nullopt;
}

std::optional<std::string> ReadExactlyOneOf(dsl::FieldReader& fields,
                                            std::initializer_list<std::string_view> keys) {
  std::vector<std::string_view> present;
  for (std::string_view k : keys)
    if (fields.Get(k)) present.push_back(k);
  const std::string kind = "node kind '" + fields.type() + "'";
  if (present.empty()) {
    // None of the keys is present, so ErrorAt reports at the declaration.
    fields.ErrorAt(*keys.begin(), kind + " needs one of " + QuotedAlternatives(keys));
    return std::nullopt;
  }
  if (present.size() > 1) {
    fields.ErrorAt(present[1], kind + " takes one of " + QuotedAlternatives(keys) + ", not both '" +
                                   std::string(present[0]) + "' and '" + std::string(present[1]) + "'");
    return std::nullopt;
  }
  return std::string(present[0]);
}

bool RejectField(dsl::FieldReader& fields, std::string_view key, std::string_view why) {
  if (!fields.Get(key)) return true;
  fields.ErrorAt(key, std::string(why));
  return false;
}

const dsl::YamlNode* ReadMap(dsl::FieldReader& fields, std::string_view key, bool required) {
  const dsl::YamlNode* node = required ? fields.Require(key) : fields.Get(key);
  if (!node) return nullptr;
  if (!node->is_map()) {
    fields.ErrorAt(*node, FieldName(key) + " must be a map, not " + std::string(node->Describe()));
    return nullptr;
  }
  return node;
}

bool CheckKeys(dsl::FieldReader& fields, const dsl::YamlNode& map, std::string_view path,
               std::initializer_list<std::string_view> allowed) {
  return CheckKeyList(fields, map, path, std::vector<std::string_view>(allowed));
}

const dsl::YamlNode* RequireSub(dsl::FieldReader& fields, const dsl::YamlNode& map,
                                std::string_view path, std::string_view key) {
  const dsl::YamlNode* node = map.Find(key);
  if (!node) fields.ErrorAt(map, FieldName(path) + " needs '" + std::string(key) + "'");
  return node;
}

size_t UnclosedTemplateTag(std::string_view text) {
  size_t pos = 0;
  while ((pos = text.find("{{", pos)) != std::string_view::npos) {
    size_t close = text.find("}}", pos + 2);
    size_t next_open = text.find("{{", pos + 2);
    if (close == std::string_view::npos || (next_open != std::string_view::npos && next_open < close))
      return pos;
    pos = close + 2;
  }
  return std::string_view::npos;
}

std::optional<std::string> TemplateAt(dsl::FieldReader& fields, const dsl::YamlNode& node,
                                      std::string_view path) {
  if (!node.is_scalar()) {
    fields.ErrorAt(node, FieldName(path) + " must be a string, not " + std::string(node.Describe()));
    return std::nullopt;
  }
  if (UnclosedTemplateTag(node.scalar) != std::string_view::npos) {
    fields.ErrorAt(node, "unclosed template tag '{{' in " + FieldName(path));
    return std::nullopt;
  }
  return node.scalar;
}

std::optional<boost::json::object> ReadSubMap(dsl::FieldReader& fields, const dsl::YamlNode& node,
                                              std::string_view path,
                                              std::initializer_list<SubField> sub_fields) {
  if (!node.is_map()) {
    fields.ErrorAt(node, FieldName(path) + " must be a map, not " + std::string(node.Describe()));
    return std::nullopt;
  }
  std::vector<std::string_view> keys;
  for (const SubField& f : sub_fields) keys.push_back(f.key);
  bool ok = CheckKeyList(fields, node, path, keys);
  boost::json::object out;
  for (const SubField& f : sub_fields) {
    const dsl::YamlNode* value = f.required ? RequireSub(fields, node, path, f.key) : node.Find(f.key);
    if (!value) {
      ok = ok && !f.required;
      continue;
    }
    if (f.type == SubField::Type::kByCaller) continue;
    const std::string sub_path = std::string(path) + "." + std::string(f.key);
    if (f.type == SubField::Type::kBool) {
      if (!value->IsPlainBool()) {
        fields.ErrorAt(*value, FieldName(sub_path) + " must be true or false");
        ok = false;
        continue;
      }
      out[f.key] = value->ToJson();
      continue;
    }
    auto text = TemplateAt(fields, *value, sub_path);
    if (!text) {
      ok = false;
      continue;
    }
    if (f.type == SubField::Type::kUrl && !LooksLikeHttpUrl(*text)) {
      fields.ErrorAt(*value, FieldName(sub_path) + " must be an http:// or https:// URL, not '" + *text + "'");
      ok = false;
      continue;
    }
    out[f.key] = *text;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::string ReadAppName(dsl::FieldReader& fields) {
  auto app = fields.String("app");
  if (!app) return "default";
  bool ok = !app->empty();
  for (char c : *app) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (!ok)
    fields.ErrorAt("app", "field 'app' must name a configured app (letters, digits, '_', '-', '.'), not '" + *app + "'");
  return *app;
}

std::optional<std::vector<std::string>> ReadTemplateList(dsl::FieldReader& fields, std::string_view key) {
  const dsl::YamlNode* node = fields.Get(key);
  if (!node) return std::nullopt;
  std::vector<std::string> out;
  if (node->is_scalar()) {
    auto text = fields.Template(key);
    if (!text) return std::nullopt;
    out.push_back(*text);
    return out;
  }
  if (!node->is_sequence()) {
    fields.ErrorAt(*node, FieldName(key) + " must be a string or a list of strings, not " +
                              std::string(node->Describe()));
    return std::nullopt;
  }
  bool ok = true;
  for (size_t i = 0; i < node->items.size(); ++i) {
    auto text = TemplateAt(fields, node->items[i], std::string(key) + "[" + std::to_string(i) + "]");
    if (text) out.push_back(*text);
    else ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

bool LooksLikeHttpUrl(std::string_view text) {
  if (text.substr(0, 2) == "{{") return true;
  for (std::string_view scheme : {"http://", "https://"})
    if (StartsWithNoCase(text, scheme) && text.size() > scheme.size()) return true;
  return false;
}

}  // namespace reach::nodes
