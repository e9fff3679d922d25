#pragma once
// Node kinds as the compiler sees them. A NodeKindSpec validates and compiles the fields of a
// node declaration (`type: condition`, `if: ...`) into an immutable NodeConfig, and says how the
// node may be used in the EL (a boolean node for IF, a switch node for SWITCH, ...).
//
// dsl/ defines the interface; nodes/ implements one spec per kind and registers them in a
// NodeKindRegistry handed to the compiler. dsl/ knows no kind by name.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "dsl/diagnostics.h"
#include "dsl/expression.h"
#include "dsl/yaml_doc.h"

namespace reach::dsl {

// What a node can stand for in the EL (LiteFlow's component types).
enum class NodeRole : uint8_t {
  kCommon,    // an ordinary step: THEN/WHEN item
  kBoolean,   // IF/ELIF/WHILE/BREAK condition, AND/OR/NOT operand (also allowed as a step)
  kSwitch,    // SWITCH selector: yields a target id or "tag:name"
  kFor,       // FOR(x): yields a count
  kIterator,  // ITERATOR(x): yields a list
  kAny,       // an `expr` node whose value type is only known at run time: any of the above
};
// "common", "boolean", "switch", "for", "iterator", or "expression" for kAny.
std::string_view NodeRoleName(NodeRole role);

// The compiled, kind-specific part of a node declaration. Immutable after compilation; shared
// by every execution of every version that uses it.
class NodeConfig {
 public:
  virtual ~NodeConfig() = default;
};

// Reads the fields of one node declaration, reporting problems with their location.
// Tracks which fields were read so that Finish() can report unknown ones.
class FieldReader {
 public:
  FieldReader(const YamlNode& decl, std::string_view type, const SourceSet& sources,
              Diagnostics& diags);

  const YamlNode* Get(std::string_view key);     // marks the field known; null when absent
  bool Has(std::string_view key) const;
  // Reports "node kind 'T' needs field 'key'" at the declaration and returns null if absent.
  const YamlNode* Require(std::string_view key);

  // Typed readers: each reports a clear error (with location) and returns nullopt/null when the
  // field is present but wrong; absent optional fields also return nullopt/null silently.
  std::optional<std::string> String(std::string_view key, bool required = false);
  std::optional<int64_t> Integer(std::string_view key, bool required = false, int64_t min = INT64_MIN,
                                 int64_t max = INT64_MAX);
  std::optional<bool> Boolean(std::string_view key, bool required = false);
  // A duration such as "90s", "3d" (also a plain integer meaning seconds). Must be > 0.
  std::optional<int64_t> DurationMillis(std::string_view key, bool required = false);
  // A list of strings (a single string is taken as a one-item list).
  std::optional<std::vector<std::string>> StringList(std::string_view key, bool required = false);
  // An IANA time-zone name that the time-zone database knows.
  std::optional<std::string> TimeZone(std::string_view key, bool required = false);
  // An expression; when `want` is not kAny, a statically-known type other than `want` is an
  // error. Errors inside the expression are reported at their exact column.
  std::shared_ptr<const Expression> Expr(std::string_view key, ExprType want, bool required = false);
  // An expression held by an arbitrary YAML scalar (a map value, a list item).
  std::shared_ptr<const Expression> ExprAt(const YamlNode& node, ExprType want, std::string_view what);
  // A Mustache template (message texts): checked for balanced tags.
  std::optional<std::string> Template(std::string_view key, bool required = false);
  // Any YAML value as JSON (maps of template strings such as `data:` or `params:`).
  std::optional<boost::json::value> Json(std::string_view key, bool required = false);

  // Reports an error at a field (or at the declaration when the field is absent).
  void ErrorAt(std::string_view key, std::string message);
  void ErrorAt(const YamlNode& node, std::string message);
  void ErrorAt(Location where, std::string message);
  const SourceSet& sources() const { return sources_; }
  // Reports every field that no reader asked for ("unknown field 'iff' for node kind
  // 'condition' (did you mean 'if'?)"). Common fields (id, type, name, retry, timeout) are
  // always known. Called by the compiler after the spec's Compile.
  void Finish();
  bool failed() const { return failed_; }
  const std::string& type() const { return type_; }

 private:
  const YamlNode& decl_;
  std::string type_;
  const SourceSet& sources_;
  Diagnostics& diags_;
  std::set<std::string, std::less<>> read_;
  bool failed_ = false;
};

class NodeKindSpec {
 public:
  virtual ~NodeKindSpec() = default;
  // The `type:` name, e.g. "condition", "wechat.template".
  virtual std::string_view type() const = 0;
  // Validates and compiles the kind-specific fields. Reports problems through `fields` and
  // returns null when any was found. The common fields (id, type, name, retry, timeout) are
  // handled by the compiler.
  virtual std::shared_ptr<const NodeConfig> Compile(FieldReader& fields) const = 0;
  // How a node of this kind, with this config, may be used in the EL.
  virtual NodeRole Role(const NodeConfig& config) const = 0;
  // True when a node of this kind may suspend the execution (wait_event, delay, sends held by
  // quiet hours or rate limits).
  virtual bool CanSuspend() const { return false; }
  // True for kinds that end the execution (exit).
  virtual bool EndsExecution() const { return false; }
  // True for filters (condition, segment): used as a step of a sequence rather than as the
  // condition of IF/WHILE, a false result ends the execution there (a Reach extension:
  // LiteFlow ignores a boolean node's result outside a condition; docs/dsl.md explains).
  virtual bool GatesWhenFalse() const { return false; }
  // For audience kinds (segment): the predicate over a user that picks the journey's audience
  // when the node is the first step of a scheduled or manual chain. Null for other kinds.
  virtual const Expression* AudienceFilter(const NodeConfig& config) const { return nullptr; }
};

class NodeKindRegistry {
 public:
  void Register(std::unique_ptr<NodeKindSpec> spec);
  const NodeKindSpec* Find(std::string_view type) const;
  std::vector<std::string> types() const;

 private:
  std::map<std::string, std::unique_ptr<NodeKindSpec>, std::less<>> specs_;
};

}  // namespace reach::dsl
