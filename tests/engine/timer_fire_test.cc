// Firing timers: a batch's wakeups and executions are read in one statement, the event stays
// unparsed and the user unread unless a node needs them, and the timer thread fires what comes
// due (FireAllDue's jobs: engine_service_test.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <map>
#include <stdexcept>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/engine_harness.h"
#include "engine/engine_service.h"
#include "nodes/builtin_kinds.h"
#include "storage/sqlite_store.h"
#include "storage/store_test_util.h"

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
    - {id: hook, type: webhook, url: 'https://example.com/h'}
    - {id: d30, type: delay, duration: 30m}
    - {id: x1, type: delay, duration: 1h}
    - {id: x2, type: delay, duration: 2h}
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
    - name: sends
      entry: { reentry: always }
      value: "THEN(dl, hook)"
    - name: race
      entry: { reentry: always }
      value: "THEN(WHEN(w1, w2).any(true), b)"
    - name: race2
      entry: { reentry: always }
      value: "THEN(WHEN(x1, x2).any(true), b)"
    - name: poison
      entry: { reentry: always }
      value: "THEN(d30, IF(big, b))"
)yaml";

// Runs service.FireAllDue while a job holds the store's writer for 300 ms: FireAllDue reads and
// queues its batches before the writer applies any.
Status FireAllDueWithTheWriterHeld(EngineHarness& h, EngineService& service, int& fired) {
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  auto holding = std::make_shared<std::promise<void>>();
  h.store().Submit(
      [gate, holding](storage::StoreTxn&) {
        holding->set_value();
        gate.wait();
        return Status::Ok();
      },
      nullptr);
  holding->get_future().wait();
  Status status;
  std::thread timer([&] { status = service.FireAllDue(fired); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  release.set_value();
  timer.join();
  return status;
}

// Stores execution `id` with an event whose text does not parse: a run that reads its event
// fails, and the row no longer reads as a whole.
void BreakStoredEvent(EngineHarness& h, int64_t id) {
  storage::ExecutionRecord e = h.Get(id);
  e.event_text = "{broken";
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return t.UpdateExecution(e); }).ok());
}

void CorruptBranchStates(boost::json::value& v);

// Stores execution `id` with WHEN branch states the executor throws on.
void BreakBranchStates(EngineHarness& h, int64_t id) {
  storage::ExecutionRecord e = h.Get(id);
  for (auto& kv : e.state) CorruptBranchStates(kv.value());
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return t.UpdateExecution(e); }).ok());
}

// Makes every WHEN frame's branch states ("s") strings: the executor then throws (as it would
// on any stored state it does not expect).
void CorruptBranchStates(boost::json::value& v) {
  if (v.is_object()) {
    for (auto& kv : v.as_object()) {
      if (kv.key() == "s" && kv.value().is_array()) {
        for (auto& x : kv.value().as_array()) x = "corrupt";
      } else {
        CorruptBranchStates(kv.value());
      }
    }
  } else if (v.is_array()) {
    for (auto& x : v.as_array()) CorruptBranchStates(x);
  }
}

// Reads a batch ahead on a reader (as the timer thread does), outside any writer job.
PreparedTimers Prepare(EngineHarness& h, const storage::WakeupCursor* after = nullptr) {
  PreparedTimers batch;
  auto reader = h.store().NewReader();
  EXPECT_TRUE(h.engine().PrepareDueTimers(*reader, after, batch).ok());
  return batch;
}

int Apply(EngineHarness& h, PreparedTimers& batch) {
  int fired = 0;
  Status s = h.Write([&](storage::StoreTxn& t) { return h.engine().ApplyPreparedTimers(t, batch, fired); });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return fired;
}

int64_t NodeCount(EngineHarness& h, const std::string& chain, const std::string& node, int which) {
  auto stats = h.store().NewReader()->GetNodeStats(chain);
  EXPECT_TRUE(stats.ok());
  for (const storage::NodeStats& n : *stats)
    if (n.node == node) return which == 0 ? n.entered : which == 1 ? n.completed : n.waiting;
  return -1;
}

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

