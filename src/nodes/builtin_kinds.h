#pragma once
// The node kinds Reach ships, registered by their `type:` names.

#include "dsl/node_kind.h"

namespace reach::nodes {

// Registers every built-in kind into `registry` (replacing kinds of the same name).
void RegisterBuiltinKinds(dsl::NodeKindRegistry& registry);

// A process-wide registry holding exactly the built-in kinds. Built on first use (thread-safe,
// as a function-local static) and never changed after: safe to share across threads.
const dsl::NodeKindRegistry& BuiltinKinds();

}  // namespace reach::nodes
