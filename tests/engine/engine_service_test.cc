// EngineService::FireDueNow: timers fire in jobs of timer_batch that commit together,
// one job per round while idle, timer_jobs jobs per round once a round comes back full.
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
  options.timer_jobs = 8;  // 32 timers a round at most
  return options;
}

TEST(EngineServiceTimers, FireDueNowFiresABacklogInRoundsOfSmallJobs) {
  EngineHarness h(SmallBatches());
  h.Deploy(kFlow);
  std::vector<int64_t> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(h.Start("main", "u" + std::to_string(i % 7)));
  EngineService service(h.store(), h.engine(), h.clock());  // not started: this thread fires

  int fired = 0, started = 0;
  ASSERT_TRUE(service.FireDueNow(fired, started).ok());
  EXPECT_EQ(fired, 0);  // nothing due yet
  h.clock().Advance(3600 * 1000);
  ASSERT_TRUE(service.FireDueNow(fired, started).ok());
  EXPECT_EQ(fired, 4);   // idle before: one job
  ASSERT_TRUE(service.FireDueNow(fired, started).ok());
  EXPECT_EQ(fired, 32);  // the round came back full: timer_jobs jobs
  ASSERT_TRUE(service.FireDueNow(fired, started).ok());
  EXPECT_EQ(fired, 14);  // the rest
  ASSERT_TRUE(service.FireDueNow(fired, started).ok());
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
}

TEST(EngineServiceTimers, FireDueNowOnAClosedStoreReportsTheErrorAndCountsNothing) {
  EngineHarness h(SmallBatches());
  h.Deploy(kFlow);
  for (int i = 0; i < 50; ++i) h.Start("main");
  EngineService service(h.store(), h.engine(), h.clock());
  h.clock().Advance(3600 * 1000);
  int fired = 0, started = 0;
  ASSERT_TRUE(service.FireDueNow(fired, started).ok());
  ASSERT_EQ(fired, 4);  // full: the next round queues 8 jobs
  h.store().Close();
  EXPECT_FALSE(service.FireDueNow(fired, started).ok());
  EXPECT_EQ(fired, 0);  // every job was refused
}

}  // namespace
}  // namespace reach::engine
