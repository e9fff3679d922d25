// Fuzzes the YAML loader and the whole compiler: the input is a flow file.
#include <string>

#include "dsl/flow_compiler.h"
#include "fuzz_common.h"
#include "nodes/builtin_kinds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reach::dsl::FlowCompiler compiler(reach::nodes::BuiltinKinds());
  compiler.AddFile("fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size));
  reach::dsl::Diagnostics diags;
  auto graph = compiler.Compile(diags);
  reach::fuzz::CheckDiagnostics(graph != nullptr, diags);
  return 0;
}