// A wait that times out leaves its entry in the store's by-event lookup for the sweep
// (docs/storage.md, event_waits); an event of that type afterwards must resume only what still
// waits: here the journey's second wait for the same type, once.
TEST(TimerFire, AnEventAfterAWaitTimedOutResumesOnlyTheWaitThatIsLeft) {
  EngineHarness h;
  h.Deploy(R"yaml(flow:
  nodes:
    - {id: w1, type: wait_event, event: pay, timeout: 1h}
    - {id: paid, type: noop}
    - {id: late, type: noop}
    - {id: w2, type: wait_event, event: pay, timeout: 1d}
    - {id: done, type: noop}
  chain:
    - name: twice
      trigger: { event: cart }
      value: "THEN(IF(w1, paid, late), IF(w2, done))"
)yaml");
  auto started = h.Event("cart", "u1");
  ASSERT_EQ(started.started.size(), 1u);
  const int64_t id = started.started[0];
  EXPECT_EQ(h.Advance(3600 * 1000), 1);  // w1 times out: late, then w2 waits
  EXPECT_EQ(h.Trace(id), "w1==>late");
  auto gauges = h.store().NewReader()->GetGauges();
  EXPECT_EQ(gauges->waits, 1);
  EXPECT_EQ(gauges->stale_waits, 1);  // w1's entry, left by the timer

  auto paid = h.Event("pay", "u1");
  ASSERT_EQ(paid.resumed.size(), 1u);
  EXPECT_EQ(paid.resumed[0], id);
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
  EXPECT_EQ(h.Trace(id), "w1==>late==>w2==>done");
  // Nothing waits any more: a second payment resumes nothing.
  EXPECT_TRUE(h.Event("pay", "u1").resumed.empty());
  EXPECT_EQ(h.store().NewReader()->GetGauges()->waits, 0);
}

TEST(TimerFireAhead, RunsReadAheadAreWrittenAsRecordedWithTheirCountersAndSteps) {
  EngineHarness h;
  h.Deploy(kFlow);
  std::vector<std::pair<std::string, bool>> steps;
  h.engine().set_step_observer([&](const std::string& kind, bool failed) { steps.emplace_back(kind, failed); });
  const int64_t a = h.Start("plain", "u1"), b = h.Start("plain", "u2");
  steps.clear();
  h.clock().Advance(3600 * 1000);
  PreparedTimers batch = Prepare(h);
  EXPECT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch.recorded(), 2u);
  // Nothing is written, and no step reported, until the writer applies the batch.
  EXPECT_EQ(h.Status_(a), ExecutionStatus::kWaiting);
  EXPECT_TRUE(steps.empty());
  EXPECT_EQ(Apply(h, batch), 2);
  EXPECT_EQ(batch.stale(), 0u);
  for (int64_t id : {a, b}) {
    EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
    EXPECT_EQ(h.Trace(id), "dl==>b");
    EXPECT_EQ(h.Get(id).rev, 1);
  }
  EXPECT_EQ(NodeCount(h, "plain", "dl", 2), 0);  // waiting at dl: none now
  EXPECT_EQ(NodeCount(h, "plain", "dl", 1), 2);
  EXPECT_EQ(NodeCount(h, "plain", "b", 1), 2);
  EXPECT_EQ(steps.size(), 4u);  // dl and b, twice
  // Taken once: the same batch applied again fires nothing.
  EXPECT_EQ(Apply(h, batch), 0);
  EXPECT_TRUE(Prepare(h).empty());
}

TEST(TimerFireAhead, RunsThatReadTheUserOrSendAreLeftToTheWriterAndRunThereOnce) {
  EngineHarness h;
  h.Deploy(kFlow);
  const int64_t by_user = h.Start("reads_user", "u1");
  const int64_t sends = h.Start("sends", "u2");
  h.clock().Advance(3600 * 1000);
  PreparedTimers batch = Prepare(h);
  EXPECT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch.recorded(), 0u);
  EXPECT_TRUE(h.sink().keys.empty());  // the run ahead did not send
  EXPECT_EQ(Apply(h, batch), 2);
  EXPECT_EQ(h.Trace(by_user), "dl==>vip");  // u1 is not gold
  EXPECT_EQ(h.Status_(by_user), ExecutionStatus::kCompleted);
  EXPECT_EQ(h.Trace(sends), "dl==>hook");
  EXPECT_EQ(h.sink().keys.size(), 1u);
}

