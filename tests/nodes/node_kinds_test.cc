// The flow-control kinds: a valid declaration compiles with the right role; each validation
// error has its exact message and line:col. The send kinds are in send_kinds_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nodes/condition_node.h"
#include "nodes/delay_node.h"
#include "nodes/exit_node.h"
#include "nodes/expr_node.h"
#include "nodes/fail_node.h"
#include "nodes/kind_test_util.h"
#include "nodes/noop_node.h"
#include "nodes/segment_node.h"
#include "nodes/set_node.h"
#include "nodes/split_node.h"
#include "nodes/switch_node.h"
#include "nodes/tag_node.h"
#include "nodes/wait_event_node.h"

namespace reach::nodes {
namespace {

using dsl::NodeRole;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::CompileNode;
using testing::CompileOk;
using testing::Errors;
using testing::ErrorsOf;

// ---- the registry ----

TEST(BuiltinKinds, RegistersEveryKindOfTheLanguage) {
  EXPECT_THAT(BuiltinKinds().types(),
              ElementsAre("condition", "delay", "exit", "expr", "fail", "noop", "segment", "set", "sms.send",
                          "split", "switch", "tag", "wait_event", "webhook", "wechat.subscribe",
                          "wechat.template", "wecom.customer_message", "wecom.message"));
  EXPECT_EQ(BuiltinKinds().Find("nope"), nullptr);
  EXPECT_EQ(&BuiltinKinds(), &BuiltinKinds());
}

TEST(BuiltinKinds, SuspendingAndEndingKinds) {
  for (const std::string& type : BuiltinKinds().types()) {
    const dsl::NodeKindSpec* spec = BuiltinKinds().Find(type);
    bool sends = type.find('.') != std::string::npos;
    EXPECT_EQ(spec->CanSuspend(), sends || type == "wait_event" || type == "delay") << type;
    EXPECT_EQ(spec->EndsExecution(), type == "exit") << type;
  }
}

// ---- condition ----

TEST(ConditionKind, CompilesABooleanNode) {
  auto c = CompileOk("id: c\ntype: condition\nif: 'user.age > 18 && has_tag(\"vip\")'\n");
  EXPECT_EQ(c.role(), NodeRole::kBoolean);
  EXPECT_NE(c.as<ConditionConfig>().condition, nullptr);
  CompileOk("type: condition\nif: user.vip\n");  // a path: checked at run time
}

TEST(ConditionKind, NeedsIf) {
  EXPECT_THAT(ErrorsOf("type: condition\n"), ElementsAre("1:1: node kind 'condition' needs field 'if'"));
}

TEST(ConditionKind, MisspelledFieldGetsAHint) {
  EXPECT_THAT(ErrorsOf("type: condition\niff: 'true'\n"),
              ElementsAre("1:1: node kind 'condition' needs field 'if'",
                          "2:1: unknown field 'iff' for node kind 'condition' (did you mean 'if'?)"));
}

TEST(ConditionKind, IfMustBeBoolean) {
  EXPECT_THAT(ErrorsOf("type: condition\nif: '1 + 2'\n"),
              ElementsAre("2:5: field 'if' must be a bool expression, but this one is a number"));
  EXPECT_THAT(ErrorsOf("type: condition\nif: [a]\n"),
              ElementsAre("2:5: field 'if' must be an expression (a string), not a list"));
}

TEST(ConditionKind, ExpressionErrorsPointAtTheirColumn) {
  // The message is the expression language's; the position (just past `&&`) is what the kind
  // is responsible for.
  Errors errors = ErrorsOf("type: condition\nif: 'user.age > 18 &&'\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], ::testing::StartsWith("2:22: "));
  errors = ErrorsOf("type: condition\nif: |\n  user.age > 18 &&\n  has_tag(vip\n");
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(errors[0], ::testing::StartsWith("4:"));
}

// ---- switch ----

TEST(SwitchKind, CompilesASwitchNode) {
  auto c = CompileOk("type: switch\nto: 'user.city == \"Shanghai\" ? \"sh\" : \"tag:rest\"'\n");
  EXPECT_EQ(c.role(), NodeRole::kSwitch);
  EXPECT_NE(c.as<SwitchConfig>().target, nullptr);
}

TEST(SwitchKind, ToIsRequiredAndAString) {
  EXPECT_THAT(ErrorsOf("type: switch\n"), ElementsAre("1:1: node kind 'switch' needs field 'to'"));
  EXPECT_THAT(ErrorsOf("type: switch\nto: 'true'\n"),
              ElementsAre("2:5: field 'to' must be a string expression, but this one is a bool"));
}

// ---- segment ----

TEST(SegmentKind, TakesWhereOrANamedSegment) {
  auto where = CompileOk("type: segment\nwhere: 'user.city == \"Shanghai\"'\n");
  EXPECT_EQ(where.role(), NodeRole::kBoolean);
  EXPECT_NE(where.as<SegmentConfig>().where, nullptr);
  auto named = CompileOk("type: segment\nsegment: shanghai_vips\n");
  EXPECT_EQ(named.as<SegmentConfig>().segment_name, "shanghai_vips");
  EXPECT_EQ(named.as<SegmentConfig>().where, nullptr);
}

TEST(SegmentKind, NeedsExactlyOne) {
  EXPECT_THAT(ErrorsOf("type: segment\n"),
              ElementsAre("1:1: node kind 'segment' needs one of 'where' or 'segment'"));
  EXPECT_THAT(ErrorsOf("type: segment\nwhere: 'true'\nsegment: vips\n"),
              ElementsAre("3:10: node kind 'segment' takes one of 'where' or 'segment', not both 'where' and 'segment'"));
  EXPECT_THAT(ErrorsOf("type: segment\nwhere: '\"x\"'\n"),
              ElementsAre("2:8: field 'where' must be a bool expression, but this one is a string"));
  EXPECT_THAT(ErrorsOf("type: segment\nsegment: ''\n"),
              ElementsAre("2:10: field 'segment' must name a segment, not be empty"));
}

// ---- wait_event ----

TEST(WaitEventKind, CompilesEventMatchAndTimeout) {
  auto c = CompileOk("type: wait_event\nevent: form_submitted\nmatch: 'event.form_id == \"spring\"'\ntimeout: 3d\n");
  EXPECT_EQ(c.role(), NodeRole::kBoolean);
  const auto& config = c.as<WaitEventConfig>();
  EXPECT_EQ(config.event_type, "form_submitted");
  EXPECT_NE(config.match, nullptr);
  EXPECT_EQ(config.timeout_millis, 3 * 86400 * 1000LL);
  auto bare = CompileOk("type: wait_event\nevent: paid\n");
  EXPECT_EQ(bare.as<WaitEventConfig>().timeout_millis, std::nullopt);
  EXPECT_EQ(bare.as<WaitEventConfig>().match, nullptr);
}

TEST(WaitEventKind, ValidatesItsFields) {
  EXPECT_THAT(ErrorsOf("type: wait_event\n"), ElementsAre("1:1: node kind 'wait_event' needs field 'event'"));
  EXPECT_THAT(ErrorsOf("type: wait_event\nevent: paid\ntimeout: soon\n"),
              ElementsAre("3:10: bad duration 'soon' in field 'timeout': expected a number and a unit "
                          "(ms, s, m, h, d, w), e.g. 90s, 15m, 3d"));
  EXPECT_THAT(ErrorsOf("type: wait_event\nevent: paid\nmatch: '5'\n"),
              ElementsAre("3:8: field 'match' must be a bool expression, but this one is a number"));
  EXPECT_THAT(ErrorsOf("type: wait_event\nevent: {a: 1}\n"),
              ElementsAre("2:8: field 'event' must be a string, not a map"));
}

// ---- delay ----

TEST(DelayKind, Duration) {
  auto c = CompileOk("type: delay\nduration: 1h30m\n");
  EXPECT_EQ(c.role(), NodeRole::kCommon);
  EXPECT_EQ(c.as<DelayConfig>().mode, DelayConfig::Mode::kDuration);
  EXPECT_EQ(c.as<DelayConfig>().duration_millis, 5400 * 1000LL);
}

TEST(DelayKind, UntilWithSignedOffsetAndZone) {
  auto c = CompileOk("type: delay\nuntil: 'user.birthday'\noffset: -2h\ntz: Asia/Shanghai\n");
  const auto& config = c.as<DelayConfig>();
  EXPECT_EQ(config.mode, DelayConfig::Mode::kUntil);
  EXPECT_NE(config.until, nullptr);
  EXPECT_EQ(config.offset_millis, -7200 * 1000LL);
  EXPECT_EQ(config.tz, "Asia/Shanghai");
  EXPECT_EQ(CompileOk("type: delay\nuntil: 'now()'\noffset: +1d\n").as<DelayConfig>().offset_millis, 86400000);
  EXPECT_EQ(CompileOk("type: delay\nuntil: 'now()'\noffset: -90\n").as<DelayConfig>().offset_millis, -90000);
  EXPECT_EQ(CompileOk("type: delay\nuntil: '\"2026-11-22T10:00:00Z\"'\ntz: UTC\n").as<DelayConfig>().offset_millis, 0);
}

TEST(DelayKind, UntilMustGiveATime) {
  EXPECT_THAT(ErrorsOf("type: delay\nuntil: '3 + 4'\n"),
              ElementsAre("2:8: field 'until' must give a timestamp or a string, but this expression is a number"));
  EXPECT_THAT(ErrorsOf("type: delay\nuntil: 'now()'\noffset: 2 hours\n"),
              ElementsAre("3:9: bad offset '2 hours' in field 'offset': expected a duration with an optional "
                          "sign, e.g. -2h, 30m, +1d"));
}

TEST(DelayKind, Window) {
  auto c = CompileOk("type: delay\nwindow: {from: \"09:00\", to: \"21:30\", days: [mon, TUE, fri]}\ntz: Asia/Shanghai\n");
  const auto& w = c.as<DelayConfig>().window;
  EXPECT_EQ(c.as<DelayConfig>().mode, DelayConfig::Mode::kWindow);
  EXPECT_EQ(w.from_minute, 9 * 60);
  EXPECT_EQ(w.to_minute, 21 * 60 + 30);
  EXPECT_EQ(w.days.to_string(), "0100110");  // bit 0 = Sunday, on the right
  auto overnight = CompileOk("type: delay\nwindow:\n  from: 21:00\n  to: 8:00\n");
  EXPECT_EQ(overnight.as<DelayConfig>().window.to_minute, 8 * 60);
  EXPECT_TRUE(overnight.as<DelayConfig>().window.days.all());
}

TEST(DelayKind, WindowErrors) {
  EXPECT_THAT(ErrorsOf("type: delay\nwindow: {from: \"9am\", to: \"21:00\"}\n"),
              ElementsAre("2:16: field 'window.from' must be a time of day as HH:MM (00:00 to 23:59), not '9am'"));
  EXPECT_THAT(ErrorsOf("type: delay\nwindow: {from: \"09:00\", to: \"24:00\"}\n"),
              ElementsAre("2:29: field 'window.to' must be a time of day as HH:MM (00:00 to 23:59), not '24:00'"));
  EXPECT_THAT(ErrorsOf("type: delay\nwindow: {from: \"09:00\", to: \"09:00\"}\n"),
              ElementsAre("2:9: field 'window' opens and closes at the same time (09:00): give 'from' and 'to' "
                          "different times"));
  EXPECT_THAT(ErrorsOf("type: delay\nwindow: {from: \"09:00\", to: \"21:00\", days: [mon, mnd]}\n"),
              ElementsAre("2:50: unknown day 'mnd' in field 'window.days' (use mon, tue, wed, thu, fri, sat, sun)"));
  EXPECT_THAT(ErrorsOf("type: delay\nwindow: {from: \"09:00\", to: \"21:00\", days: []}\n"),
              ElementsAre("2:44: field 'window.days' must name at least one day"));
  EXPECT_THAT(ErrorsOf("type: delay\nwindow: {from: \"09:00\"}\n"),
              ElementsAre("2:9: field 'window' needs 'to'"));
  EXPECT_THAT(ErrorsOf("type: delay\nwindow: {from: \"09:00\", to: \"10:00\", dayz: [mon]}\n"),
              ElementsAre("2:38: unknown field 'dayz' in 'window' (did you mean 'days'?)"));
  EXPECT_THAT(ErrorsOf("type: delay\nwindow: weekdays\n"), ElementsAre("2:9: field 'window' must be a map, not a string"));
}

TEST(DelayKind, NeedsExactlyOneMode) {
  EXPECT_THAT(ErrorsOf("type: delay\n"),
              ElementsAre("1:1: node kind 'delay' needs one of 'duration', 'until' or 'window'"));
  EXPECT_THAT(ErrorsOf("type: delay\nduration: 2h\nuntil: 'now()'\n"),
              ElementsAre("3:8: node kind 'delay' takes one of 'duration', 'until' or 'window', not both "
                          "'duration' and 'until'"));
}

TEST(DelayKind, OffsetAndZoneOnlyWhereTheyMeanSomething) {
  EXPECT_THAT(ErrorsOf("type: delay\nduration: 2h\noffset: 1h\n"),
              ElementsAre("3:9: field 'offset' only applies to an 'until' delay"));
  EXPECT_THAT(ErrorsOf("type: delay\nduration: 2h\ntz: UTC\n"),
              ElementsAre("3:5: field 'tz' does not apply to a 'duration' delay (only to 'until' and 'window')"));
  EXPECT_THAT(ErrorsOf("type: delay\nwindow: {from: \"09:00\", to: \"21:00\"}\ntz: Asia/Shanghia\n"),
              ElementsAre("3:5: unknown time zone 'Asia/Shanghia' (use an IANA name such as Asia/Shanghai)"));
  EXPECT_THAT(ErrorsOf("type: delay\nduration: -2h\n"),
              ElementsAre("2:11: bad duration '-2h' in field 'duration': expected a number and a unit (ms, s, m, "
                          "h, d, w), e.g. 90s, 15m, 3d"));
}

// ---- tag ----

TEST(TagKind, AddsAndRemoves) {
  auto c = CompileOk("type: tag\nadd: [spring_sale_lead, vip, vip]\nremove: cold\n");
  EXPECT_EQ(c.role(), NodeRole::kCommon);
  EXPECT_THAT(c.as<TagConfig>().add, ElementsAre("spring_sale_lead", "vip"));
  EXPECT_THAT(c.as<TagConfig>().remove, ElementsAre("cold"));
}

TEST(TagKind, Errors) {
  EXPECT_THAT(ErrorsOf("type: tag\n"),
              ElementsAre("1:1: node kind 'tag' needs 'add' or 'remove' (a list of tag names)"));
  EXPECT_THAT(ErrorsOf("type: tag\nadd: []\n"), ElementsAre("2:6: a tag node must add or remove at least one tag"));
  EXPECT_THAT(ErrorsOf("type: tag\nadd: [a, '']\n"), ElementsAre("2:10: a tag name in field 'add' is empty"));
  EXPECT_THAT(ErrorsOf("type: tag\nadd: [vip]\nremove: [cold, vip]\n"),
              ElementsAre("3:9: tag 'vip' is both added and removed"));
  EXPECT_THAT(ErrorsOf("type: tag\nadd: {a: 1}\n"),
              ElementsAre("2:6: field 'add' must be a list of strings, not a map"));
}

// ---- set ----

TEST(SetKind, CompilesEachValueAsAnExpression) {
  auto c = CompileOk("type: set\ntraits: {score: 'user.score + 10', tier: '\"gold\"'}\nctx:\n  coupon: event.code\n");
  EXPECT_EQ(c.role(), NodeRole::kCommon);
  const auto& config = c.as<SetConfig>();
  ASSERT_EQ(config.traits.size(), 2u);
  EXPECT_EQ(config.traits[0].first, "score");
  EXPECT_EQ(config.traits[0].second->type(), dsl::ExprType::kNumber);
  EXPECT_EQ(config.traits[1].second->type(), dsl::ExprType::kString);
  ASSERT_EQ(config.ctx.size(), 1u);
  EXPECT_EQ(config.ctx[0].first, "coupon");
}

TEST(SetKind, Errors) {
  EXPECT_THAT(ErrorsOf("type: set\n"),
              ElementsAre("1:1: node kind 'set' needs 'traits' or 'ctx' (a map of name: expression)"));
  EXPECT_THAT(ErrorsOf("type: set\ntraits: [a]\n"), ElementsAre("2:9: field 'traits' must be a map, not a list"));
  EXPECT_THAT(ErrorsOf("type: set\nctx: {}\n"),
              ElementsAre("2:6: field 'ctx' sets nothing: give it name: expression pairs"));
  EXPECT_THAT(ErrorsOf("type: set\nctx: {a: [1]}\n"),
              ElementsAre("2:10: field 'ctx.a' must be an expression (a string), not a list"));
  // An error inside a value's expression points into that value, past its start.
  Errors errors = ErrorsOf("type: set\nctx:\n  a: '1 +'\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], ::testing::StartsWith("3:10: "));
}

// ---- split ----

TEST(SplitKind, CompilesBranchesInFileOrder) {
  auto c = CompileOk("type: split\nbranches: {variant_a: 45, variant_b: 45, holdout: 10}\nsalt: spring\n");
  EXPECT_EQ(c.role(), NodeRole::kSwitch);
  const auto& config = c.as<SplitConfig>();
  ASSERT_EQ(config.branches.size(), 3u);
  EXPECT_EQ(config.branches[2].name, "holdout");
  EXPECT_EQ(config.branches[2].percent, 10);
  EXPECT_EQ(config.salt, "spring");
}

TEST(SplitKind, PercentagesMustSumToExactly100) {
  EXPECT_THAT(ErrorsOf("type: split\nbranches: {a: 45, b: 45}\n"),
              ElementsAre("2:11: the percentages in field 'branches' sum to 90, not 100"));
  EXPECT_THAT(ErrorsOf("type: split\nbranches: {a: 50, b: 0, c: 50}\n"),
              ElementsAre("2:22: branch 'b' must have a whole percentage from 1 to 100, not '0'"));
  EXPECT_THAT(ErrorsOf("type: split\nbranches: {a: 50.5, b: 49.5}\n"),
              ElementsAre("2:15: branch 'a' must have a whole percentage from 1 to 100, not '50.5'",
                          "2:24: branch 'b' must have a whole percentage from 1 to 100, not '49.5'"));
  EXPECT_THAT(ErrorsOf("type: split\n"), ElementsAre("1:1: node kind 'split' needs field 'branches'"));
  EXPECT_THAT(ErrorsOf("type: split\nbranches: {}\n"),
              ElementsAre("2:11: field 'branches' needs at least one branch: name: percent"));
}

// ---- exit, noop, fail ----

TEST(ExitKind, EndsTheExecution) {
  auto c = CompileOk("type: exit\nreason: goal_reached\n");
  EXPECT_EQ(c.role(), NodeRole::kCommon);
  EXPECT_TRUE(c.spec->EndsExecution());
  EXPECT_EQ(c.as<ExitConfig>().reason, "goal_reached");
  EXPECT_EQ(CompileOk("type: exit\n").as<ExitConfig>().reason, "");
}

TEST(NoopKind, TakesOnlyTheCommonFields) {
  auto c = CompileOk("id: n\ntype: noop\nname: step\nretry: 2\ntimeout: 5s\n");
  EXPECT_EQ(c.role(), NodeRole::kCommon);
  EXPECT_THAT(ErrorsOf("type: noop\nmessage: x\n"), ElementsAre("2:1: unknown field 'message' for node kind 'noop'"));
}

TEST(FailKind, TakesAMessage) {
  EXPECT_EQ(CompileOk("type: fail\nmessage: boom\n").as<FailConfig>().message, "boom");
  EXPECT_EQ(CompileOk("type: fail\n").as<FailConfig>().message, "failed by a fail node");
  EXPECT_THAT(ErrorsOf("type: fail\nmessage: [a]\n"), ElementsAre("2:10: field 'message' must be a string, not a list"));
}

// ---- expr ----

TEST(ExprKind, RoleFollowsTheStaticType) {
  EXPECT_EQ(CompileOk("type: expr\nvalue: '1 + 2'\n").role(), NodeRole::kFor);
  EXPECT_EQ(CompileOk("type: expr\nvalue: '[1, 2]'\n").role(), NodeRole::kIterator);
  EXPECT_EQ(CompileOk("type: expr\nvalue: '1 < 2'\n").role(), NodeRole::kBoolean);
  EXPECT_EQ(CompileOk("type: expr\nvalue: '\"tag:a\"'\n").role(), NodeRole::kSwitch);
  EXPECT_EQ(CompileOk("type: expr\nvalue: user.coupons\n").role(), NodeRole::kAny);
}

TEST(ExprKind, OtherTypesAreRejected) {
  EXPECT_THAT(ErrorsOf("type: expr\nvalue: 'now()'\n"),
              ElementsAre("2:8: an expr node's value must be a number, list, boolean or string"));
  EXPECT_THAT(ErrorsOf("type: expr\n"), ElementsAre("1:1: node kind 'expr' needs field 'value'"));
}

}  // namespace
}  // namespace reach::nodes
