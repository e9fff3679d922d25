// The executor: LiteFlow's step traces for every construct, and suspending / resuming inside
// every construct with the store closed and reopened in between.
#include <gtest/gtest.h>

#include "engine/engine_harness.h"

namespace reach::engine {
namespace {

using reach::testing::EngineHarness;
using storage::ExecutionStatus;

constexpr int64_t kHour = 3600 * 1000;

// Nodes shared by the tests; each test adds its chains.
const std::string kNodes = R"(flow:
  nodes:
    - {id: a, type: noop}
    - {id: b, type: noop}
    - {id: c, type: noop}
    - {id: d, type: noop}
    - {id: named, type: noop, name: Welcome}
    - {id: yes, type: condition, if: 'true'}
    - {id: no, type: condition, if: 'false'}
    - {id: yes_expr, type: expr, value: 'true'}
    - {id: no_expr, type: expr, value: 'false'}
    - {id: boom, type: fail, message: kaboom}
    - {id: sw, type: switch, to: '"b"'}
    - {id: sw_tag, type: switch, to: '"tag:t"'}
    - {id: sw_none, type: switch, to: '"zzz"'}
    - {id: two, type: expr, value: '2'}
    - {id: three_items, type: expr, value: '["x", "y", "z"]'}
    - {id: inc, type: set, ctx: {n: 'ctx.n == null ? 1 : ctx.n + 1'}}
    - {id: below2, type: expr, value: 'ctx.n == null || ctx.n < 2'}
    - {id: reached2, type: expr, value: 'ctx.n >= 2'}
    - {id: item_tag, type: tag, add: ['seen']}
    - {id: w, type: wait_event, event: e1, timeout: 1h}
    - {id: w2, type: wait_event, event: e2, timeout: 1h}
    - {id: wm, type: wait_event, event: form, match: 'event.form_id == "spring"'}
    - {id: dl, type: delay, duration: 1h}
    - {id: dl2, type: delay, duration: 2h}
    - {id: bye, type: exit, reason: goal}
  chain:
)";

std::string Flow(const std::vector<std::pair<std::string, std::string>>& chains) {
  std::string text = kNodes;
  for (const auto& [name, value] : chains) text += "    - name: " + name + "\n      value: \"" + value + "\"\n";
  return text;
}

EngineOptions NoBackoff() {
  EngineOptions o;
  o.executor.retry_backoff_base_ms = 0;
  return o;
}

// Runs `el` as chain "main" to its end (no waits) and returns "status: trace".
std::string RunToEnd(const std::string& el, const std::vector<std::pair<std::string, std::string>>& more = {}) {
  EngineHarness h(NoBackoff());
  auto chains = more;
  chains.emplace_back("main", el);
  h.Deploy(Flow(chains));
  int64_t id = h.Start("main");
  storage::ExecutionRecord e = h.Get(id);
  return std::string(storage::ExecutionStatusName(e.status)) + ": " + e.trace;
}

// --- LiteFlow's step traces ------------------------------------------------------------------

TEST(ExecutorTrace, ThenRunsInOrder) { EXPECT_EQ(RunToEnd("THEN(a, b, c)"), "completed: a==>b==>c"); }

TEST(ExecutorTrace, WhenRunsEveryBranch) { EXPECT_EQ(RunToEnd("WHEN(a, b, c)"), "completed: a==>b==>c"); }

TEST(ExecutorTrace, IfShowsTheConditionThenTheBranch) {
  EXPECT_EQ(RunToEnd("IF(yes, a, b)"), "completed: yes==>a");
  EXPECT_EQ(RunToEnd("IF(no, a, b)"), "completed: no==>b");
  EXPECT_EQ(RunToEnd("IF(no, a)"), "completed: no");
  EXPECT_EQ(RunToEnd("IF(no, a).ELIF(yes, b).ELSE(c)"), "completed: no==>yes==>b");
  EXPECT_EQ(RunToEnd("IF(no, a).ELIF(no_expr, b).ELSE(c)"), "completed: no==>no_expr==>c");
}

TEST(ExecutorTrace, AndOrStopEarly) {
  EXPECT_EQ(RunToEnd("IF(AND(yes, no, yes_expr), a, b)"), "completed: yes==>no==>b");
  EXPECT_EQ(RunToEnd("IF(OR(yes, no), a, b)"), "completed: yes==>a");
  EXPECT_EQ(RunToEnd("IF(NOT(no), a, b)"), "completed: no==>a");
}

TEST(ExecutorTrace, SwitchPicksByIdTagOrDefault) {
  EXPECT_EQ(RunToEnd("SWITCH(sw).TO(a, b).DEFAULT(c)"), "completed: sw==>b");
  EXPECT_EQ(RunToEnd("SWITCH(sw_tag).TO(a, c.tag('t'), b.tag('t'))"), "completed: sw_tag==>c");
  EXPECT_EQ(RunToEnd("SWITCH(sw_none).TO(a, b).DEFAULT(c)"), "completed: sw_none==>c");
  EXPECT_EQ(RunToEnd("SWITCH(sw).TO(a, THEN(c, d).id('b'))"), "completed: sw==>c==>d");
}

TEST(ExecutorTrace, SwitchWithoutMatchOrDefaultFails) {
  EXPECT_EQ(RunToEnd("SWITCH(sw_none).TO(a, b)"), "failed: sw_none");
}

TEST(ExecutorTrace, ForWithALiteralCountAddsALoopPseudoStep) {
  EXPECT_EQ(RunToEnd("FOR(2).DO(THEN(a, b))"), "completed: LOOP_2==>a==>b==>a==>b");
  EXPECT_EQ(RunToEnd("FOR(two).DO(a)"), "completed: two==>a==>a");
}

TEST(ExecutorTrace, WhileShowsItsConditionBeforeEachPassAndOnceMore) {
  EXPECT_EQ(RunToEnd("WHILE(below2).DO(inc)"), "completed: below2==>inc==>below2==>inc==>below2");
}

TEST(ExecutorTrace, IteratorShowsItsNodeOnceThenEachPass) {
  EXPECT_EQ(RunToEnd("ITERATOR(three_items).DO(a)"), "completed: three_items==>a==>a==>a");
}

TEST(ExecutorTrace, BreakAppearsAfterEachBody) {
  EXPECT_EQ(RunToEnd("FOR(5).DO(inc).BREAK(reached2)"), "completed: LOOP_5==>inc==>reached2==>inc==>reached2");
}

TEST(ExecutorTrace, AFailedNodeAppearsAndTheRestOfItsThenIsSkipped) {
  EXPECT_EQ(RunToEnd("THEN(a, boom, b)"), "failed: a==>boom");
}

TEST(ExecutorTrace, CatchRecoversWithDoOrSwallows) {
  EXPECT_EQ(RunToEnd("CATCH(THEN(a, boom, b)).DO(c)"), "completed: a==>boom==>c");
  EXPECT_EQ(RunToEnd("THEN(CATCH(boom), d)"), "completed: boom==>d");
  EXPECT_EQ(RunToEnd("CATCH(boom).DO(THEN(c, boom))"), "failed: boom==>c==>boom");
}

TEST(ExecutorTrace, PreRunsFirstAndFinallyLastEvenAfterAFailure) {
  EXPECT_EQ(RunToEnd("THEN(FINALLY(c), b, PRE(a))"), "completed: a==>b==>c");
  EXPECT_EQ(RunToEnd("THEN(PRE(a), boom, b, FINALLY(c))"), "failed: a==>boom==>c");
}

TEST(ExecutorTrace, FinallyRunsOnEveryLoopPass) {
  EXPECT_EQ(RunToEnd("FOR(2).DO(THEN(a, FINALLY(c)))"), "completed: LOOP_2==>a==>c==>a==>c");
}

TEST(ExecutorTrace, RetryReRunsTheWholeConstruct) {
  EXPECT_EQ(RunToEnd("THEN(a, boom).retry(2)"), "failed: a==>boom==>a==>boom==>a==>boom");
  EXPECT_EQ(RunToEnd("THEN(a, boom).retry(2, 'SomethingElse')"), "failed: a==>boom");
  EXPECT_EQ(RunToEnd("THEN(a, boom).retry(1, 'FailNode')"), "failed: a==>boom==>a==>boom");
}

TEST(ExecutorTrace, SubChainsAndVariablesAppearInline) {
  EXPECT_EQ(RunToEnd("THEN(a, sub, d)", {{"sub", "THEN(b, c)"}}), "completed: a==>b==>c==>d");
  EXPECT_EQ(RunToEnd("t = THEN(a, b); THEN(t, c, t)"), "completed: a==>b==>c==>a==>b");
}

TEST(ExecutorTrace, NamedNodesShowIdAndName) { EXPECT_EQ(RunToEnd("THEN(named, a)"), "completed: named[Welcome]==>a"); }

TEST(ExecutorTrace, WhenFailsWithABranchUnlessErrorsAreIgnored) {
  EXPECT_EQ(RunToEnd("WHEN(boom, a)"), "failed: boom==>a");
  EXPECT_EQ(RunToEnd("THEN(WHEN(boom, a).ignoreError(true), b)"), "completed: boom==>a==>b");
}

TEST(ExecutorTrace, AConditionUsedAsAStepEndsTheJourneyWhenFalse) {
  EXPECT_EQ(RunToEnd("THEN(yes, a, no, b)"), "completed: yes==>a==>no");
}

TEST(ExecutorTrace, ExitEndsTheExecutionAsCompleted) { EXPECT_EQ(RunToEnd("THEN(a, bye, b)"), "completed: a==>bye"); }

// --- suspending and resuming across a reopened store ------------------------------------------

TEST(ExecutorResume, WaitEventResumesOnMatchingEventAfterRestart) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "THEN(a, IF(w, b, c), d)"}}));
  int64_t id = h.Start("main");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kWaiting);
  EXPECT_EQ(h.Trace(id), "a");
  h.Reopen();
  h.Event("unrelated");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kWaiting);
  auto out = h.Event("e1");
  EXPECT_EQ(out.resumed, std::vector<int64_t>{id});
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
  EXPECT_EQ(h.Trace(id), "a==>w==>b==>d");
  // The timeout timer went with the wait: advancing fires nothing.
  EXPECT_EQ(h.Advance(2 * kHour), 0);
}

