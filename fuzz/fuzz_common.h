#pragma once
// What every fuzz target checks: an input either compiles or yields at least one error, and
// every error has a real location (line and column >= 1). Anything else aborts.

#include <cstdlib>

#include "dsl/diagnostics.h"

namespace reach::fuzz {

inline void CheckDiagnostics(bool compiled, const dsl::Diagnostics& diags) {
  if (!compiled && diags.empty()) std::abort();
  for (const dsl::Diagnostic& d : diags.list())
    if (d.where.pos.line == 0 || d.where.pos.col == 0 || d.message.empty()) std::abort();
}

}  // namespace reach::fuzz
