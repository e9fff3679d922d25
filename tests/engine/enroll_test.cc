// Enrollment stores a fresh execution once, with the state its first run ends in, unless the run
// needs the id sooner (a send is keyed): either way its wakeups and sends carry the real id.
#include <gtest/gtest.h>

#include "engine/engine_harness.h"

namespace reach::engine {
namespace {

using reach::testing::EngineHarness;
using storage::ExecutionStatus;

constexpr char kFlow[] = R"yaml(flow:
  nodes:
    - {id: a, type: noop}
    - {id: hook, type: webhook, url: 'https://example.com/h'}
    - {id: w, type: wait_event, event: e1, timeout: 1h}
    - {id: dl, type: delay, duration: 2h}
    - {id: b, type: noop}
  chain:
    - name: quiet
      entry: { reentry: always }
      value: "THEN(a, WHEN(w, dl), b)"
    - name: loud
      entry: { reentry: always }
      value: "THEN(a, w, hook, dl, hook, b)"
    - name: early
      entry: { reentry: always }
      value: "THEN(hook, w, b)"
    - name: done
      entry: { reentry: always }
      value: "THEN(a, b)"
)yaml";

// The executions the store holds for `user`, by id.
std::vector<storage::ExecutionRecord> Executions(EngineHarness& h, const std::string& user) {
  storage::ExecutionFilter filter;
  filter.user_id = user;
  auto list = h.store().NewReader()->ListExecutions(filter);
  EXPECT_TRUE(list.ok());
  return list.ok() ? *list : std::vector<storage::ExecutionRecord>{};
}

TEST(EngineEnroll, AFreshExecutionIsStoredWithTheWakeupsOfItsFirstRun) {
  EngineHarness h;
  h.Deploy(kFlow);
  int64_t id = h.Start("quiet", "u1");
  ASSERT_NE(id, 0);
  auto all = Executions(h, "u1");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, id);
  EXPECT_EQ(all[0].status, ExecutionStatus::kWaiting);
  EXPECT_EQ(all[0].trace, "a");
  // The wait and both timers (w's timeout, dl) were registered under the real id.
  h.Reopen();
  EXPECT_EQ(h.Event("e1", "u1").resumed, std::vector<int64_t>{id});
  EXPECT_EQ(h.Advance(2 * 3600 * 1000), 1);  // dl; w's timeout went with the wait
  EXPECT_EQ(h.Trace(id), "a==>w==>dl==>b");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
}

TEST(EngineEnroll, ASendInTheFirstRunIsKeyedWithTheRealId) {
  EngineHarness h;
  h.Deploy(kFlow);
  int64_t id = h.Start("early", "u2");
  ASSERT_EQ(h.sink().keys.size(), 1u);
  EXPECT_EQ(h.sink().keys[0].rfind(std::to_string(id) + ":", 0), 0u) << h.sink().keys[0];
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kWaiting);
  // The wait registered after the send (execution already stored) resumes it.
  EXPECT_EQ(h.Event("e1", "u2").resumed, std::vector<int64_t>{id});
  EXPECT_EQ(h.Trace(id), "hook==>w==>b");
}

TEST(EngineEnroll, LaterRunsSendWithTheSameId) {
  EngineHarness h;
  h.Deploy(kFlow);
  int64_t id = h.Start("loud", "u3");
  EXPECT_TRUE(h.sink().keys.empty());
  h.Event("e1", "u3");
  h.Advance(2 * 3600 * 1000);
  EXPECT_EQ(h.Trace(id), "a==>w==>hook==>dl==>hook==>b");
  ASSERT_EQ(h.sink().keys.size(), 2u);
  for (const std::string& key : h.sink().keys) EXPECT_EQ(key.rfind(std::to_string(id) + ":", 0), 0u) << key;
  EXPECT_NE(h.sink().keys[0], h.sink().keys[1]);
}

TEST(EngineEnroll, AnExecutionThatFinishesInItsFirstRunLeavesNoWakeups) {
  EngineHarness h;
  h.Deploy(kFlow);
  int64_t first = h.Start("done", "u4");
  int64_t second = h.Start("done", "u4");
  EXPECT_NE(first, 0);
  EXPECT_GT(second, first);
  EXPECT_EQ(h.Status_(first), ExecutionStatus::kCompleted);
  EXPECT_EQ(h.Trace(second), "a==>b");
  auto gauges = h.store().NewReader()->GetGauges();
  ASSERT_TRUE(gauges.ok());
  EXPECT_EQ(gauges->waits, 0);
  EXPECT_EQ(gauges->timers, 0);
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(ExecutionStatus::kCompleted)], 2);
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(ExecutionStatus::kRunning)], 0);
}

}  // namespace
}  // namespace reach::engine