TEST(ExecutorResume, WaitEventTimesOutAsFalse) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "THEN(a, IF(w, b, c))"}}));
  int64_t id = h.Start("main");
  h.Reopen();
  EXPECT_EQ(h.Advance(kHour - 1), 0);
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kWaiting);
  EXPECT_EQ(h.Advance(1), 1);
  EXPECT_EQ(h.Trace(id), "a==>w==>c");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
}

TEST(ExecutorResume, WaitEventIgnoresEventsThatDoNotMatch) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "THEN(wm, a)"}}));
  int64_t id = h.Start("main");
  h.Event("form", "u1", {{"form_id", "autumn"}});
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kWaiting);
  h.Event("form", "u2", {{"form_id", "spring"}});  // another user's
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kWaiting);
  h.Event("form", "u1", {{"form_id", "spring"}});
  EXPECT_EQ(h.Trace(id), "wm==>a");
}

TEST(ExecutorResume, DelayFiresOnceAfterRestart) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "THEN(a, dl, b)"}}));
  int64_t id = h.Start("main");
  h.Reopen();
  EXPECT_EQ(h.Advance(kHour), 1);
  EXPECT_EQ(h.Trace(id), "a==>dl==>b");
  EXPECT_EQ(h.Advance(kHour), 0);
}

