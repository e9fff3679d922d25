#pragma once
// The node kinds Reach ships, registered by their `type:` names.

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

// Registers every built-in kind into `registry` (replacing kinds of the same name).
void RegisterBuiltinKinds(dsl::NodeKindRegistry& registry);

// A process-wide registry holding exactly the built-in kinds. Built on first use (thread-safe,
// as a function-local static) and never changed after: safe to share across threads.
const dsl::NodeKindRegistry& BuiltinKinds();

// Registers the runtime of every built-in kind into `registry` under the same type names.
// Each kind class is both its NodeKindSpec and its NodeExecutor; the executor registry holds
// instances of its own (the kinds are stateless, so two instances behave as one).
void RegisterBuiltinExecutors(engine::NodeExecutorRegistry& registry);

// A process-wide registry of the built-in kinds' executors, built on first use like
// BuiltinKinds() and immutable after: safe to share across threads (Execute is const and the
// kinds hold no state).
const engine::NodeExecutorRegistry& BuiltinExecutors();

}  // namespace reach::nodes
