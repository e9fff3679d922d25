// EngineService::FireAllDue: timers fire in jobs of timer_batch, up to timer_jobs queued at a
// time, until a job comes back short. Where events are answered (set_event_delivery).
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

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

// set_event_delivery: events' `done`s wait for the delivery's target, run there in commit
// order, and an empty delivery runs what is still queued on the caller, then answers on the
// store's thread again.
TEST(EngineServiceDelivery, DonesRunWhereTheDeliveryRunsThemInOrderAndDetachingRunsTheRest) {
  EngineHarness h;
  h.Deploy(kFlow);
  EngineService service(h.store(), h.engine(), h.clock());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::function<void()>> handed;  // what the delivery was given, not yet run
  std::vector<int> answered;
  std::vector<std::thread::id> answered_on;
  service.set_event_delivery([&](std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu);
    handed.push_back(std::move(fn));
    cv.notify_all();
  });
  auto submit = [&](int i) {
    storage::EventRecord e;
    e.type = "visit";
    e.user_id = "u" + std::to_string(i);
    e.message_id = "m" + std::to_string(i);
    service.SubmitEvent(std::move(e), {}, [&, i](const Status& s, const EventOutcome& outcome) {
      EXPECT_TRUE(s.ok()) << s.message();
      EXPECT_GT(outcome.seq, 0);
      std::lock_guard<std::mutex> lock(mu);
      answered.push_back(i);
      answered_on.push_back(std::this_thread::get_id());
      cv.notify_all();
    });
  };
  for (int i = 0; i < 20; ++i) submit(i);
  // Every event is durable once a write submitted after them is (one writer, commit order).
  ASSERT_TRUE(h.store().Write([](storage::StoreTxn&) { return Status::Ok(); }).ok());
  std::vector<std::function<void()>> to_run;
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return !handed.empty(); }));
    EXPECT_TRUE(answered.empty());  // nothing answered before the target runs what it was handed
    to_run.swap(handed);
  }
  for (auto& fn : to_run) fn();  // the "io thread": this one
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(answered.size(), 20u);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(answered[i], i);
    for (const auto& id : answered_on) EXPECT_EQ(id, std::this_thread::get_id());
    // One hand-off may answer many: at most one per event, usually far fewer.
    EXPECT_LE(to_run.size(), 20u);
  }

  // Handed over but never run (a stopped target): an empty delivery answers them here.
  for (int i = 20; i < 25; ++i) submit(i);
  ASSERT_TRUE(h.store().Write([](storage::StoreTxn&) { return Status::Ok(); }).ok());
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(answered.size(), 20u);
    handed.clear();  // dropped, as a stopped io_context drops its handlers
  }
  service.set_event_delivery(nullptr);
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(answered.size(), 25u);
    for (int i = 20; i < 25; ++i) {
      EXPECT_EQ(answered[i], i);
      EXPECT_EQ(answered_on[i], std::this_thread::get_id());
    }
  }
  // Then on the store's thread again, without a hand-off.
  submit(25);
  ASSERT_TRUE(h.store().Write([](storage::StoreTxn&) { return Status::Ok(); }).ok());
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return answered.size() == 26u; }));
  EXPECT_NE(answered_on[25], std::this_thread::get_id());
  EXPECT_TRUE(handed.empty());
}

