#pragma once
// YamlNode: a flow file's YAML as a small tree that remembers where every value came from.
// yaml-cpp stays behind this adapter (yaml_doc.cc): nothing else includes it, and its
// exceptions stop there.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/fwd.hpp>

#include "dsl/diagnostics.h"

namespace reach::dsl {

struct YamlEntry;

struct YamlNode {
  enum class Kind : uint8_t { kNull, kScalar, kSequence, kMap };
  // How a scalar was written: needed to map an offset inside it back to a column.
  enum class Style : uint8_t { kPlain, kSingleQuoted, kDoubleQuoted, kBlock };

  Kind kind = Kind::kNull;
  Style style = Style::kPlain;
  Location where;                                   // the first character of the value
  std::string scalar;                               // kScalar
  std::vector<YamlNode> items;                      // kSequence
  std::vector<YamlEntry> entries;                   // kMap, in file order
  std::vector<Location> key_locations;              // kMap: where each key is written
  uint32_t block_indent = 0;                        // kBlock: column of the content's first line

  bool is_null() const { return kind == Kind::kNull; }
  bool is_scalar() const { return kind == Kind::kScalar; }
  bool is_map() const { return kind == Kind::kMap; }
  bool is_sequence() const { return kind == Kind::kSequence; }
  // kMap: the value under `key`, or null.
  const YamlNode* Find(std::string_view key) const;
  // Where the value's `offset`-th byte (of `scalar`) is written in the file. Exact for plain,
  // quoted (without escapes before the offset) and block scalars.
  Location LocationOf(size_t offset, const SourceSet& sources) const;
  // A plain scalar that reads as a YAML 1.2 core boolean / integer / float / null.
  bool IsPlainBool() const;
  bool IsPlainNumber() const;
  // Converts to JSON: scalars become numbers / booleans / null when written plain and reading
  // as such, else strings.
  boost::json::value ToJson() const;
  // Short description for messages: "a string", "a list", "a map", "null".
  std::string_view Describe() const;
};

// A map entry. A struct, not std::pair, because the node type is still incomplete here (a
// vector of an incomplete struct is fine; a pair of one is not, and clang says so).
struct YamlEntry {
  std::string first;   // the key
  YamlNode second;     // the value
};

// Parses `sources.text(file)`. On a YAML syntax error, reports it (with position) to `diags`
// and returns a null node.
YamlNode ParseYaml(const SourceSet& sources, uint32_t file, Diagnostics& diags);

}  // namespace reach::dsl
