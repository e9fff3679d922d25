// Firing timers: a batch's wakeups and executions are read in one statement, the event stays
// unparsed and the user unread unless a node needs them, and the timer thread fires what comes
// due (FireAllDue's jobs: engine_service_test.cc).
#include <gtest/gtest.h>

#include "engine/engine_harness.h"
#include "engine/engine_service.h"

namespace reach::engine {
namespace {

using reach::testing::EngineHarness;
using storage::ExecutionStatus;

constexpr char kFlow[] = R"yaml(flow:
  nodes:
    - {id: dl, type: delay, duration: 1h}
    - {id: big, type: condition, if: 'event.properties.amount > 100'}
    - {id: vip, type: condition, if: 'user.tier == "gold"'}
    - {id: note, type: set, ctx: { sku: 'event.properties.sku' }}
    - {id: b, type: noop}
    - {id: w1, type: delay, duration: 1h}
    - {id: w2, type: delay, duration: 1h}
  chain:
    - name: reads_event
      trigger: { event: cart }
      entry: { reentry: always }
      value: "THEN(dl, IF(big, note), b)"
    - name: reads_user
      entry: { reentry: always }
      value: "THEN(dl, IF(vip, b))"
    - name: plain
      entry: { reentry: always }
      value: "THEN(dl, b)"
    - name: twice
      entry: { reentry: always }
      value: "THEN(WHEN(w1, w2), b)"
)yaml";

TEST(TimerFire, ARunAfterATimerReadsTheEventAndUserItNeeds) {
  EngineHarness h;
  h.Deploy(kFlow);
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) {
    storage::UserRecord u;
    u.id = "gold1";
    u.traits["tier"] = "gold";
    return t.PutUser(u);
  }).ok());
  auto out = h.Event("cart", "u1", {{"amount", 250}, {"sku", "SKU-9"}});
  ASSERT_EQ(out.started.size(), 1u);
  const int64_t by_event = out.started[0];
  const int64_t by_user = h.Start("reads_user", "gold1");
  const int64_t plain = h.Start("plain", "u2");
  EXPECT_EQ(h.Advance(3600 * 1000), 3);

  EXPECT_EQ(h.Trace(by_event), "dl==>big==>note==>b");
  EXPECT_EQ(h.Get(by_event).ctx.at("sku"), "SKU-9");  // parsed from the stored event on demand
  EXPECT_EQ(h.Trace(by_user), "dl==>vip==>b");         // the user read on demand
  EXPECT_EQ(h.Status_(plain), ExecutionStatus::kCompleted);
  // The event a run never looked at is stored as it was.
  EXPECT_EQ(h.Get(by_event).event.at("properties").at("amount"), 250);
}

TEST(TimerFire, AnExecutionWithTwoTimersInOneBatchRunsOnItsLatestState) {
  EngineHarness h;
  h.Deploy(kFlow);
  const int64_t id = h.Start("twice");
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kWaiting);
  // Both delays are due together: one job reads both wakeups with the same (soon stale) row.
  EXPECT_EQ(h.Advance(3600 * 1000), 2);
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
  EXPECT_EQ(h.Trace(id), "w1==>w2==>b");
  EXPECT_EQ(h.Get(id).rev, 2);  // two updates, each on the other's result
}

TEST(TimerFire, TheTimerThreadFiresWhatBecomesDue) {
  EngineHarness h;
  h.Deploy(kFlow);
  const int64_t id = h.Start("plain");
  EngineService service(h.store(), h.engine(), h.clock(), /*max_sleep_ms=*/5);
  ASSERT_TRUE(service.Start().ok());
  h.clock().Advance(3600 * 1000);
  for (int i = 0; i < 2000 && service.counters().timers_fired.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  service.Stop();
  EXPECT_EQ(service.counters().timers_fired.load(), 1u);
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
}

}  // namespace
}  // namespace reach::engine