TEST(ExecutorResume, WhenBranchesSuspendIndependentlyAndJoinDurably) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "THEN(WHEN(THEN(w, a), THEN(dl2, b)), c)"}}));
  int64_t id = h.Start("main");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kWaiting);
  h.Reopen();
  h.Event("e1");
  EXPECT_EQ(h.Trace(id), "w==>a");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kWaiting);
  h.Reopen();
  h.Advance(2 * kHour);
  EXPECT_EQ(h.Trace(id), "w==>a==>dl2==>b==>c");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
}

TEST(ExecutorResume, WhenAnyAbandonsTheSlowerBranch) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "THEN(WHEN(THEN(w, a), THEN(dl2, b)).any(true), c)"}}));
  int64_t id = h.Start("main");
  h.Reopen();
  h.Event("e1");
  EXPECT_EQ(h.Trace(id), "w==>a==>c");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
  EXPECT_EQ(h.Advance(3 * kHour), 0);  // the delay's timer was removed
}

TEST(ExecutorResume, WhenMustWaitsOnlyForTheNamedBranches) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "THEN(WHEN(THEN(dl, a).id('fast'), THEN(dl2, b)).must('fast'), c)"}}));
  int64_t id = h.Start("main");
  h.Advance(kHour);
  EXPECT_EQ(h.Trace(id), "dl==>a==>c");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
}

