#pragma once
// FlowCompiler: flow files (YAML + LiteFlow EL) in, one immutable FlowGraph out, or every
// problem found as a diagnostic with file:line:col.
//
//   FlowCompiler compiler(nodes::BuiltinKinds());
//   compiler.AddFile("flows/welcome.yaml", text);
//   Diagnostics diags;
//   std::shared_ptr<const FlowGraph> graph = compiler.Compile(diags);
//   if (!graph) std::cerr << diags.Format(compiler.sources());
//
// Files added together make one flow set: chains may call chains and use nodes declared in
// any of them. A set with any error yields no graph (it is rejected whole).

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "dsl/diagnostics.h"
#include "dsl/flow_graph.h"
#include "dsl/node_kind.h"

namespace reach::dsl {

class FlowCompiler {
 public:
  // `kinds` must outlive the compiler and every graph it makes.
  explicit FlowCompiler(const NodeKindRegistry& kinds);
  ~FlowCompiler();

  // Adds a file's text under the name diagnostics will print.
  void AddFile(std::string path, std::string text);
  // Reads files from disk; a directory adds every *.yaml / *.yml in it (sorted, not recursive).
  // An unreadable path is an error Status (nothing is added for it).
  Status AddPath(const std::string& path);

  // Compiles everything added so far. Null when any error was found (reported to `diags`).
  std::shared_ptr<const FlowGraph> Compile(Diagnostics& diags);

  const SourceSet& sources() const { return sources_; }

 private:
  class Impl;
  const NodeKindRegistry& kinds_;
  SourceSet sources_;
};

}  // namespace reach::dsl