TEST(TimerFireAhead, AnExecutionChangedAfterItWasReadIsRunAgainOnItsLatestState) {
  EngineOptions options;
  options.timer_batch = 1;
  EngineHarness h(options);
  h.Deploy(kFlow);
  const int64_t id = h.Start("twice");
  h.clock().Advance(3600 * 1000);
  // Both batches read ahead from the same state, before the writer applies either (as the
  // timer thread reads the next batch while the writer writes the previous one).
  PreparedTimers first = Prepare(h);
  ASSERT_EQ(first.size(), 1u);
  PreparedTimers second = Prepare(h, &first.last());
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second.recorded(), 1u);
  EXPECT_EQ(Apply(h, first), 1);
  EXPECT_EQ(first.stale(), 0u);
  EXPECT_EQ(Apply(h, second), 1);
  EXPECT_EQ(second.stale(), 1u);  // its recorded run was of the state before `first`
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
  EXPECT_EQ(h.Trace(id), "w1==>w2==>b");
  EXPECT_EQ(h.Get(id).rev, 2);
  EXPECT_EQ(NodeCount(h, "twice", "b", 1), 1);
  EXPECT_EQ(NodeCount(h, "twice", "w2", 2), 0);
}

TEST(TimerFireAhead, ATimerCancelledAfterItWasReadDoesNotFire) {
  EngineHarness h;
  h.Deploy(kFlow);
  const int64_t id = h.Start("plain");
  h.clock().Advance(3600 * 1000);
  PreparedTimers batch = Prepare(h);
  ASSERT_EQ(batch.recorded(), 1u);
  bool cancelled = false;
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().Cancel(t, id, cancelled); }).ok());
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(Apply(h, batch), 0);
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCancelled);
  EXPECT_EQ(h.Trace(id), "");
}

TEST(TimerFire, AnExecutionWhoseRowDoesNotReadCanBeCancelledAndItsTimerNeverFires) {
  EngineHarness h;
  h.Deploy(kFlow);
  const int64_t id = h.Start("poison", "u0");
  auto waiting_at_d30 = [&] {
    auto stats = h.store().NewReader()->GetNodeStats("poison");
    EXPECT_TRUE(stats.ok());
    for (const storage::NodeStats& n : stats.ok() ? *stats : std::vector<storage::NodeStats>{})
      if (n.node == "d30") return n.waiting;
    return int64_t{-1};
  };
  EXPECT_EQ(waiting_at_d30(), 1);
  BreakStoredEvent(h, id);  // the engine cannot read the row any more
  bool cancelled = false;
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().Cancel(t, id, cancelled); }).ok());
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCancelled);
  EXPECT_EQ(waiting_at_d30(), 0);  // its state reads: the node stops counting it
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().Cancel(t, id, cancelled); }).ok());
  EXPECT_FALSE(cancelled);  // already finished
  h.clock().Advance(2 * 3600 * 1000);
  EngineService service(h.store(), h.engine(), h.clock());
  int fired = 0;
  ASSERT_TRUE(service.FireAllDue(fired).ok());
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(service.counters().executions_unrunnable.load(), 0u);
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCancelled);
}

// Submits a `reply` event of `user` and waits for its answer.
std::pair<Status, EventOutcome> SendReply(EngineService& service, EngineHarness& h, const std::string& user,
                                          const std::string& message_id) {
  std::promise<std::pair<Status, EventOutcome>> answered;
  service.SubmitEvent(storage::testing::MakeEvent(user, "reply", h.clock().NowMillis(), message_id), {},
                      [&](const Status& s, const EventOutcome& o) { answered.set_value({s, o}); });
  return answered.get_future().get();
}