TEST(ExecutorResume, LoopResumesInTheRightIteration) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "FOR(3).DO(THEN(a, dl))"}}));
  int64_t id = h.Start("main");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(h.Status_(id), ExecutionStatus::kWaiting);
    h.Reopen();
    EXPECT_EQ(h.Advance(kHour), 1);
  }
  EXPECT_EQ(h.Trace(id), "LOOP_3==>a==>dl==>a==>dl==>a==>dl");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
}

TEST(ExecutorResume, IteratorKeepsItsItemAcrossARestart) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "ITERATOR(three_items).DO(THEN(dl, item_tag))"}}));
  int64_t id = h.Start("main");
  h.Reopen();
  h.Advance(kHour);
  h.Reopen();
  h.Advance(kHour);
  h.Advance(kHour);
  EXPECT_EQ(h.Trace(id), "three_items==>dl==>item_tag==>dl==>item_tag==>dl==>item_tag");
}

TEST(ExecutorResume, ParallelLoopRunsPassesSideBySide) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "THEN(FOR(3).DO(THEN(dl, a)).parallel(true), b)"}}));
  int64_t id = h.Start("main");
  h.Reopen();
  EXPECT_EQ(h.Advance(kHour), 3);
  EXPECT_EQ(h.Trace(id), "LOOP_3==>dl==>a==>dl==>a==>dl==>a==>b");
}

TEST(ExecutorResume, CatchHoldsASuspensionAndStillCatches) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "THEN(CATCH(THEN(dl, boom)).DO(c), d)"}}));
  int64_t id = h.Start("main");
  h.Reopen();
  h.Advance(kHour);
  EXPECT_EQ(h.Trace(id), "dl==>boom==>c==>d");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
}

TEST(ExecutorResume, FinallyRunsAfterAFailureThatFollowedASuspension) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "THEN(PRE(a), dl, boom, b, FINALLY(c))"}}));
  int64_t id = h.Start("main");
  h.Reopen();
  h.Advance(kHour);
  EXPECT_EQ(h.Trace(id), "a==>dl==>boom==>c");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kFailed);
}

TEST(ExecutorResume, SubChainSuspendsInside) {
  EngineHarness h;
  h.Deploy(Flow({{"sub", "THEN(b, w)"}, {"main", "THEN(a, sub, c)"}}));
  int64_t id = h.Start("main");
  h.Reopen();
  h.Event("e1");
  EXPECT_EQ(h.Trace(id), "a==>b==>w==>c");
}

TEST(ExecutorResume, MaxWaitIsADurableTimeout) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "CATCH(THEN(a, w2.maxWaitSeconds(60))).DO(c)"}}));
  int64_t id = h.Start("main");
  h.Reopen();
  EXPECT_EQ(h.Advance(60 * 1000), 1);
  EXPECT_EQ(h.Trace(id), "a==>c");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
  EXPECT_EQ(h.Advance(2 * kHour), 0);  // the wait's own timeout went with it
}

