// EngineService::FireAllDue: timers fire in jobs of timer_batch, up to timer_jobs queued at a
// time, until a job comes back short.
#include <gtest/gtest.h>

#include "engine/engine_harness.h"
#include "engine/engine_service.h"

namespace reach::engine {
namespace {

using reach::testing::EngineHarness;
using storage::ExecutionStatus;

constexpr char kFlow[] = R"yaml(flow:
  nodes:
    - {id: a, type: noop}
    - {id: dl, type: delay, duration: 1h}
    - {id: b, type: noop}
  chain:
    - name: main
      entry: { reentry: always }
      value: "THEN(a, dl, b)"
)yaml";

EngineOptions SmallBatches() {
  EngineOptions options;
  options.timer_batch = 4;
  options.timer_jobs = 8;  // up to 8 jobs of 4 queued at a time
  return options;
}

TEST(EngineServiceTimers, FireAllDueFiresABacklogInSmallJobsUntilOneComesBackShort) {
  EngineHarness h(SmallBatches());
  h.Deploy(kFlow);
  std::vector<int64_t> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(h.Start("main", "u" + std::to_string(i % 7)));
  EngineService service(h.store(), h.engine(), h.clock());  // not started: this thread fires

  int fired = 0;
  ASSERT_TRUE(service.FireAllDue(fired).ok());
  EXPECT_EQ(fired, 0);  // nothing due yet
  h.clock().Advance(3600 * 1000);
  ASSERT_TRUE(service.FireAllDue(fired).ok());
  EXPECT_EQ(fired, 50);  // 13 jobs: 12 full, one short
  EXPECT_EQ(service.counters().timers_fired.load(), 50u);
  ASSERT_TRUE(service.FireAllDue(fired).ok());
  EXPECT_EQ(fired, 0);

  for (int64_t id : ids) {
    EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted) << id;
    EXPECT_EQ(h.Trace(id), "a==>dl==>b") << id;
  }
  // Node counters are summed per job and still add up.
  auto stats = h.store().NewReader()->GetNodeStats("main");
  ASSERT_TRUE(stats.ok());
  for (const storage::NodeStats& s : *stats) {
    EXPECT_EQ(s.entered, 50) << s.node;
    EXPECT_EQ(s.completed, 50) << s.node;
    EXPECT_EQ(s.waiting, 0) << s.node;
  }
  auto gauges = h.store().NewReader()->GetGauges();
  ASSERT_TRUE(gauges.ok());
  EXPECT_EQ(gauges->timers, 0);
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(ExecutionStatus::kCompleted)], 50);
}

TEST(EngineServiceTimers, FireAllDueOnAClosedStoreReportsTheErrorAndCountsNothing) {
  EngineHarness h(SmallBatches());
  h.Deploy(kFlow);
  for (int i = 0; i < 50; ++i) h.Start("main");
  EngineService service(h.store(), h.engine(), h.clock());
  h.clock().Advance(3600 * 1000);
  h.store().Close();
  int fired = 0;
  EXPECT_FALSE(service.FireAllDue(fired).ok());
  EXPECT_EQ(fired, 0);  // every job was refused
  EXPECT_EQ(service.counters().timers_fired.load(), 0u);
}

}  // namespace
}  // namespace reach::engine
