// The only file that includes yaml-cpp: converts its tree into YamlNode with positions.
#include "dsl/yaml_doc.h"

#include <cmath>
#include <cstdlib>

#include <boost/json.hpp>
#include <yaml-cpp/yaml.h>

namespace reach::dsl {
namespace {

constexpr int kMaxDepth = 64;  // deeper nesting than this is not a flow file; refuse it

Location LocOf(uint32_t file, const YAML::Mark& mark) {
  if (mark.line < 0) return {file, {0, 0}};
  return {file, {static_cast<uint32_t>(mark.line + 1), static_cast<uint32_t>(mark.column + 1)}};
}

YamlNode Convert(const YAML::Node& node, const SourceSet& sources, uint32_t file, int depth,
                 Diagnostics& diags) {
  YamlNode out;
  out.where = LocOf(file, node.Mark());
  if (depth > kMaxDepth) {
    diags.Error(out.where, "YAML is nested too deeply");
    return out;
  }
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.kind = YamlNode::Kind::kNull;
      // `key: ~` / `key: null` / `key:` all read as null.
      break;
    case YAML::NodeType::Scalar: {
      out.kind = YamlNode::Kind::kScalar;
      out.scalar = node.Scalar();
      size_t off = sources.OffsetOf(file, out.where.pos);
      const std::string& text = sources.text(file);
      char c = off < text.size() ? text[off] : '\0';
      if (c == '\'') out.style = YamlNode::Style::kSingleQuoted;
      else if (c == '"') out.style = YamlNode::Style::kDoubleQuoted;
      else if ((c == '|' || c == '>') && node.Tag() == "!") {
        out.style = YamlNode::Style::kBlock;
        // The content starts on the next non-blank line; its indentation is the column.
        size_t p = text.find('\n', off);
        while (p != std::string::npos && p + 1 < text.size()) {
          size_t q = p + 1, indent = 0;
          while (q < text.size() && text[q] == ' ') ++q, ++indent;
          if (q < text.size() && text[q] != '\n') {
            out.block_indent = static_cast<uint32_t>(indent + 1);
            out.where.pos = sources.PosOf(file, q);
            break;
          }
          p = text.find('\n', q);
        }
      } else if (node.Tag() == "!") {
        out.style = YamlNode::Style::kDoubleQuoted;
      }
      break;
    }
    case YAML::NodeType::Sequence:
      out.kind = YamlNode::Kind::kSequence;
      for (const YAML::Node& item : node) out.items.push_back(Convert(item, sources, file, depth + 1, diags));
      break;
    case YAML::NodeType::Map:
      out.kind = YamlNode::Kind::kMap;
      for (const auto& kv : node) {
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
        if (!kv.first.IsScalar()) diags.Error(LocOf(file, kv.first.Mark()), "map keys must be plain strings");
        Location key_loc = LocOf(file, kv.first.Mark());
        if (out.Find(key)) {
          diags.Error(key_loc, "duplicate key '" + key + "'");
          continue;
        }
        out.entries.push_back(YamlEntry{std::move(key), Convert(kv.second, sources, file, depth + 1, diags)});
        out.key_locations.push_back(key_loc);
        // A null value has no mark of its own: point at its key.
        if (out.entries.back().second.is_null() && out.entries.back().second.where.pos.line == 0)
          out.entries.back().second.where = key_loc;
      }
      break;
  }
  return out;
}

}  // namespace

const YamlNode* YamlNode::Find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

Location YamlNode::LocationOf(size_t offset, const SourceSet& sources) const {
  Location loc = where;
  if (offset > scalar.size()) offset = scalar.size();
  if (style == Style::kBlock && block_indent == 0) return loc;  // no content line: the indicator
  if (style == Style::kBlock) {
    size_t line = 0, line_start = 0;
    for (size_t i = 0; i < offset; ++i)
      if (scalar[i] == '\n') ++line, line_start = i + 1;
    loc.pos.line += static_cast<uint32_t>(line);
    loc.pos.col = block_indent + static_cast<uint32_t>(offset - line_start);
    return loc;
  }
  // Plain and quoted scalars: walk the source text, skipping the quote and escapes, until
  // `offset` characters of the value have gone by.
  const std::string& text = sources.text(where.file);
  size_t p = sources.OffsetOf(where.file, where.pos);
  if (style != Style::kPlain && p < text.size()) ++p;
  for (size_t consumed = 0; consumed < offset && p < text.size(); ++consumed) {
    if (style == Style::kDoubleQuoted && text[p] == '\\') p += 2;
    else if (style == Style::kSingleQuoted && text[p] == '\'' && p + 1 < text.size() && text[p + 1] == '\'') p += 2;
    else ++p;
  }
  loc.pos = sources.PosOf(where.file, std::min(p, text.size()));
  return loc;
}

bool YamlNode::IsPlainBool() const {
  return kind == Kind::kScalar && style == Style::kPlain &&
         (scalar == "true" || scalar == "false" || scalar == "True" || scalar == "False" ||
          scalar == "TRUE" || scalar == "FALSE");
}

bool YamlNode::IsPlainNumber() const {
  if (kind != Kind::kScalar || style != Style::kPlain || scalar.empty()) return false;
  char* end = nullptr;
  std::strtod(scalar.c_str(), &end);
  return end == scalar.c_str() + scalar.size() && scalar != "." && scalar.find_first_of("xXpP") == std::string::npos;
}

boost::json::value YamlNode::ToJson() const {
  switch (kind) {
    case Kind::kNull: return nullptr;
    case Kind::kScalar:
      if (IsPlainBool()) return scalar[0] == 't' || scalar[0] == 'T';
      if (style == Style::kPlain && (scalar == "null" || scalar == "~")) return nullptr;
      if (IsPlainNumber()) {
        bool integral = scalar.find_first_of(".eE") == std::string::npos;
        if (integral) {
          errno = 0;
          long long v = std::strtoll(scalar.c_str(), nullptr, 10);
          if (errno == 0) return static_cast<int64_t>(v);
        }
        return std::strtod(scalar.c_str(), nullptr);
      }
      return boost::json::string(scalar);
    case Kind::kSequence: {
      boost::json::array a;
      for (const YamlNode& item : items) a.push_back(item.ToJson());
      return a;
    }
    case Kind::kMap: {
      boost::json::object o;
      for (const auto& [k, v] : entries) o[k] = v.ToJson();
      return o;
    }
  }
  return nullptr;
}

std::string_view YamlNode::Describe() const {
  switch (kind) {
    case Kind::kNull: return "nothing";
    case Kind::kScalar: return IsPlainNumber() ? "a number" : IsPlainBool() ? "a boolean" : "a string";
    case Kind::kSequence: return "a list";
    case Kind::kMap: return "a map";
  }
  return "?";
}

YamlNode ParseYaml(const SourceSet& sources, uint32_t file, Diagnostics& diags) {
  try {
    YAML::Node root = YAML::Load(sources.text(file));
    return Convert(root, sources, file, 0, diags);
  } catch (const YAML::Exception& e) {
    Location loc = LocOf(file, e.mark);
    if (loc.pos.line == 0) loc.pos = {1, 1};
    diags.Error(loc, "YAML syntax: " + e.msg);
  } catch (const std::exception& e) {
    diags.Error({file, {1, 1}}, std::string("YAML: ") + e.what());
  }
  return {};
}

}  // namespace reach::dsl
