// Fuzzes the EL: the input is a chain's `value:` over a fixed set of declared nodes.
#include <string>

#include "dsl/flow_compiler.h"
#include "fuzz_common.h"
#include "nodes/builtin_kinds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string kHead =
      "flow:\n  nodes:\n    - {id: a, type: noop}\n    - {id: b, type: noop}\n"
      "    - {id: x, type: condition, if: 'true'}\n    - {id: s, type: switch, to: '\"a\"'}\n"
      "    - {id: n, type: expr, value: '2'}\n    - {id: l, type: expr, value: '[1]'}\n"
      "    - {id: w, type: wait_event, event: e}\n  chain:\n    - name: sub\n      value: \"THEN(a)\"\n"
      "    - name: main\n      value: |\n        ";
  std::string el(reinterpret_cast<const char*>(data), size);
  std::string body;
  for (char c : el) {
    body += c;
    if (c == '\n') body += "        ";  // keep every line inside the block scalar
  }
  reach::dsl::FlowCompiler compiler(reach::nodes::BuiltinKinds());
  compiler.AddFile("fuzz.yaml", kHead + body + "\n");
  reach::dsl::Diagnostics diags;
  auto graph = compiler.Compile(diags);
  reach::fuzz::CheckDiagnostics(graph != nullptr, diags);
  if (graph)
    for (size_t i = 0; i < graph->constructs().size(); ++i) (void)graph->Render(static_cast<uint32_t>(i));
  return 0;
}
