#pragma once
// A node declaration compiled with the built-in kinds and bound to its built-in executor, run
// against a FakeNodeContext: what the node runtime tests drive.
//
//   TestNode n = TestNode::Of("type: condition\nif: 'has_tag(\"vip\")'\n");
//   FakeNodeContext ctx;
//   engine::NodeOutcome out = n.Run(ctx);

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "common/time_util.h"
#include "dsl/flow_graph.h"
#include "engine/node_executor.h"
#include "fakes/fake_node_context.h"
#include "nodes/builtin_kinds.h"
#include "nodes/kind_test_util.h"
#include "nodes/wait_event_node.h"

namespace reach::nodes::testing {

using reach::testing::FakeNodeContext;

struct TestNode {
  Compiled compiled;
  dsl::NodeDef def;
  const engine::NodeExecutor* executor = nullptr;

  // Compiles `yaml` (one declaration, without `id:`) as node `id`. As the flow compiler does,
  // a wait_event's `timeout:` also lands in NodeDef::timeout_millis.
  static TestNode Of(const std::string& yaml, std::string id = "n1") {
    TestNode n;
    n.compiled = CompileOk(yaml);
    n.def.id = std::move(id);
    n.def.label = n.def.id;
    if (!n.compiled.spec || !n.compiled.config) return n;
    n.def.type = std::string(n.compiled.spec->type());
    n.def.kind = n.compiled.spec;
    n.def.config = n.compiled.config;
    n.def.role = n.compiled.role();
    if (const auto* wait = dynamic_cast<const WaitEventConfig*>(n.compiled.config.get()))
      n.def.timeout_millis = wait->timeout_millis.value_or(0);
    n.executor = BuiltinExecutors().Find(n.def.type);
    EXPECT_NE(n.executor, nullptr) << "no executor for " << n.def.type;
    return n;
  }

  engine::NodeOutcome Run(FakeNodeContext& ctx) const { return ctx.Run(*executor, def); }
  engine::NodeOutcome Event(FakeNodeContext& ctx, std::string type, boost::json::object properties = {}) const {
    return ctx.DeliverEvent(*executor, def, std::move(type), std::move(properties));
  }
  engine::NodeOutcome Timer(FakeNodeContext& ctx) const { return ctx.FireTimer(*executor, def); }
};

inline bool IsDone(const engine::NodeOutcome& out) { return out.kind == engine::NodeOutcome::Kind::kDone; }
inline bool IsSuspended(const engine::NodeOutcome& out) {
  return out.kind == engine::NodeOutcome::Kind::kSuspended;
}
inline bool IsFailed(const engine::NodeOutcome& out) { return out.kind == engine::NodeOutcome::Kind::kFailed; }

// "done <value>", "failed <name>: <error>", "suspended" or "exit <reason>": one string that a
// failing EXPECT_EQ prints whole.
inline std::string Show(const engine::NodeOutcome& out) {
  switch (out.kind) {
    case engine::NodeOutcome::Kind::kDone: return "done " + boost::json::serialize(out.value);
    case engine::NodeOutcome::Kind::kFailed: return "failed " + out.error_name + ": " + out.error;
    case engine::NodeOutcome::Kind::kSuspended: return "suspended";
    case engine::NodeOutcome::Kind::kExit: return "exit " + out.error;
  }
  return "?";
}

// Unix ms of an RFC 3339 time, for readable expectations.
inline int64_t At(std::string_view rfc3339) {
  auto ms = ParseTimestampMillis(rfc3339);
  EXPECT_TRUE(ms.has_value()) << rfc3339;
  return ms.value_or(0);
}

}  // namespace reach::nodes::testing