// set_delivery_chunk: one hand-off answers at most that many, then hands the rest over again,
// behind what the target was handed meanwhile (on the io thread: the reads of new requests);
// every event is answered once, in commit order; detaching answers what is left at once.
TEST(EngineServiceDelivery, AHandOffAnswersAChunkThenHandsTheRestOverBehindWhatCameMeanwhile) {
  EngineHarness h;
  h.Deploy(kFlow);
  EngineService service(h.store(), h.engine(), h.clock());
  service.set_delivery_chunk(3);
  std::mutex mu;
  std::deque<std::function<void()>> handed;  // the target's queue, run from the front
  std::vector<int> answered;
  service.set_event_delivery([&](std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu);
    handed.push_back(std::move(fn));
  });
  auto submit = [&](int i) {
    storage::EventRecord e;
    e.type = "visit";
    e.user_id = "u" + std::to_string(i);
    service.SubmitEvent(std::move(e), {}, [&, i](const Status& s, const EventOutcome&) {
      EXPECT_TRUE(s.ok()) << s.message();
      std::lock_guard<std::mutex> lock(mu);
      answered.push_back(i);
    });
  };
  for (int i = 0; i < 10; ++i) submit(i);
  ASSERT_TRUE(h.store().Write([](storage::StoreTxn&) { return Status::Ok(); }).ok());
  auto run_front = [&] {
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (handed.empty()) return false;
      fn = std::move(handed.front());
      handed.pop_front();
    }
    fn();
    return true;
  };
  auto answered_now = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return answered.size();
  };
  bool other_ran = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(handed.size(), 1u);  // one hand-off for all ten, however many commits they took
    // Something else the target was given meanwhile (a read of a new request).
    handed.push_back([&] {
      EXPECT_EQ(answered.size(), 3u) << "ran after the first chunk only";
      other_ran = true;
    });
  }
  ASSERT_TRUE(run_front());
  EXPECT_EQ(answered_now(), 3u);
  ASSERT_TRUE(run_front());  // the other function, ahead of the rest
  EXPECT_TRUE(other_ran);
  ASSERT_TRUE(run_front());
  EXPECT_EQ(answered_now(), 6u);
  // Events committed meanwhile join the end of the line.
  for (int i = 10; i < 12; ++i) submit(i);
  ASSERT_TRUE(h.store().Write([](storage::StoreTxn&) { return Status::Ok(); }).ok());
  ASSERT_TRUE(run_front());
  EXPECT_EQ(answered_now(), 9u);
  // Detached with the rest handed over but not run: answered here, at once.
  service.set_event_delivery(nullptr);
  EXPECT_EQ(answered_now(), 12u);
  while (run_front()) {
  }
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(answered.size(), 12u);  // the stale hand-offs answered nothing twice
  for (int i = 0; i < 12; ++i) EXPECT_EQ(answered[i], i);
}

// A target that ran one chunk, then dropped the hand-off of the rest (a stopped io thread), then
// replaced: the new target gets the rest, though nothing new was queued.
TEST(EngineServiceDelivery, ANewTargetGetsWhatAChunkLeftBehindOnTheOldOne) {
  EngineHarness h;
  h.Deploy(kFlow);
  EngineService service(h.store(), h.engine(), h.clock());
  service.set_delivery_chunk(3);
  std::mutex mu;
  std::vector<std::function<void()>> handed_to_a, handed_to_b;
  int answered = 0;
  service.set_event_delivery([&](std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu);
    handed_to_a.push_back(std::move(fn));
  });
  for (int i = 0; i < 10; ++i) {
    storage::EventRecord e;
    e.type = "visit";
    e.user_id = "u" + std::to_string(i);
    service.SubmitEvent(std::move(e), {}, [&](const Status& s, const EventOutcome&) {
      EXPECT_TRUE(s.ok()) << s.message();
      std::lock_guard<std::mutex> lock(mu);
      ++answered;
    });
  }
  ASSERT_TRUE(h.store().Write([](storage::StoreTxn&) { return Status::Ok(); }).ok());
  std::function<void()> first;
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_FALSE(handed_to_a.empty());
    first = std::move(handed_to_a.back());
    handed_to_a.clear();
  }
  first();  // one chunk; the rest handed to a again, which drops it
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(answered, 3);
    EXPECT_EQ(handed_to_a.size(), 1u);
    handed_to_a.clear();
  }
  service.set_event_delivery([&](std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu);
    handed_to_b.push_back(std::move(fn));
  });
  for (int round = 0; round < 10; ++round) {
    std::vector<std::function<void()>> run;
    {
      std::lock_guard<std::mutex> lock(mu);
      run.swap(handed_to_b);
    }
    if (run.empty()) break;
    for (auto& fn : run) fn();
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(answered, 10);
}