TEST(EventResume, AWaitingExecutionThatCannotBeReadIsFailedAndTheEventStillResumesTheOthers) {
  constexpr char kWaits[] = R"yaml(flow:
  nodes:
    - {id: wr, type: wait_event, event: reply, timeout: 1d}
    - {id: b, type: noop}
  chain:
    - name: waits
      entry: { reentry: always }
      value: "THEN(wr, b)"
)yaml";
  EngineHarness h;
  h.Deploy(kWaits);
  const int64_t good = h.Start("waits", "u1");
  const int64_t broken = h.Start("waits", "u1");
  const int64_t also_broken = h.Start("waits", "u1");
  BreakStoredEvent(h, broken);  // the row no longer reads
  BreakStoredEvent(h, also_broken);
  EngineService service(h.store(), h.engine(), h.clock());
  std::vector<int64_t> reported;
  service.set_on_unrunnable([&](int64_t id, const std::string&) { reported.push_back(id); });
  auto [status, outcome] = SendReply(service, h, "u1", "m-reply");
  // Accepted, not refused for the two it could not resume: they were ended as failed.
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(outcome.resumed, std::vector<int64_t>{good});
  EXPECT_EQ(h.Status_(good), ExecutionStatus::kCompleted);
  EXPECT_EQ(h.Trace(good), "wr==>b");
  for (int64_t id : {broken, also_broken}) {
    EXPECT_EQ(h.Status_(id), ExecutionStatus::kFailed);
    EXPECT_NE(h.Get(id).error.find("cannot resume on event 'reply'"), std::string::npos) << h.Get(id).error;
  }
  EXPECT_EQ(service.counters().executions_unrunnable.load(), 2u);
  EXPECT_EQ(service.counters().events_accepted.load(), 1u);
  EXPECT_EQ(service.counters().events_failed.load(), 0u);
  std::sort(reported.begin(), reported.end());
  EXPECT_EQ(reported, (std::vector<int64_t>{broken, also_broken}));
  // The event is stored once.
  int64_t stored = -1;
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) {
                 auto n = t.CountEvents("u1", "reply", 0);
                 if (!n.ok()) return n.status();
                 stored = *n;
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(stored, 1);
}

constexpr char kEvents[] = R"yaml(flow:
  nodes:
    - {id: vips, type: segment, where: 'has_tag("vip")'}
    - {id: hello, type: noop}
    - {id: dl, type: delay, duration: 1h}
    - {id: wr, type: wait_event, event: reply, timeout: 1d}
    - {id: w1, type: delay, duration: 1h}
    - {id: b, type: noop}
    - {id: hook, type: webhook, url: 'https://example.com/h'}
  chain:
    - name: blast
      value: "THEN(vips, hello)"
    - name: plain
      entry: { reentry: always }
      value: "THEN(dl, b)"
    - name: waits
      entry: { reentry: always }
      value: "THEN(wr, hook, b)"
    - name: when
      entry: { reentry: always }
      value: "THEN(WHEN(wr, w1), b)"
)yaml";

TEST(TimerFire, AnExecutionWhoseCtxDoesNotParseIsFailedAndTheOtherTimersOfItsBatchFire) {
  EngineHarness h;
  h.Deploy(kEvents);
  const int64_t broken = h.Start("plain", "u0");
  const int64_t fine = h.Start("plain", "u1");
  storage::testing::RawQuery(h.db_path(), "UPDATE executions SET ctx = '{' WHERE id = " + std::to_string(broken));
  h.clock().Advance(2 * 3600 * 1000);
  EngineService service(h.store(), h.engine(), h.clock());
  int fired = 0;
  Status s = service.FireAllDue(fired);
  ASSERT_TRUE(s.ok()) << s.ToString();  // one row that does not read does not stop the others
  EXPECT_EQ(h.Status_(fine), ExecutionStatus::kCompleted);
  EXPECT_EQ(h.Status_(broken), ExecutionStatus::kFailed);
  EXPECT_NE(h.Get(broken).error.find("ctx"), std::string::npos) << h.Get(broken).error;
  EXPECT_EQ(service.counters().executions_unrunnable.load(), 1u);
}

// A failed fsync: the store refuses every later write (until restarted). Then an hour passes:
// the harness's delays come due, and the service is woken to fire them.
void FailTheStoreWithTimersDue(EngineHarness& h, EngineService& service) {
  storage::InjectSyncFailuresForTesting(h.store(), 1);
  EXPECT_FALSE(h.Write([](storage::StoreTxn& t) { return t.PutMeta("k", "v"); }).ok());
  h.clock().Advance(3600 * 1000);
  service.Wake();
}

EngineOptions OneUserPerPage() {
  EngineOptions options;
  options.fanout_page = 1;
  return options;
}

