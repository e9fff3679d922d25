#include "app/cli_commands.h"

#include <ostream>

#include "dsl/flow_compiler.h"
#include "dsl/graph_render.h"
#include "nodes/builtin_kinds.h"

namespace reach::app {
namespace {

// Compiles `paths` as one flow set; prints diagnostics to `err` and returns null on failure.
std::shared_ptr<const dsl::FlowGraph> Load(const std::vector<std::string>& paths, std::ostream& err,
                                           dsl::FlowCompiler& compiler) {
  for (const std::string& p : paths) {
    Status s = compiler.AddPath(p);
    if (!s.ok()) {
      err << "reach: " << s.message() << "\n";
      return nullptr;
    }
  }
  dsl::Diagnostics diags;
  auto graph = compiler.Compile(diags);
  if (!graph) {
    err << diags.Format(compiler.sources());
    err << diags.size() << (diags.size() == 1 ? " error" : " errors") << "\n";
  }
  return graph;
}

}  // namespace

int Validate(const std::vector<std::string>& paths, std::ostream& out, std::ostream& err) {
  dsl::FlowCompiler compiler(nodes::BuiltinKinds());
  auto graph = Load(paths, err, compiler);
  if (!graph) return 1;
  for (const dsl::FlowFile& f : graph->files()) {
    out << f.path << ": ok (flow " << f.name << ", version " << f.version << ", " << f.chains.size()
        << (f.chains.size() == 1 ? " chain" : " chains") << ")\n";
  }
  return 0;
}

int Graph(const std::vector<std::string>& paths, const std::string& chain, const std::string& format,
          std::ostream& out, std::ostream& err) {
  dsl::GraphFormat fmt;
  if (format == "mermaid") fmt = dsl::GraphFormat::kMermaid;
  else if (format == "dot") fmt = dsl::GraphFormat::kDot;
  else {
    err << "reach graph: --format must be mermaid or dot, not '" << format << "'\n";
    return 2;
  }
  dsl::FlowCompiler compiler(nodes::BuiltinKinds());
  auto graph = Load(paths, err, compiler);
  if (!graph) return 1;
  int32_t c = graph->FindChain(chain);
  if (c == dsl::kNone) {
    err << "reach graph: no chain named '" << chain << "'; chains:";
    for (const auto& ch : graph->chains()) err << " " << ch.name;
    err << "\n";
    return 1;
  }
  out << dsl::RenderChainGraph(*graph, static_cast<uint32_t>(c), fmt);
  return 0;
}

}  // namespace reach::app