// A `done` that submits another event the store refuses at once (closed) gets that event's
// answer after its own, on the same thread, instead of waiting for itself.
TEST(EngineServiceDelivery, ADoneThatSubmitsAnEventTheStoreRefusesIsAnsweredAfterIt) {
  EngineHarness h;
  h.Deploy(kFlow);
  EngineService service(h.store(), h.engine(), h.clock());
  h.store().Close();
  std::vector<std::string> answered;
  auto event = [](const std::string& user) {
    storage::EventRecord e;
    e.type = "visit";
    e.user_id = user;
    return e;
  };
  auto finished = std::async(std::launch::async, [&] {
    service.SubmitEvent(event("outer"), {}, [&](const Status& s, const EventOutcome&) {
      EXPECT_FALSE(s.ok());
      answered.push_back("outer");
      service.SubmitEvent(event("inner"), {}, [&](const Status& s2, const EventOutcome&) {
        EXPECT_FALSE(s2.ok());
        answered.push_back("inner");
      });
      answered.push_back("outer returns");
    });
  });
  ASSERT_EQ(finished.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "a done waited for itself";
  EXPECT_EQ(answered, (std::vector<std::string>{"outer", "outer returns", "inner"}));
}

// A target that dropped what it was handed, then replaced: the new one gets the queued answers
// (they used to wait for an empty delivery). A target that throws: answered on the spot.
TEST(EngineServiceDelivery, ANewTargetTakesOverWhatTheOldOneDroppedAndAThrowingOneAnswersHere) {
  EngineHarness h;
  h.Deploy(kFlow);
  EngineService service(h.store(), h.engine(), h.clock());
  std::mutex mu;
  std::vector<std::function<void()>> handed_to_b;
  int answered = 0;
  service.set_event_delivery([](std::function<void()>) {});  // drops it
  auto submit = [&](const std::string& user) {
    storage::EventRecord e;
    e.type = "visit";
    e.user_id = user;
    service.SubmitEvent(std::move(e), {}, [&](const Status& s, const EventOutcome&) {
      EXPECT_TRUE(s.ok()) << s.message();
      std::lock_guard<std::mutex> lock(mu);
      ++answered;
    });
  };
  submit("a");
  submit("b");
  ASSERT_TRUE(h.store().Write([](storage::StoreTxn&) { return Status::Ok(); }).ok());
  service.set_event_delivery([&](std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu);
    handed_to_b.push_back(std::move(fn));
  });
  std::vector<std::function<void()>> run;
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(answered, 0);
    ASSERT_EQ(handed_to_b.size(), 1u);
    run.swap(handed_to_b);
  }
  for (auto& fn : run) fn();
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(answered, 2);
  }

  service.set_event_delivery([](std::function<void()>) { throw std::bad_alloc(); });
  submit("c");
  ASSERT_TRUE(h.store().Write([](storage::StoreTxn&) { return Status::Ok(); }).ok());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(answered, 3);  // on the store's thread, which answered before Write returned
}

// An event of a new user whose identities are partly another user's: the user is created with
// the free ones (one insert tried first, then each looked up), and the event is handled.
TEST(EngineServiceEvents, ANewUserTakesItsFreeIdentitiesAndLeavesAnotherUsersAlone) {
  EngineHarness h;
  h.Deploy(kFlow);
  EngineService service(h.store(), h.engine(), h.clock());
  auto submit = [&](const std::string& user_id, boost::json::object identities) {
    storage::EventRecord e;
    e.type = "visit";
    e.user_id = user_id;
    std::promise<Status> answered;
    service.SubmitEvent(std::move(e), std::move(identities),
                        [&](const Status& s, const EventOutcome&) { answered.set_value(s); });
    return answered.get_future().get();
  };
  ASSERT_TRUE(submit("u1", {{"openid", "o-1"}}).ok());
  Status s = submit("u2", {{"openid", "o-1"}, {"phone", "+86139"}});
  ASSERT_TRUE(s.ok()) << s.message();
  auto reader = h.store().NewReader();
  auto u2 = reader->GetUser("u2");
  ASSERT_TRUE(u2.ok() && u2->has_value());
  EXPECT_EQ((*u2)->identities, (boost::json::object{{"phone", "+86139"}}));
  EXPECT_EQ((*reader->GetUser("u1"))->identities, (boost::json::object{{"openid", "o-1"}}));
  ASSERT_TRUE(h.store()
                  .Write([](storage::StoreTxn& txn) {
                    EXPECT_EQ(txn.FindUserByIdentity("openid", "o-1")->value_or(""), "u1");
                    EXPECT_EQ(txn.FindUserByIdentity("phone", "+86139")->value_or(""), "u2");
                    return Status::Ok();
                  })
                  .ok());
  // A new user found by nothing but its identities is named after the first.
  ASSERT_TRUE(submit("", {{"wecom_userid", "w-9"}}).ok());
  auto named = reader->GetUser("wecom_userid:w-9");
  ASSERT_TRUE(named.ok() && named->has_value());
  EXPECT_EQ((*named)->identities, (boost::json::object{{"wecom_userid", "w-9"}}));
  EXPECT_EQ(service.counters().events_accepted.load(), 3u);
}

}  // namespace
}  // namespace reach::engine
