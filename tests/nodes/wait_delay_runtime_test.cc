// The suspending kinds at run time: wait_event (register, stay waiting on a non-matching event,
// true on a matching one, false on the timeout) and delay (duration, until, windows in time
// zones, across midnight and DST).
//
// The fake's clock starts at 2026-01-01T00:00:00Z, a Thursday.
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "nodes/runtime_test_util.h"

namespace reach::nodes {
namespace {

using testing::At;
using testing::FakeNodeContext;
using testing::Show;
using testing::TestNode;

const char* const kWaitForm =
    "type: wait_event\nevent: form_submitted\nmatch: 'event.form_id == \"spring-sale\"'\ntimeout: 3d\n";

// ---- wait_event ----

TEST(WaitEventRuntime, FirstCallRegistersTheEventWaitAndTheTimeout) {
  TestNode n = TestNode::Of(kWaitForm);
  FakeNodeContext ctx;
  EXPECT_EQ(Show(n.Run(ctx)), "suspended");
  ASSERT_EQ(ctx.event_waits().size(), 1u);
  EXPECT_EQ(ctx.event_waits()[0].event_type, "form_submitted");
  ASSERT_EQ(ctx.timers().size(), 1u);
  EXPECT_EQ(ctx.timers()[0].due_ms, At("2026-01-04T00:00:00Z"));
  // One registration for both (one wakeup row in the store, removed once).
  EXPECT_EQ(ctx.timers()[0].id, ctx.event_waits()[0].id);
  EXPECT_FALSE(ctx.node_frame.empty());
  ASSERT_EQ(ctx.notes.size(), 1u);
  EXPECT_EQ(ctx.notes[0], "waiting for form_submitted until 2026-01-04T00:00:00Z");
}

TEST(WaitEventRuntime, NonMatchingEventKeepsWaiting) {
  TestNode n = TestNode::Of(kWaitForm);
  FakeNodeContext ctx;
  n.Run(ctx);
  EXPECT_EQ(Show(n.Event(ctx, "form_submitted", {{"form_id", "autumn"}})), "suspended");
  ASSERT_EQ(ctx.registered.size(), 1u);  // the wait, with its timeout, is still there
  EXPECT_TRUE(ctx.registered[0].is_wait() && ctx.registered[0].is_timer());
  EXPECT_TRUE(ctx.event.is_null());      // the execution's event is untouched
}

TEST(WaitEventRuntime, MatchingEventIsTrueAndBecomesTheEvent) {
  TestNode n = TestNode::Of(kWaitForm);
  FakeNodeContext ctx;
  n.Run(ctx);
  n.Event(ctx, "form_submitted", {{"form_id", "autumn"}});
  ctx.now_ms += 3600 * 1000;
  EXPECT_EQ(Show(n.Event(ctx, "form_submitted", {{"form_id", "spring-sale"}})), "done true");
  ASSERT_TRUE(ctx.event.is_object());
  EXPECT_EQ(ctx.event.at("type"), "form_submitted");
  EXPECT_EQ(ctx.event.at("properties").at("form_id"), "spring-sale");
  EXPECT_TRUE(ctx.registered.empty());
}

TEST(WaitEventRuntime, TimeoutIsFalseNotAFailure) {
  TestNode n = TestNode::Of(kWaitForm);
  FakeNodeContext ctx;
  n.Run(ctx);
  EXPECT_EQ(Show(n.Timer(ctx)), "done false");
  EXPECT_EQ(ctx.now_ms, At("2026-01-04T00:00:00Z"));
  EXPECT_TRUE(ctx.event.is_null());
}

TEST(WaitEventRuntime, EventAtTheDeadlineIsLate) {
  TestNode n = TestNode::Of(kWaitForm);
  FakeNodeContext ctx;
  n.Run(ctx);
  ctx.now_ms = At("2026-01-04T00:00:00Z");  // the timer is due but has not fired yet
  EXPECT_EQ(Show(n.Event(ctx, "form_submitted", {{"form_id", "spring-sale"}})), "done false");
}

TEST(WaitEventRuntime, WithoutTimeoutWaitsForever) {
  TestNode n = TestNode::Of("type: wait_event\nevent: subscribe\n");
  FakeNodeContext ctx;
  EXPECT_EQ(Show(n.Run(ctx)), "suspended");
  EXPECT_EQ(ctx.event_waits().size(), 1u);
  EXPECT_TRUE(ctx.timers().empty());
  EXPECT_EQ(ctx.notes.at(0), "waiting for subscribe (no timeout)");
  EXPECT_EQ(Show(n.Event(ctx, "subscribe", {})), "done true");  // no match: any event will do
}

TEST(WaitEventRuntime, NodeTimeoutFromTheGraphWins) {
  TestNode n = TestNode::Of(kWaitForm);
  n.def.timeout_millis = 60 * 1000;  // what the compiler put in NodeDef
  FakeNodeContext ctx;
  n.Run(ctx);
  ASSERT_EQ(ctx.timers().size(), 1u);
  EXPECT_EQ(ctx.timers()[0].due_ms, At("2026-01-01T00:01:00Z"));
}

TEST(WaitEventRuntime, MatchErrorIgnoresThatEvent) {
  TestNode n = TestNode::Of("type: wait_event\nevent: e\nmatch: 'event.n / event.zero > 1'\n");
  FakeNodeContext ctx;
  n.Run(ctx);
  EXPECT_EQ(Show(n.Event(ctx, "e", {{"n", 1}, {"zero", 0}})), "suspended");
  EXPECT_EQ(ctx.notes.back(), "match: division by zero (event ignored, still waiting)");
  EXPECT_EQ(Show(n.Event(ctx, "e", {{"n", 4}, {"zero", 2}})), "done true");
}

TEST(WaitEventRuntime, MatchSeesTheUserAndCtxToo) {
  TestNode n = TestNode::Of("type: wait_event\nevent: e\nmatch: 'event.code == ctx.code && has_tag(\"vip\")'\n");
  FakeNodeContext ctx;
  ctx.ctx_json = {{"code", "X"}};
  ctx.user_record.tags = {"vip"};
  n.Run(ctx);
  EXPECT_EQ(Show(n.Event(ctx, "e", {{"code", "Y"}})), "suspended");
  EXPECT_EQ(Show(n.Event(ctx, "e", {{"code", "X"}})), "done true");
}

// ---- delay: duration and until ----

TEST(DelayRuntime, DurationSleepsUntilItsTimer) {
  TestNode n = TestNode::Of("type: delay\nduration: 2h\n");
  FakeNodeContext ctx;
  EXPECT_EQ(Show(n.Run(ctx)), "suspended");
  ASSERT_EQ(ctx.timers().size(), 1u);
  EXPECT_EQ(ctx.timers()[0].due_ms, At("2026-01-01T02:00:00Z"));
  EXPECT_EQ(ctx.notes.at(0), "delay for 2h");
  EXPECT_EQ(Show(n.Timer(ctx)), "done null");
  EXPECT_TRUE(ctx.registered.empty());
}

// Runs a delay once and returns its due time (or -1 when it did not wait).
int64_t DueOf(const TestNode& n, FakeNodeContext& ctx) {
  engine::NodeOutcome out = n.Run(ctx);
  if (testing::IsDone(out)) {
    EXPECT_TRUE(ctx.registered.empty());
    return -1;
  }
  EXPECT_EQ(Show(out), "suspended");
  EXPECT_EQ(ctx.timers().size(), 1u);
  return ctx.timers().empty() ? -2 : ctx.timers()[0].due_ms;
}

TEST(DelayRuntime, UntilTakesRfc3339WithOffsetAndAddsTheOffsetField) {
  FakeNodeContext ctx;
  ctx.ctx_json = {{"at", "2026-01-02T10:00:00+08:00"}};
  EXPECT_EQ(DueOf(TestNode::Of("type: delay\nuntil: 'ctx.at'\n"), ctx), At("2026-01-02T02:00:00Z"));
  FakeNodeContext ctx2;
  ctx2.ctx_json = ctx.ctx_json;
  EXPECT_EQ(DueOf(TestNode::Of("type: delay\nuntil: 'ctx.at'\noffset: -2h\n"), ctx2), At("2026-01-02T00:00:00Z"));
}

TEST(DelayRuntime, UntilTakesATimestampValue) {
  FakeNodeContext ctx;
  EXPECT_EQ(DueOf(TestNode::Of("type: delay\nuntil: 'timestamp(\"2026-01-03T00:00:00Z\")'\n"), ctx),
            At("2026-01-03T00:00:00Z"));
}

TEST(DelayRuntime, UntilInThePastDoesNotWait) {
  FakeNodeContext ctx;
  ctx.ctx_json = {{"at", "2025-12-31T00:00:00Z"}};
  EXPECT_EQ(DueOf(TestNode::Of("type: delay\nuntil: 'ctx.at'\noffset: 12h\n"), ctx), -1);
}

TEST(DelayRuntime, UntilWithoutOffsetIsLocalTimeInTzThenTheUsersZone) {
  FakeNodeContext ctx;
  ctx.ctx_json = {{"at", "2026-01-02T10:00:00"}, {"day", "2026-01-05"}};
  ctx.user_record.timezone = "America/New_York";
  // tz: says how the data writes its times, so it wins over the user's zone here.
  EXPECT_EQ(DueOf(TestNode::Of("type: delay\nuntil: 'ctx.at'\ntz: Asia/Shanghai\n"), ctx), At("2026-01-02T02:00:00Z"));
  FakeNodeContext ny;
  ny.ctx_json = ctx.ctx_json;
  ny.user_record.timezone = "America/New_York";
  EXPECT_EQ(DueOf(TestNode::Of("type: delay\nuntil: 'ctx.at'\n"), ny), At("2026-01-02T15:00:00Z"));
  FakeNodeContext date;
  date.ctx_json = ctx.ctx_json;
  EXPECT_EQ(DueOf(TestNode::Of("type: delay\nuntil: 'ctx.day'\ntz: Asia/Shanghai\n"), date),
            At("2026-01-04T16:00:00Z"));  // local midnight
}

TEST(DelayRuntime, UntilThatIsNotATimeFails) {
  FakeNodeContext ctx;
  ctx.ctx_json = {{"at", "tomorrow"}};
  EXPECT_EQ(Show(TestNode::Of("type: delay\nuntil: 'ctx.at'\n").Run(ctx)),
            "failed TypeError: until must give a timestamp or an RFC 3339 time, not string (tomorrow)");
  EXPECT_EQ(Show(TestNode::Of("type: delay\nuntil: 'ctx.missing'\n").Run(ctx)),
            "failed TypeError: until must give a timestamp or an RFC 3339 time, not null (null)");
  EXPECT_TRUE(ctx.registered.empty());
}

// ---- delay: windows ----

const char* const kDaytime = "type: delay\nwindow: {from: \"09:00\", to: \"21:00\"}\n";
const char* const kNight = "type: delay\nwindow: {from: \"21:00\", to: \"08:00\"}\n";

int64_t WindowDue(const std::string& yaml, const std::string& now, const std::string& user_tz = "") {
  FakeNodeContext ctx;
  ctx.now_ms = At(now);
  ctx.user_record.timezone = user_tz;
  return DueOf(TestNode::Of(yaml), ctx);
}

TEST(DelayRuntime, WindowOpenNowDoesNotWait) {
  EXPECT_EQ(WindowDue(kDaytime, "2026-01-01T10:00:00Z"), -1);
  EXPECT_EQ(WindowDue(kDaytime, "2026-01-01T09:00:00Z"), -1);  // `from` is inside
}

TEST(DelayRuntime, WindowWaitsForTodaysOpeningOrTomorrows) {
  EXPECT_EQ(WindowDue(kDaytime, "2026-01-01T07:00:00Z"), At("2026-01-01T09:00:00Z"));
  EXPECT_EQ(WindowDue(kDaytime, "2026-01-01T21:00:00Z"), At("2026-01-02T09:00:00Z"));  // `to` is outside
}

TEST(DelayRuntime, WindowSkipsDaysNotAllowed) {
  // Thursday morning, Monday only: the next Monday.
  EXPECT_EQ(WindowDue("type: delay\nwindow: {from: \"09:00\", to: \"21:00\", days: [mon]}\n", "2026-01-01T10:00:00Z"),
            At("2026-01-05T09:00:00Z"));
  // Friday night, weekdays: Monday.
  EXPECT_EQ(WindowDue("type: delay\nwindow: {from: \"09:00\", to: \"18:00\", days: [mon, tue, wed, thu, fri]}\n",
                      "2026-01-02T19:00:00Z"),
            At("2026-01-05T09:00:00Z"));
}

TEST(DelayRuntime, WindowAcrossMidnight) {
  EXPECT_EQ(WindowDue(kNight, "2026-01-01T23:00:00Z"), -1);
  EXPECT_EQ(WindowDue(kNight, "2026-01-01T03:00:00Z"), -1);  // opened yesterday at 21:00
  EXPECT_EQ(WindowDue(kNight, "2026-01-01T08:00:00Z"), At("2026-01-01T21:00:00Z"));
  EXPECT_EQ(WindowDue(kNight, "2026-01-01T12:00:00Z"), At("2026-01-01T21:00:00Z"));
}

TEST(DelayRuntime, WindowAcrossMidnightCountsTheDayItOpens) {
  const std::string friday_night = "type: delay\nwindow: {from: \"21:00\", to: \"08:00\", days: [fri]}\n";
  EXPECT_EQ(WindowDue(friday_night, "2026-01-03T03:00:00Z"), -1);  // Saturday 03:00: Friday's window
  // Thursday 03:00 belongs to Wednesday's window, which is not allowed: Friday 21:00.
  EXPECT_EQ(WindowDue(friday_night, "2026-01-01T03:00:00Z"), At("2026-01-02T21:00:00Z"));
}

TEST(DelayRuntime, WindowIsOnTheUsersClockThenTz) {
  const std::string with_tz = "type: delay\nwindow: {from: \"09:00\", to: \"21:00\"}\ntz: America/New_York\n";
  // 00:00Z is 08:00 in Shanghai: one hour to go.
  EXPECT_EQ(WindowDue(with_tz, "2026-01-01T00:00:00Z", "Asia/Shanghai"), At("2026-01-01T01:00:00Z"));
  // No (or an unknown) user zone: the node's tz. 03:00Z is 22:00 EST the day before; the
  // window opens at 09:00 EST = 14:00Z.
  EXPECT_EQ(WindowDue(with_tz, "2026-01-01T03:00:00Z"), At("2026-01-01T14:00:00Z"));
  EXPECT_EQ(WindowDue(with_tz, "2026-01-01T03:00:00Z", "Mars/Olympus"), At("2026-01-01T14:00:00Z"));
  EXPECT_EQ(WindowDue(with_tz, "2026-01-01T00:00:00Z"), -1);  // 19:00 EST: open
  // Neither: UTC.
  EXPECT_EQ(WindowDue(kDaytime, "2026-01-01T00:00:00Z"), At("2026-01-01T09:00:00Z"));
  // Shanghai's 21:00-08:00 night is open at 14:00Z (22:00 local).
  EXPECT_EQ(WindowDue(kNight, "2026-01-01T14:00:00Z", "Asia/Shanghai"), -1);
}

TEST(DelayRuntime, WindowOpeningInADstGapOpensWhenTheClockJumps) {
  // New York skips 02:00-03:00 on 2026-03-08; 01:00 EST is 06:00Z, 03:00 EDT is 07:00Z.
  EXPECT_EQ(WindowDue("type: delay\nwindow: {from: \"02:30\", to: \"04:00\"}\n", "2026-03-08T06:00:00Z",
                      "America/New_York"),
            At("2026-03-08T07:00:00Z"));
}

TEST(DelayRuntime, WindowNoteSaysWhichClock) {
  FakeNodeContext ctx;
  ctx.now_ms = At("2026-01-01T07:00:00Z");
  ctx.user_record.timezone = "Asia/Shanghai";  // 15:00 local, window 09:05-12:00
  TestNode n = TestNode::Of("type: delay\nwindow: {from: \"09:05\", to: \"12:00\"}\n");
  EXPECT_EQ(Show(n.Run(ctx)), "suspended");
  EXPECT_EQ(ctx.notes.at(0), "delay for the window 09:05-12:00 Asia/Shanghai, until 2026-01-02T01:05:00Z");
  EXPECT_EQ(Show(n.Timer(ctx)), "done null");
}

}  // namespace
}  // namespace reach::nodes
