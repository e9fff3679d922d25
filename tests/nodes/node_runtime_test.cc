// The node kinds at run time, against a fake NodeContext: control kinds (noop, fail, exit,
// condition, switch, expr, split, segment) and profile kinds (tag, set). Waits and delays are in
// wait_delay_runtime_test.cc, sends in send_runtime_test.cc.
#include <map>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "nodes/builtin_kinds.h"
#include "nodes/runtime_test_util.h"
#include "nodes/split_node.h"

namespace reach::nodes {
namespace {

using testing::FakeNodeContext;
using testing::Show;
using testing::TestNode;

std::string Json(const boost::json::value& v) { return boost::json::serialize(v); }

// ---- the registry ----

TEST(BuiltinExecutors, EveryBuiltinKindHasAnExecutorUnderItsTypeName) {
  for (const std::string& type : BuiltinKinds().types())
    EXPECT_NE(BuiltinExecutors().Find(type), nullptr) << type;
  EXPECT_EQ(BuiltinExecutors().Find("no.such.kind"), nullptr);
  EXPECT_EQ(&BuiltinExecutors(), &BuiltinExecutors());  // one process-wide registry
}

TEST(BuiltinExecutors, OnlyFiltersGateWhenFalse) {
  for (const std::string& type : BuiltinKinds().types()) {
    bool filter = type == "condition" || type == "segment";
    EXPECT_EQ(BuiltinKinds().Find(type)->GatesWhenFalse(), filter) << type;
  }
}

// ---- noop, fail, exit ----

TEST(NoopRuntime, IsDoneWithNoValue) {
  FakeNodeContext ctx;
  EXPECT_EQ(Show(TestNode::Of("type: noop\n").Run(ctx)), "done null");
}

TEST(FailRuntime, FailsWithItsMessageAsFailNode) {
  FakeNodeContext ctx;
  EXPECT_EQ(Show(TestNode::Of("type: fail\nmessage: coupon service is down\n").Run(ctx)),
            "failed FailNode: coupon service is down");
  EXPECT_EQ(Show(TestNode::Of("type: fail\n").Run(ctx)), "failed FailNode: failed by a fail node");
  EXPECT_EQ(Show(TestNode::Of("type: fail\nmessage: \"\"\n").Run(ctx)), "failed FailNode: failed");
}

TEST(ExitRuntime, EndsTheExecutionWithItsReason) {
  FakeNodeContext ctx;
  EXPECT_EQ(Show(TestNode::Of("type: exit\nreason: goal_reached\n").Run(ctx)), "exit goal_reached");
  EXPECT_EQ(Show(TestNode::Of("type: exit\n").Run(ctx)), "exit ");
}

// ---- condition ----

TEST(ConditionRuntime, EvaluatesIfOverUserEventAndCtx) {
  TestNode n = TestNode::Of(
      "type: condition\nif: 'event.type == \"subscribe\" && !has_tag(\"blocked\") && ctx.step == 2 && "
      "user.city == \"Shanghai\"'\n");
  FakeNodeContext ctx;
  ctx.event = {{"type", "subscribe"}, {"properties", boost::json::object()}};
  ctx.ctx_json = {{"step", 2}};
  ctx.user_record.traits["city"] = "Shanghai";
  EXPECT_EQ(Show(n.Run(ctx)), "done true");
  ctx.user_record.tags.emplace_back("blocked");
  EXPECT_EQ(Show(n.Run(ctx)), "done false");
}

TEST(ConditionRuntime, RuntimeErrorFailsAsExpressionError) {
  TestNode n = TestNode::Of("type: condition\nif: 'ctx.n / ctx.zero > 1'\n");
  FakeNodeContext ctx;
  ctx.ctx_json = {{"n", 1}, {"zero", 0}};
  EXPECT_EQ(Show(n.Run(ctx)), "failed ExpressionError: if: division by zero");
}

TEST(ConditionRuntime, NonBooleanFailsAsTypeError) {
  TestNode n = TestNode::Of("type: condition\nif: 'ctx.flag'\n");
  FakeNodeContext ctx;
  ctx.ctx_json = {{"flag", "yes"}};
  EXPECT_EQ(Show(n.Run(ctx)), "failed TypeError: if must give a boolean, not string (yes)");
}

// ---- switch, expr ----

TEST(SwitchRuntime, GivesTheTargetString) {
  TestNode n = TestNode::Of("type: switch\nto: 'user.city == \"Shanghai\" ? \"sh_offer\" : \"tag:generic\"'\n");
  FakeNodeContext ctx;
  ctx.user_record.traits["city"] = "Shanghai";
  EXPECT_EQ(Show(n.Run(ctx)), "done \"sh_offer\"");
  ctx.user_record.traits["city"] = "Beijing";
  EXPECT_EQ(Show(n.Run(ctx)), "done \"tag:generic\"");
}

TEST(SwitchRuntime, NullIsBlankSoTheExecutorTakesDefault) {
  FakeNodeContext ctx;
  EXPECT_EQ(Show(TestNode::Of("type: switch\nto: 'ctx.missing'\n").Run(ctx)), "done \"\"");
}

TEST(SwitchRuntime, NonStringFailsAsTypeError) {
  FakeNodeContext ctx;
  ctx.ctx_json = {{"level", 3}};
  EXPECT_EQ(Show(TestNode::Of("type: switch\nto: 'ctx.level'\n").Run(ctx)),
            "failed TypeError: to must give a node id or tag:name string, not number (3)");
}

TEST(ExprRuntime, GivesTheValueAsJson) {
  FakeNodeContext ctx;
  ctx.user_record.traits["coupons"] = boost::json::array{"A", "B"};
  EXPECT_EQ(Show(TestNode::Of("type: expr\nvalue: 'user.coupons'\n").Run(ctx)), "done [\"A\",\"B\"]");
  EXPECT_EQ(Show(TestNode::Of("type: expr\nvalue: '2 + 3'\n").Run(ctx)), "done 5");
  EXPECT_EQ(Show(TestNode::Of("type: expr\nvalue: 'ctx.a / ctx.b'\n").Run(ctx)),
            "failed ExpressionError: value: operator '/' is not defined for null and null");
}

// ---- split ----

TEST(SplitRuntime, HashIsPinnedAcrossBuilds) {
  // Computed independently (FNV-1a 64 + MurmurHash3 fmix64, 0x1f after each part). A change
  // here moves users between the branches of running A/B tests.
  EXPECT_EQ(SplitHash("", "ab", "user-1"), 8893000370969177947ULL);
  EXPECT_EQ(SplitHash("spring_2026", "ab", "user-1"), 15525774363860901163ULL);
  EXPECT_EQ(SplitHash("", "ab", "u1"), 2219868380792491543ULL);
}

TEST(SplitRuntime, SameUserAlwaysGetsTheSameBranch) {
  TestNode n = TestNode::Of("type: split\nbranches: {variant_a: 45, variant_b: 45, holdout: 10}\n", "ab");
  FakeNodeContext first, second;
  first.user_record.id = second.user_record.id = "user-1";
  std::string picked = Show(n.Run(first));
  EXPECT_EQ(picked, "done \"variant_b\"");  // bucket 47
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Show(n.Run(second)), picked);
}

TEST(SplitRuntime, DistributionFollowsThePercentages) {
  TestNode n = TestNode::Of("type: split\nbranches: {variant_a: 45, variant_b: 45, holdout: 10}\n", "ab");
  std::map<std::string, int> counts;
  FakeNodeContext ctx;
  for (int i = 0; i < 10000; ++i) {
    ctx.user_record.id = "user-" + std::to_string(i);
    engine::NodeOutcome out = n.Run(ctx);
    ASSERT_TRUE(out.value.is_string());
    ++counts[std::string(out.value.as_string())];
  }
  // Binomial standard deviation at 10k users is about 50 (45%) and 30 (10%): allow ~4 sigma.
  EXPECT_NEAR(counts["variant_a"], 4500, 200);
  EXPECT_NEAR(counts["variant_b"], 4500, 200);
  EXPECT_NEAR(counts["holdout"], 1000, 120);
  EXPECT_EQ(counts.size(), 3u);
}

TEST(SplitRuntime, SaltAndNodeIdReshuffleUsers) {
  TestNode plain = TestNode::Of("type: split\nbranches: {a: 50, b: 50}\n", "ab");
  TestNode salted = TestNode::Of("type: split\nbranches: {a: 50, b: 50}\nsalt: spring_2026\n", "ab");
  TestNode other = TestNode::Of("type: split\nbranches: {a: 50, b: 50}\n", "cd");
  FakeNodeContext ctx;
  int salt_moves = 0, node_moves = 0;
  for (int i = 0; i < 1000; ++i) {
    ctx.user_record.id = "user-" + std::to_string(i);
    std::string base = Show(plain.Run(ctx));
    salt_moves += Show(salted.Run(ctx)) != base;
    node_moves += Show(other.Run(ctx)) != base;
  }
  // Independent 50/50 splits disagree for about half of the users.
  EXPECT_NEAR(salt_moves, 500, 80);
  EXPECT_NEAR(node_moves, 500, 80);
}

// ---- segment ----

TEST(SegmentRuntime, WhereIsTrueWhenTheUserMatches) {
  TestNode n = TestNode::Of("type: segment\nwhere: 'user.city == \"Shanghai\" && has_tag(\"vip\")'\n");
  FakeNodeContext ctx;
  ctx.user_record.traits["city"] = "Shanghai";
  EXPECT_EQ(Show(n.Run(ctx)), "done false");
  ctx.user_record.tags.emplace_back("vip");
  EXPECT_EQ(Show(n.Run(ctx)), "done true");
}

TEST(SegmentRuntime, NamedSegmentIsUnsupportedForNow) {
  FakeNodeContext ctx;
  EXPECT_EQ(Show(TestNode::Of("type: segment\nsegment: shanghai_vips\n").Run(ctx)),
            "failed Unsupported: named segments are not available yet");
}

// ---- tag ----

TEST(TagRuntime, AddsWithoutDuplicatesAndRemovesEveryCopy) {
  TestNode n = TestNode::Of("type: tag\nadd: [lead, vip]\nremove: [cold]\n");
  FakeNodeContext ctx;
  ctx.user_record.tags = {"vip", "cold", "x", "cold"};
  EXPECT_EQ(Show(n.Run(ctx)), "done null");
  EXPECT_EQ(Json(ctx.user_record.tags), R"(["vip","x","lead"])");
  EXPECT_EQ(ctx.user_changes, 1);
  // The view expressions see follows the change.
  EXPECT_EQ(Json(ctx.scope().user->at("tags")), R"(["vip","x","lead"])");
}

TEST(TagRuntime, NothingToChangeSavesNothing) {
  TestNode n = TestNode::Of("type: tag\nadd: [vip]\nremove: [cold]\n");
  FakeNodeContext ctx;
  ctx.user_record.tags = {"vip"};
  EXPECT_EQ(Show(n.Run(ctx)), "done null");
  EXPECT_EQ(ctx.user_changes, 0);
}

// ---- set ----

TEST(SetRuntime, WritesTraitsAndCtx) {
  TestNode n = TestNode::Of(
      "type: set\ntraits: {last_campaign: '\"spring_sale\"', score: 'user.score + 10'}\n"
      "ctx: {coupon: 'event.coupon_code', when: 'now()'}\n");
  FakeNodeContext ctx;
  ctx.user_record.traits["score"] = 5;
  ctx.event = {{"type", "form"}, {"properties", {{"coupon_code", "C-1"}}}};
  ctx.ctx_json = {{"keep", true}};
  EXPECT_EQ(Show(n.Run(ctx)), "done null");
  EXPECT_EQ(Json(ctx.user_record.traits), R"({"score":15,"last_campaign":"spring_sale"})");
  EXPECT_EQ(Json(ctx.ctx_json), R"({"keep":true,"coupon":"C-1","when":"2026-01-01T00:00:00Z"})");
  EXPECT_EQ(ctx.user_changes, 1);
}

TEST(SetRuntime, AnErrorWritesNothing) {
  TestNode n = TestNode::Of("type: set\ntraits: {a: '1'}\nctx: {b: '2', c: 'ctx.n / ctx.zero'}\n");
  FakeNodeContext ctx;
  ctx.ctx_json = {{"n", 1}, {"zero", 0}};
  EXPECT_EQ(Show(n.Run(ctx)), "failed ExpressionError: ctx.c: division by zero");
  EXPECT_TRUE(ctx.user_record.traits.empty());
  EXPECT_EQ(Json(ctx.ctx_json), R"({"n":1,"zero":0})");
  EXPECT_EQ(ctx.user_changes, 0);
}

TEST(SetRuntime, CtxOnlyLeavesTheUserAlone) {
  FakeNodeContext ctx;
  EXPECT_EQ(Show(TestNode::Of("type: set\nctx: {n: '1 + 1'}\n").Run(ctx)), "done null");
  EXPECT_EQ(Json(ctx.ctx_json), R"({"n":2})");
  EXPECT_EQ(ctx.user_changes, 0);
}

}  // namespace
}  // namespace reach::nodes