TEST(ExecutorResume, RetryBacksOffDurably) {
  EngineHarness h;  // default backoff: 1 s, then 2 s
  h.Deploy(Flow({{"main", "THEN(a, boom).retry(2)"}}));
  int64_t id = h.Start("main");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kWaiting);
  EXPECT_EQ(h.Trace(id), "a==>boom");
  h.Reopen();
  EXPECT_EQ(h.Advance(999), 0);
  EXPECT_EQ(h.Advance(1), 1);
  EXPECT_EQ(h.Trace(id), "a==>boom==>a==>boom");
  EXPECT_EQ(h.Advance(2000), 1);
  EXPECT_EQ(h.Trace(id), "a==>boom==>a==>boom==>a==>boom");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kFailed);
}

TEST(ExecutorResume, CancelRemovesWaitsAndTimers) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "WHEN(w, dl)"}}));
  int64_t id = h.Start("main");
  bool cancelled = false;
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().Cancel(t, id, cancelled); }).ok());
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCancelled);
  EXPECT_TRUE(h.Event("e1").resumed.empty());
  EXPECT_EQ(h.Advance(kHour), 0);
}

// --- triggers, entry rules, versions ----------------------------------------------------------

TEST(EngineTriggers, AnEventEnrollsAndResumesInOneCommit) {
  EngineHarness h;
  std::string flow = kNodes + "    - name: on_e1\n      trigger: { event: e1 }\n      value: \"THEN(a, w)\"\n"
                              "    - name: main\n      value: \"THEN(w, b)\"\n";
  h.Deploy(flow);
  int64_t waiting = h.Start("main");
  auto out = h.Event("e1");
  EXPECT_EQ(out.resumed, std::vector<int64_t>{waiting});
  ASSERT_EQ(out.started.size(), 1u);
  EXPECT_EQ(h.Trace(waiting), "w==>b");
  // The new execution is waiting for the next e1, not satisfied by the one that started it.
  EXPECT_EQ(h.Status_(out.started[0]), ExecutionStatus::kWaiting);
  EXPECT_EQ(h.Trace(out.started[0]), "a");
}

TEST(EngineTriggers, TriggerMatchFiltersEvents) {
  EngineHarness h;
  h.Deploy(kNodes + "    - name: on_scan\n      trigger: { event: scan, match: 'event.scene == \"qr\"' }\n      value: \"THEN(a)\"\n");
  EXPECT_TRUE(h.Event("scan", "u1", {{"scene", "menu"}}).started.empty());
  EXPECT_EQ(h.Event("scan", "u1", {{"scene", "qr"}}).started.size(), 1u);
}

TEST(EngineTriggers, DuplicateMessageIdChangesNothing) {
  EngineHarness h;
  h.Deploy(kNodes + "    - name: on_e1\n      trigger: { event: e1 }\n      entry: { reentry: always }\n      value: \"THEN(a)\"\n");
  auto first = h.Event("e1", "u1", {}, "m-1");
  auto again = h.Event("e1", "u1", {}, "m-1");
  EXPECT_FALSE(first.duplicate);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(first.seq, again.seq);
  EXPECT_TRUE(again.started.empty());
}

TEST(EngineTriggers, EntryRulesOnceAfterExitAlways) {
  EngineHarness h;
  h.Deploy(kNodes + "    - name: once\n      value: \"THEN(a)\"\n"
                    "    - name: after\n      entry: { reentry: after_exit }\n      value: \"THEN(w)\"\n"
                    "    - name: always\n      entry: { reentry: always }\n      value: \"THEN(a)\"\n");
  EXPECT_NE(h.Start("once"), 0);
  EXPECT_EQ(h.Start("once"), 0);
  EXPECT_EQ(h.last_refusal, "already entered (reentry: once)");
  int64_t first = h.Start("after");
  EXPECT_NE(first, 0);
  EXPECT_EQ(h.Start("after"), 0);
  h.Event("e1");
  EXPECT_NE(h.Start("after"), 0);
  EXPECT_NE(h.Start("always"), 0);
  EXPECT_NE(h.Start("always"), 0);
}

TEST(EngineTriggers, EntryKeyAllowsOneRunPerKey) {
  EngineHarness h;
  h.Deploy(kNodes + "    - name: per_campaign\n      trigger: { event: visit }\n      entry: { key: 'event.campaign' }\n      value: \"THEN(a)\"\n");
  EXPECT_EQ(h.Event("visit", "u1", {{"campaign", "spring"}}).started.size(), 1u);
  EXPECT_EQ(h.Event("visit", "u1", {{"campaign", "spring"}}).started.size(), 0u);
  EXPECT_EQ(h.Event("visit", "u1", {{"campaign", "autumn"}}).started.size(), 1u);
}