// Starts the `blast` fan-out, whose one page fails every time: its audience, user v0 (tagged
// vip), then has traits that do not parse.
void StartFailingFanout(EngineHarness& h) {
  h.Deploy(kEvents);
  storage::UserRecord u;
  u.id = "v0";
  u.tags.push_back("vip");
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return t.PutUser(u); }).ok());
  bool audience = false;
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().StartFanout(t, "blast", "run-1", audience); }).ok());
  ASSERT_TRUE(audience);
  // Every enrollment of v0 fails in the store (a user whose row does not read would only be
  // skipped: ListUsers).
  storage::testing::RawQuery(h.db_path(),
                             "CREATE TRIGGER refuse_v0 BEFORE INSERT ON executions WHEN NEW.user_id = 'v0' "
                             "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
}

// What a service reports to set_on_round_failed: "<work> failed" or "<work> recovered".
class RoundReports {
 public:
  explicit RoundReports(EngineService& service) {
    service.set_on_round_failed([this](const char* what, const Status& s) {
      std::lock_guard<std::mutex> lock(mu_);
      reports_.push_back(std::string(what) + (s.ok() ? " recovered" : " failed"));
    });
  }
  std::vector<std::string> list() {
    std::lock_guard<std::mutex> lock(mu_);
    return reports_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> reports_;
};

TEST(TimerFire, TwoKindsOfWorkThatKeepFailingAreReportedOnceEach) {
  EngineHarness h(OneUserPerPage());
  // The fan-out's page fails every round; then the store refuses writes (a failed fsync), and
  // the timers, come due, fail every round too (and the fan-out now with the store's error).
  StartFailingFanout(h);
  h.Start("plain", "u0");
  ASSERT_TRUE(h.engine().fanouts_pending());
  EngineService service(h.store(), h.engine(), h.clock(), /*max_sleep_ms=*/100);
  RoundReports recorded(service);
  ASSERT_TRUE(service.Start().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  FailTheStoreWithTimersDue(h, service);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  service.Stop();
  EXPECT_GE(service.counters().timer_rounds_failed.load(), 3u);
  const std::vector<std::string> reports = recorded.list();
  std::string all;
  for (const auto& r : reports) all += r + " | ";
  // Each kind once per error ("the same error at most once a minute"), not once a round: the
  // fan-out's two errors, the timers' one.
  EXPECT_EQ(std::count(reports.begin(), reports.end(), "fanouts failed"), 2) << all;
  EXPECT_EQ(std::count(reports.begin(), reports.end(), "timers failed"), 1) << all;
  EXPECT_EQ(reports.size(), 3u) << all;
}

TEST(TimerFire, AWorkThatFailedAndSucceedsAgainIsReportedRecoveredOnce) {
  EngineHarness h(OneUserPerPage());
  StartFailingFanout(h);
  EngineService service(h.store(), h.engine(), h.clock(), /*max_sleep_ms=*/50);
  RoundReports recorded(service);
  ASSERT_TRUE(service.Start().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  storage::testing::RawQuery(h.db_path(), "DROP TRIGGER refuse_v0");  // repaired
  for (int i = 0; i < 100 && h.engine().fanouts_pending(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  service.Stop();
  EXPECT_FALSE(h.engine().fanouts_pending());
  EXPECT_EQ(recorded.list(), (std::vector<std::string>{"fanouts failed", "fanouts recovered"}));
}

TEST(EventResume, AnEventHandledAgainCountsTheStepsAndSendsOfTheOtherExecutionsOnce) {
  EngineHarness h;
  h.Deploy(kEvents);
  std::map<std::string, int> steps;
  std::mutex mu;
  h.engine().set_step_observer([&](const std::string& kind, bool) {
    std::lock_guard<std::mutex> lock(mu);
    ++steps[kind];
  });
  EngineService service(h.store(), h.engine(), h.clock());
  // The baseline: one waiting execution resumed by one event.
  h.Start("waits", "u2");
  steps.clear();
  h.sink().keys.clear();
  ASSERT_TRUE(SendReply(service, h, "u2", "m-1").first.ok());
  const std::map<std::string, int> baseline_steps = steps;
  ASSERT_EQ(h.sink().keys.size(), 1u);
  // The same, with a broken execution after it: the event's job fails, runs again without it.
  const int64_t good = h.Start("waits", "u1");
  const int64_t broken = h.Start("waits", "u1");
  BreakStoredEvent(h, broken);
  steps.clear();
  h.sink().keys.clear();
  auto [status, outcome] = SendReply(service, h, "u1", "m-2");
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(outcome.resumed, std::vector<int64_t>{good});
  EXPECT_EQ(h.Status_(broken), ExecutionStatus::kFailed);
  EXPECT_EQ(steps, baseline_steps);        // reach_steps_total
  EXPECT_EQ(h.sink().keys.size(), 1u);     // reach_sends_total, the "send" log line
}

TEST(EventResume, AnEventWhoseResumeThrowsEndsThatExecutionAndIsAccepted) {
  EngineHarness h;
  h.Deploy(kEvents);
  const int64_t good = h.Start("waits", "u1");
  const int64_t throws = h.Start("when", "u1");
  BreakBranchStates(h, throws);  // reads, but the executor throws on it
  EngineService service(h.store(), h.engine(), h.clock());
  std::vector<int64_t> reported;
  service.set_on_unrunnable([&](int64_t id, const std::string&) { reported.push_back(id); });
  auto [status, outcome] = SendReply(service, h, "u1", "m-1");
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(h.Status_(good), ExecutionStatus::kCompleted);
  EXPECT_EQ(h.Status_(throws), ExecutionStatus::kFailed) << h.Get(throws).error;
  EXPECT_EQ(reported, std::vector<int64_t>{throws});
  auto gauges = h.store().NewReader()->GetGauges();
  ASSERT_TRUE(gauges.ok());
  EXPECT_EQ(gauges->timers, 0);  // w1's timer went with it
}

TEST(EventResume, ManyBrokenExecutionsAreEndedOneJobEachAndTheEventIsAccepted) {
  EngineHarness h;
  h.Deploy(kEvents);
  std::vector<int64_t> broken;
  for (int i = 0; i < 20; ++i) {
    broken.push_back(h.Start("waits", "u1"));
    BreakStoredEvent(h, broken.back());
  }
  EngineService service(h.store(), h.engine(), h.clock());
  auto [status, outcome] = SendReply(service, h, "u1", "m-1");
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_TRUE(outcome.resumed.empty());
  for (int64_t id : broken) EXPECT_EQ(h.Status_(id), ExecutionStatus::kFailed);
  EXPECT_EQ(service.counters().executions_unrunnable.load(), 20u);
  EXPECT_EQ(service.counters().events_accepted.load(), 1u);
}

TEST(TimerFireAhead, AnApplyRolledBackAndRunAgainWritesAsIfItRanOnce) {
  EngineHarness h;
  h.Deploy(kFlow);
  const int64_t id = h.Start("plain");
  h.clock().Advance(3600 * 1000);
  PreparedTimers batch = Prepare(h);
  // A job that fails after writing is rolled back, then run again under a savepoint (and
  // rolled back again): the batch is applied twice and nothing kept.
  int fired = 0;
  Status failed = h.Write([&](storage::StoreTxn& t) {
    if (Status s = h.engine().ApplyPreparedTimers(t, batch, fired); !s.ok()) return s;
    return Status::Io("the disk went away");
  });
  EXPECT_EQ(failed.code(), StatusCode::kIoError);
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kWaiting);
  // The record still reads as it was read: a later apply writes it as recorded.
  EXPECT_EQ(Apply(h, batch), 1);
  EXPECT_EQ(batch.stale(), 0u);
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
  EXPECT_EQ(h.Get(id).rev, 1);
  EXPECT_EQ(NodeCount(h, "plain", "b", 1), 1);
}

TEST(TimerFireAhead, ARunThatThrowsAheadIsLeftToTheWriterWhereTheJobFails) {
  EngineHarness h;
  h.Deploy(kFlow);
  const int64_t id = h.Start("twice");
  BreakBranchStates(h, id);
  h.clock().Advance(3600 * 1000);
  PreparedTimers batch;
  auto reader = h.store().NewReader();
  EXPECT_NO_THROW(EXPECT_TRUE(h.engine().PrepareDueTimers(*reader, nullptr, batch).ok()));
  EXPECT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch.recorded(), 0u);
  // On the writer the job fails (the store catches the exception), alone on the second try,
  // and the execution is ended as failed (it would fail every time).
  EngineService service(h.store(), h.engine(), h.clock());
  int fired = 0;
  Status s = service.FireAllDue(fired);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(h.Status_(id), ExecutionStatus::kFailed);
  EXPECT_NE(h.Get(id).error.find("threw"), std::string::npos) << h.Get(id).error;
  EXPECT_EQ(service.counters().executions_unrunnable.load(), 1u);  // its two timers: one execution
}

TEST(TimerFireAhead, AFailedBatchKeepsTheBatchesReadAfterItFromFiringOutOfOrder) {
  EngineOptions options;
  options.timer_batch = 2;
  EngineHarness h(options);
  h.Deploy(kFlow);
  // P fails on the writer (its run reads its event, whose stored text does not parse); it is
  // read in the first batch with x1. x2, an hour later than x1, is in the second batch.
  BreakStoredEvent(h, h.Start("poison", "u0"));
  const int64_t x = h.Start("race2", "u1");
  h.clock().Advance(2 * 3600 * 1000);
  EngineService service(h.store(), h.engine(), h.clock());
  int fired = 0;
  Status status = FireAllDueWithTheWriterHeld(h, service, fired);  // both batches read and queued
  // The first batch failed for P alone: applied again a wakeup per job, x1 fired and P was
  // ended as failed. The second batch, read past the failed one, wrote nothing: x2 never won.
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(h.Status_(x), ExecutionStatus::kCompleted);
  EXPECT_EQ(h.Trace(x), "x1==>b");
  EXPECT_EQ(service.counters().executions_unrunnable.load(), 1u);
}

TEST(TimerFire, ARoundThatFailsIsTriedAgainAfterTheLongestSleepNotAtOnce) {
  EngineHarness h;
  h.Deploy(kFlow);
  h.Start("plain");
  EngineService service(h.store(), h.engine(), h.clock(), /*max_sleep_ms=*/200);
  std::mutex mu;
  std::vector<std::pair<std::string, Status>> reports;
  service.set_on_round_failed([&](const char* what, const Status& s) {
    std::lock_guard<std::mutex> lock(mu);
    reports.emplace_back(what, s);
  });
  ASSERT_TRUE(service.Start().ok());
  FailTheStoreWithTimersDue(h, service);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  service.Stop();
  // Once at start, then every 200 ms: a handful, not one per millisecond.
  EXPECT_GE(service.counters().timer_rounds_failed.load(), 2u);
  EXPECT_LE(service.counters().timer_rounds_failed.load(), 6u);
  EXPECT_EQ(service.counters().timers_fired.load(), 0u);
  // Reported (the daemon logs it) once: the same error again within a minute is not.
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].first, "timers");
  EXPECT_EQ(reports[0].second.code(), StatusCode::kIoError) << reports[0].second.ToString();
}

TEST(TimerFire, AnExecutionWhoseRunFailsEveryTimeIsFailedAndTheRestOfItsBatchFires) {
  EngineHarness h;
  h.Deploy(kFlow);
  // Three that cannot resume: an event that does not parse (the row does not even read), a
  // state the executor throws on, and each in the same batch as executions that can.
  const int64_t broken_event = h.Start("poison", "u0");
  BreakStoredEvent(h, broken_event);
  const int64_t throws = h.Start("twice", "u1");
  BreakBranchStates(h, throws);
  std::vector<int64_t> fine;
  for (int i = 0; i < 5; ++i) fine.push_back(h.Start("plain", "v" + std::to_string(i)));
  h.clock().Advance(3600 * 1000);

  EngineService service(h.store(), h.engine(), h.clock());
  std::vector<std::pair<int64_t, std::string>> reported;
  service.set_on_unrunnable([&](int64_t id, const std::string& why) { reported.emplace_back(id, why); });
  int fired = 0;
  Status s = service.FireAllDue(fired);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(fired, 5);  // the five that can; the two others' wakeups are gone with them
  for (int64_t id : fine) EXPECT_EQ(h.Status_(id), ExecutionStatus::kCompleted);
  // The readable one ends like a cancel, as failed with the reason; the other (whose row does
  // not read) only by its status and error columns, seen in the gauges and the report.
  EXPECT_EQ(h.Status_(throws), ExecutionStatus::kFailed);
  EXPECT_NE(h.Get(throws).error.find("cannot resume after a timer"), std::string::npos) << h.Get(throws).error;
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_EQ(reported[0].first, broken_event);
  EXPECT_EQ(reported[1].first, throws);
  auto reader = h.store().NewReader();
  EXPECT_EQ(service.counters().executions_unrunnable.load(), 2u);
  auto gauges = reader->GetGauges();
  ASSERT_TRUE(gauges.ok());
  EXPECT_EQ(gauges->timers, 0);
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(ExecutionStatus::kFailed)], 2);
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(ExecutionStatus::kWaiting)], 0);
  // The readable one is no longer counted as waiting at its nodes.
  EXPECT_EQ(NodeCount(h, "twice", "w1", 2), 0);
  EXPECT_EQ(NodeCount(h, "twice", "w2", 2), 0);
  // Nothing is left due: the next round fires nothing and fails nothing.
  EXPECT_TRUE(service.FireAllDue(fired).ok());
  EXPECT_EQ(fired, 0);
}

