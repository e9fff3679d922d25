#pragma once
// FlowGraph: a set of flow files compiled into one immutable graph.
//
//   nodes       every declared node (id, kind, compiled fields)
//   constructs  every use of a node and every EL construct (THEN, WHEN, IF, ...), each with a
//               stable index: the same sources always compile to the same indices, so an
//               execution's position can be stored as construct indices and found again after
//               a restart
//   chains      every chain, with its root construct, trigger and entry rule
//
// A construct tree per chain; a chain used inside another is a kChain construct pointing at the
// callee (not a copy), so the graph stays linear in the size of the sources. Sub-variables are
// expanded at each use (each use its own constructs, as LiteFlow does).
//
// Versions: every chain has a content hash over what it can reach (its constructs, the node
// declarations they use, the chains it calls); a flow file has one over its text. A change that
// does not touch what a chain reaches leaves that chain's version unchanged.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "dsl/cron.h"
#include "dsl/diagnostics.h"
#include "dsl/expression.h"
#include "dsl/node_kind.h"

namespace reach::dsl {

enum class ConstructKind : uint8_t {
  kNode,      // a use of a declared node
  kChain,     // a call of another chain
  kThen,      // children = pre..., body..., finally... (counts in pre_count / finally_count)
  kWhen,      // children = branches
  kIf,        // condition; children = [then] or [then, else]
  kSwitch,    // condition = selector; children = targets; default_target
  kFor,       // condition = count node (or for_count literal); children = [body]; break_condition
  kWhile,     // condition; children = [body]; break_condition
  kIterator,  // condition = list node; children = [body]; break_condition
  kCatch,     // children = [try] or [try, do]
  kAnd,       // children = operands
  kOr,        // children = operands
  kNot,       // children = [operand]
};
std::string_view ConstructKindName(ConstructKind kind);  // "THEN", "node", ...

constexpr int32_t kNone = -1;

struct Construct {
  ConstructKind kind = ConstructKind::kThen;
  uint32_t index = 0;              // its position in FlowGraph::constructs
  Location where;                  // where it is written (in the chain's `value:`)
  int32_t node = kNone;            // kNode: index into FlowGraph::nodes
  int32_t chain = kNone;           // kChain: index into FlowGraph::chains
  int32_t condition = kNone;       // see ConstructKind
  int32_t default_target = kNone;  // kSwitch
  int32_t break_condition = kNone; // loops: .BREAK(x)
  std::vector<uint32_t> children;
  uint16_t pre_count = 0;          // kThen
  uint16_t finally_count = 0;      // kThen

  // Decorations written after the construct.
  std::string user_id;             // .id("x"): a SWITCH target name
  std::string tag;                 // .tag("x")
  std::optional<boost::json::value> data;  // .data('{json}') / .data(var)
  uint32_t retry = 0;              // .retry(n): extra attempts
  std::vector<std::string> retry_on;  // .retry(n, "ErrorName", ...): only these errors
  int64_t max_wait_millis = 0;     // .maxWaitSeconds(n) / .maxWaitMilliseconds(n); 0 = none

  // kWhen
  bool any = false;                // .any(true): done when the first branch finishes
  bool ignore_error = false;       // .ignoreError(true)
  std::vector<std::string> must;   // .must("a", "b"): done when these (by id/tag) finish
  // Loops
  int64_t for_count = -1;          // FOR(3): a literal count (no count node)
  bool parallel = false;           // .parallel(true)
};

struct NodeDef {
  std::string id;
  std::string name;                // optional; the trace shows id[name]
  std::string type;
  Location where;
  const NodeKindSpec* kind = nullptr;     // from the registry the graph was compiled with
  std::shared_ptr<const NodeConfig> config;
  NodeRole role = NodeRole::kCommon;
  uint32_t retry = 0;              // node-level `retry:`
  int64_t timeout_millis = 0;      // node-level `timeout:`; 0 = none
  boost::json::object fields;      // the declaration as written (for display and hashing)
  std::string label;               // "id" or "id[name]": how the trace shows it
};

struct Trigger {
  enum class Kind : uint8_t { kNone, kEvent, kSchedule, kManual };
  Kind kind = Kind::kNone;
  std::string event;                       // kEvent: the event type that enrolls
  std::shared_ptr<const Expression> match; // kEvent: optional filter over the event
  std::optional<CronSchedule> schedule;    // kSchedule
  std::string tz;                          // kSchedule: IANA zone ("" = UTC)
};

struct EntryRule {
  enum class Reentry : uint8_t { kOnce, kAfterExit, kAlways };
  Reentry reentry = Reentry::kOnce;
  std::shared_ptr<const Expression> key;   // optional: one entry per user per key value
};

struct ChainDef {
  std::string name;
  std::string flow;                // the flow (file) it is declared in
  Location where;
  uint32_t root = 0;               // construct index
  Trigger trigger;
  EntryRule entry;
  std::string version;             // content hash (hex) of what the chain reaches
  std::string value;               // the EL as written
  std::string tz;                  // the flow's `tz:` (IANA), "" when not given
};

struct FlowFile {
  std::string name;                // `flow.name:` or the file's stem
  std::string path;
  std::string version;             // content hash (hex) of the file's text
  std::string tz;                  // `flow.tz:`: the time zone of local-time windows when the
                                   // user's is unknown ("" = UTC)
  std::vector<uint32_t> chains;    // chains declared in it
};

class FlowGraph {
 public:
  const std::vector<NodeDef>& nodes() const { return nodes_; }
  const std::vector<Construct>& constructs() const { return constructs_; }
  const std::vector<ChainDef>& chains() const { return chains_; }
  const std::vector<FlowFile>& files() const { return files_; }
  const Construct& construct(uint32_t i) const { return constructs_[i]; }
  const NodeDef& node(uint32_t i) const { return nodes_[i]; }
  const ChainDef& chain(uint32_t i) const { return chains_[i]; }

  // Index lookups; kNone when absent.
  int32_t FindChain(std::string_view name) const;
  int32_t FindNode(std::string_view id) const;
  // The hash over the whole set (every file's version).
  const std::string& version() const { return version_; }

  // A one-line rendering of the construct tree in EL syntax, normalised
  // (e.g. "THEN(a,IF(c,b,d))"): what tests compare graph shapes with.
  std::string Render(uint32_t construct) const;

 private:
  friend class FlowCompiler;
  std::vector<NodeDef> nodes_;
  std::vector<Construct> constructs_;
  std::vector<ChainDef> chains_;
  std::vector<FlowFile> files_;
  std::string version_;
};

}  // namespace reach::dsl