TEST(EngineVersions, RunningExecutionsStayOnTheVersionTheyEntered) {
  EngineHarness h;
  h.Deploy(Flow({{"main", "THEN(a, w, b)"}}));
  int64_t old_run = h.Start("main", "u1");
  std::string old_version = h.Get(old_run).chain_version;
  h.Deploy(Flow({{"main", "THEN(a, w, c, d)"}}));
  int64_t new_run = h.Start("main", "u2");
  EXPECT_NE(h.Get(new_run).chain_version, old_version);
  h.Reopen();
  h.Event("e1", "u1");
  h.Event("e1", "u2");
  EXPECT_EQ(h.Trace(old_run), "a==>w==>b");
  EXPECT_EQ(h.Trace(new_run), "a==>w==>c==>d");
}

TEST(EngineSends, SendKeysAreDeterministicPerExecutionNodeAndOccurrence) {
  EngineHarness h(NoBackoff());
  std::string flow = kNodes;
  flow.insert(flow.find("  chain:"), "    - {id: hook, type: webhook, url: 'https://example.com/h'}\n");
  flow += "    - name: main\n      value: \"FOR(2).DO(hook)\"\n";
  h.Deploy(flow);
  int64_t id = h.Start("main");
  ASSERT_EQ(h.sink().keys.size(), 2u);
  EXPECT_NE(h.sink().keys[0], h.sink().keys[1]);
  EXPECT_EQ(h.sink().keys[0].rfind(std::to_string(id) + ":", 0), 0u);
}

TEST(ExecutorTimeZones, AWindowFallsBackToTheFlowsTimeZoneWhenTheUsersIsUnknown) {
  EngineHarness h;  // the clock starts at 2026-11-18T11:06:40Z = 19:06:40 in Shanghai
  h.Deploy("flow:\n  tz: Asia/Shanghai\n  nodes:\n"
           "    - {id: morning, type: delay, window: {from: '09:00', to: '10:00'}}\n"
           "    - {id: a, type: noop}\n  chain:\n    - name: main\n      value: \"THEN(morning, a)\"\n");
  int64_t id = h.Start("main");
  // The next 09:00 in Shanghai is 2026-11-19T01:00:00Z: 13 h 53 min 20 s later.
  const int64_t until_nine = (13 * 3600 + 53 * 60 + 20) * 1000LL;
  EXPECT_EQ(h.Advance(until_nine - 1), 0);
  EXPECT_EQ(h.Advance(1), 1);
  EXPECT_EQ(h.Trace(id), "morning==>a");
}

TEST(EnginePause, PausingAFlowHoldsItsSendsUntilItIsResumed) {
  EngineHarness h(NoBackoff());
  std::string flow = kNodes;
  flow.insert(flow.find("  chain:"), "    - {id: hook, type: webhook, url: 'https://example.com/h'}\n");
  flow += "    - name: main\n      value: \"THEN(dl, hook, a)\"\n";
  h.Deploy(flow, "paused_flow.yaml");
  int64_t id = h.Start("main");
  bool found = false;
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().SetPaused(t, "paused_flow", true, found); }).ok());
  ASSERT_TRUE(found);
  EXPECT_EQ(h.Start("main", "u2"), 0);  // a paused flow enrolls nobody
  h.Advance(kHour);
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kWaiting);
  EXPECT_TRUE(h.sink().requests.empty());
  h.Reopen();
  h.Advance(60 * 1000);  // still paused: held again
  EXPECT_TRUE(h.sink().requests.empty());
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().SetPaused(t, "paused_flow", false, found); }).ok());
  h.Advance(60 * 1000);
  EXPECT_EQ(h.sink().requests.size(), 1u);
  EXPECT_EQ(h.Trace(id), "dl==>hook==>a");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
}

}  // namespace
}  // namespace reach::engine