// The builtin delay, except that node x1 throws when its timer wakes it (a bug in one node).
class ThrowsWhenX1Wakes final : public NodeExecutor {
 public:
  NodeOutcome Execute(const dsl::NodeDef& node, NodeContext& context) const override {
    if (node.id == "x1" && context.wakeup()) throw std::runtime_error("x1 cannot resume");
    return nodes::BuiltinExecutors().Find("delay")->Execute(node, context);
  }
};

TEST(TimerFire, ATimerThatCannotResumeKeepsTheLaterTimerOfItsExecutionFromWinning) {
  EngineHarness h;
  h.Deploy(kFlow);
  const int64_t x = h.Start("race2", "u0");  // WHEN(x1 1h, x2 2h).any(true): x1 is due first
  const int64_t fine = h.Start("plain", "v0");
  h.clock().Advance(3 * 3600 * 1000);  // all due, in one batch: x1, fine's, x2
  NodeExecutorRegistry executors;
  nodes::RegisterBuiltinExecutors(executors);
  executors.Register("delay", std::make_unique<ThrowsWhenX1Wakes>());
  Engine engine(nodes::BuiltinKinds(), executors, h.clock(), nullptr);
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return engine.LoadCurrent(t); }).ok());
  EngineService service(h.store(), engine, h.clock());
  std::vector<int64_t> reported;
  service.set_on_unrunnable([&](int64_t id, const std::string&) { reported.push_back(id); });
  int fired = 0;
  Status s = service.FireAllDue(fired);
  ASSERT_TRUE(s.ok()) << s.ToString();
  // x1's run fails every time: the execution is ended as failed; x2 never ran.
  EXPECT_EQ(h.Status_(x), ExecutionStatus::kFailed);
  EXPECT_EQ(h.Trace(x), "");
  EXPECT_NE(h.Get(x).error.find("x1 cannot resume"), std::string::npos) << h.Get(x).error;
  EXPECT_EQ(h.Status_(fine), ExecutionStatus::kCompleted);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(reported, std::vector<int64_t>{x});
  EXPECT_EQ(service.counters().executions_unrunnable.load(), 1u);
  EXPECT_EQ(service.counters().timers_fired.load(), 1u);
  auto gauges = h.store().NewReader()->GetGauges();
  ASSERT_TRUE(gauges.ok());
  EXPECT_EQ(gauges->timers, 0);
}

TEST(TimerFireAhead, RunsAheadCountOnlyWhatWasWritten) {
  EngineOptions options;
  options.timer_batch = 1;
  EngineHarness h(options);
  h.Deploy(kFlow);
  const int64_t id = h.Start("race");
  h.clock().Advance(3600 * 1000);
  EngineService service(h.store(), h.engine(), h.clock());
  // Both branches' timers are read (and run ahead) before either is applied; the first wins
  // and its run removes the second's wakeup, whose recorded run is then neither written nor
  // redone.
  int fired = 0;
  Status status = FireAllDueWithTheWriterHeld(h, service, fired);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(h.Trace(id), "w1==>b");
  EXPECT_EQ(service.counters().timer_runs_ahead.load(), 1u);
  EXPECT_EQ(service.counters().timer_runs_redone.load(), 0u);
}

}  // namespace
}  // namespace reach::engine
