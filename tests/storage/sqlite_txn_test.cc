// StoreTxn over SQLite: every method, through Store::Write as the engine calls it.

#include <gtest/gtest.h>

#include <future>
#include <tuple>
#include <vector>

#include <boost/json/parse.hpp>

#include "storage/store_test_util.h"

namespace reach::storage {
namespace {

using testing::IsOk;
using testing::MakeEvent;
using testing::MakeExecution;
using testing::OpenOrDie;
using testing::TempDir;

class SqliteTxnTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenOrDie(dir_.File("reach.db")); }
  // Runs `body` as one job and expects it to succeed.
  void InJob(const std::function<void(StoreTxn&)>& body) {
    Status status = store_->Write([&](StoreTxn& txn) {
      body(txn);
      return Status::Ok();
    });
    ASSERT_TRUE(IsOk(status));
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

UserRecord MakeUser(const std::string& id) {
  UserRecord user;
  user.id = id;
  user.traits = {{"plan", "gold"}, {"age", 31}};
  user.tags = {"vip", "beta"};
  user.timezone = "Asia/Shanghai";
  user.identities = {{"phone", "+8613800000000"}, {"openid", "o6_b" + id}};
  user.subscriptions = {{"wechat", "subscribed"}};
  user.created_ms = 100;
  user.updated_ms = 200;
  return user;
}

TEST_F(SqliteTxnTest, PutUser_RoundTripsEveryFieldAndIndexesIdentities) {
  InJob([](StoreTxn& txn) {
    ASSERT_TRUE(IsOk(txn.PutUser(MakeUser("u1"))));
    auto user = txn.GetUser("u1");
    ASSERT_TRUE(IsOk(user));
    ASSERT_TRUE(user->has_value());
    const UserRecord& u = **user;
    EXPECT_EQ(u.traits, (boost::json::object{{"plan", "gold"}, {"age", 31}}));
    EXPECT_EQ(u.tags, (boost::json::array{"vip", "beta"}));
    EXPECT_EQ(u.timezone, "Asia/Shanghai");
    EXPECT_EQ(u.subscriptions.at("wechat"), "subscribed");
    EXPECT_EQ(u.created_ms, 100);
    EXPECT_EQ(u.updated_ms, 200);

    auto holder = txn.FindUserByIdentity("openid", "o6_bu1");
    ASSERT_TRUE(IsOk(holder));
    EXPECT_EQ(holder->value_or(""), "u1");
    auto none = txn.FindUserByIdentity("openid", "nobody");
    ASSERT_TRUE(IsOk(none));
    EXPECT_FALSE(none->has_value());
    auto missing = txn.GetUser("u2");
    ASSERT_TRUE(IsOk(missing));
    EXPECT_FALSE(missing->has_value());
  });
}

TEST_F(SqliteTxnTest, PutUser_ReplacesTheUserAndDropsIdentitiesItNoLongerHas) {
  InJob([](StoreTxn& txn) {
    ASSERT_TRUE(IsOk(txn.PutUser(MakeUser("u1"))));
    UserRecord changed = MakeUser("u1");
    changed.identities = {{"phone", "+8613900000000"}, {"openid", boost::json::array{"oA", "oB"}}};
    changed.traits = {{"plan", "free"}};
    ASSERT_TRUE(IsOk(txn.PutUser(changed)));

    EXPECT_FALSE(txn.FindUserByIdentity("phone", "+8613800000000")->has_value());
    EXPECT_EQ(txn.FindUserByIdentity("phone", "+8613900000000")->value_or(""), "u1");
    EXPECT_EQ(txn.FindUserByIdentity("openid", "oA")->value_or(""), "u1");
    EXPECT_EQ(txn.FindUserByIdentity("openid", "oB")->value_or(""), "u1");
    EXPECT_EQ((*txn.GetUser("u1"))->traits, (boost::json::object{{"plan", "free"}}));
  });
}

TEST_F(SqliteTxnTest, PutUser_RefusesAnIdentityHeldByAnotherUserAndWritesNothing) {
  InJob([](StoreTxn& txn) {
    ASSERT_TRUE(IsOk(txn.PutUser(MakeUser("u1"))));
    UserRecord thief = MakeUser("u2");
    thief.identities = {{"openid", "o6_bu1"}};
    Status status = txn.PutUser(thief);
    EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << status.ToString();
    EXPECT_NE(status.message().find("u1"), std::string::npos);
    EXPECT_FALSE(txn.GetUser("u2")->has_value());
    EXPECT_EQ(txn.FindUserByIdentity("openid", "o6_bu1")->value_or(""), "u1");

    UserRecord odd = MakeUser("u3");
    odd.identities = {{"phone", boost::json::object{}}};
    EXPECT_EQ(txn.PutUser(odd).code(), StatusCode::kInvalidArgument);
  });
}

TEST_F(SqliteTxnTest, CreateUser_WritesANewUserAndRefusesATakenIdentityWritingNothing) {
  InJob([](StoreTxn& txn) {
    ASSERT_TRUE(IsOk(txn.CreateUser(MakeUser("u1"))));
    EXPECT_EQ((*txn.GetUser("u1"))->traits, (boost::json::object{{"plan", "gold"}, {"age", 31}}));
    EXPECT_EQ(txn.FindUserByIdentity("openid", "o6_bu1")->value_or(""), "u1");
    EXPECT_EQ(txn.FindUserByIdentity("phone", "+8613800000000")->value_or(""), "u1");

    // "email" sorts before "openid": inserted first, then taken back when openid is refused.
    UserRecord late = MakeUser("u2");
    late.identities = {{"email", "u2@example.com"}, {"openid", "o6_bu1"}};
    Status status = txn.CreateUser(late);
    EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << status.ToString();
    EXPECT_FALSE(txn.GetUser("u2")->has_value());
    EXPECT_FALSE(txn.FindUserByIdentity("email", "u2@example.com")->has_value());
    EXPECT_EQ(txn.FindUserByIdentity("openid", "o6_bu1")->value_or(""), "u1");
  });
}

TEST_F(SqliteTxnTest, InsertEvent_AssignsIncreasingSeqAndIgnoresDuplicateMessageIds) {
  InJob([](StoreTxn& txn) {
    EventRecord first = MakeEvent("u1", "purchase", 1000, "m-1");
    auto inserted = txn.InsertEvent(first);
    ASSERT_TRUE(IsOk(inserted));
    EXPECT_TRUE(*inserted);
    EventRecord second = MakeEvent("u1", "purchase", 2000, "m-2");
    ASSERT_TRUE(*txn.InsertEvent(second));
    EXPECT_GT(second.seq, first.seq);

    EventRecord duplicate = MakeEvent("u1", "purchase", 3000, "m-1");
    auto again = txn.InsertEvent(duplicate);
    ASSERT_TRUE(IsOk(again));
    EXPECT_FALSE(*again);
    EXPECT_EQ(duplicate.seq, first.seq);
    EXPECT_EQ(*txn.CountEvents("u1", "purchase", 0), 2);

    // An empty message_id is no idempotency key: every such event is kept.
    EventRecord anon1 = MakeEvent("u1", "purchase", 4000);
    EventRecord anon2 = MakeEvent("u1", "purchase", 4000);
    EXPECT_TRUE(*txn.InsertEvent(anon1));
    EXPECT_TRUE(*txn.InsertEvent(anon2));
    EXPECT_NE(anon1.seq, anon2.seq);
  });
}

TEST_F(SqliteTxnTest, CountEvents_CountsOneUsersTypeSinceATime) {
  InJob([](StoreTxn& txn) {
    for (int64_t t : {1000, 2000, 3000}) {
      EventRecord e = MakeEvent("u1", "open", t);
      ASSERT_TRUE(IsOk(txn.InsertEvent(e)));
    }
    EventRecord other_type = MakeEvent("u1", "click", 3000);
    EventRecord other_user = MakeEvent("u2", "open", 3000);
    ASSERT_TRUE(IsOk(txn.InsertEvent(other_type)));
    ASSERT_TRUE(IsOk(txn.InsertEvent(other_user)));
    EXPECT_EQ(*txn.CountEvents("u1", "open", 0), 3);
    EXPECT_EQ(*txn.CountEvents("u1", "open", 2000), 2);  // inclusive
    EXPECT_EQ(*txn.CountEvents("u1", "open", 3001), 0);
    EXPECT_EQ(*txn.CountEvents("u3", "open", 0), 0);
  });
}

TEST_F(SqliteTxnTest, Executions_InsertGetUpdateRoundTrip) {
  InJob([](StoreTxn& txn) {
    ExecutionRecord e = MakeExecution("u1", "welcome");
    e.event = boost::json::object{{"type", "signup"}};
    e.entry_key = "2026-11";
    e.request_id = "req-9";
    ASSERT_TRUE(IsOk(txn.InsertExecution(e)));
    EXPECT_GT(e.id, 0);

    auto got = txn.GetExecution(e.id);
    ASSERT_TRUE(IsOk(got));
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((*got)->flow, "welcome.flow");
    EXPECT_EQ((*got)->chain_version, "cv1");
    EXPECT_EQ((*got)->set_version, "sv1");
    EXPECT_EQ((*got)->entry_key, "2026-11");
    EXPECT_EQ((*got)->status, ExecutionStatus::kRunning);
    EXPECT_EQ((*got)->state, e.state);
    EXPECT_EQ((*got)->ctx, e.ctx);
    EXPECT_EQ((*got)->event, e.event);
    EXPECT_EQ((*got)->request_id, "req-9");

    e.status = ExecutionStatus::kFailed;
    e.error = "send failed: 45009";
    e.trace = "a==>b==>c";
    e.finished_ms = 5000;
    e.event = nullptr;
    ASSERT_TRUE(IsOk(txn.UpdateExecution(e)));
    got = txn.GetExecution(e.id);
    EXPECT_EQ((*got)->status, ExecutionStatus::kFailed);
    EXPECT_EQ((*got)->error, "send failed: 45009");
    EXPECT_EQ((*got)->trace, "a==>b==>c");
    EXPECT_EQ((*got)->finished_ms, 5000);
    EXPECT_TRUE((*got)->event.is_null());

    EXPECT_FALSE(txn.GetExecution(e.id + 100)->has_value());
    ExecutionRecord ghost = MakeExecution("u1", "welcome");
    ghost.id = e.id + 100;
    EXPECT_EQ(txn.UpdateExecution(ghost).code(), StatusCode::kNotFound);
  });
}

TEST_F(SqliteTxnTest, UpdateExecution_BumpsTheRevisionAndRefusesAStaleRecord) {
  InJob([](StoreTxn& txn) {
    ExecutionRecord e = MakeExecution("u1", "welcome", ExecutionStatus::kWaiting);
    ASSERT_TRUE(IsOk(txn.InsertExecution(e)));
    EXPECT_EQ(e.rev, 0);
    ExecutionRecord stale = **txn.GetExecution(e.id);
    ExecutionRecord fresh = stale;
    fresh.trace = "a";
    ASSERT_TRUE(IsOk(txn.UpdateExecution(fresh)));
    EXPECT_EQ(fresh.rev, 1);
    EXPECT_EQ((*txn.GetExecution(e.id))->rev, 1);
    // The stale copy would overwrite "a": refused, and nothing changes.
    stale.trace = "b";
    EXPECT_EQ(txn.UpdateExecution(stale).code(), StatusCode::kAborted);
    EXPECT_EQ((*txn.GetExecution(e.id))->trace, "a");
    // A record the store did not hand out reads the revision first.
    ExecutionRecord made = MakeExecution("u1", "welcome", ExecutionStatus::kCompleted);
    made.id = e.id;
    made.trace = "c";
    ASSERT_TRUE(IsOk(txn.UpdateExecution(made)));
    EXPECT_EQ((*txn.GetExecution(e.id))->rev, 2);
  });
}

TEST_F(SqliteTxnTest, GetEntryState_TellsAnyAndActivePerChainUserAndKey) {
  InJob([](StoreTxn& txn) {
    auto none = txn.GetEntryState("welcome", "u1", "k");
    ASSERT_TRUE(IsOk(none));
    EXPECT_FALSE(none->any);
    EXPECT_FALSE(none->active);

    ExecutionRecord e = MakeExecution("u1", "welcome", ExecutionStatus::kWaiting);
    e.entry_key = "k";
    ASSERT_TRUE(IsOk(txn.InsertExecution(e)));
    auto waiting = txn.GetEntryState("welcome", "u1", "k");
    EXPECT_TRUE(waiting->any);
    EXPECT_TRUE(waiting->active);
    EXPECT_FALSE(txn.GetEntryState("welcome", "u1", "other")->any);
    EXPECT_FALSE(txn.GetEntryState("welcome", "u2", "k")->any);

    e.status = ExecutionStatus::kCompleted;
    ASSERT_TRUE(IsOk(txn.UpdateExecution(e)));
    auto done = txn.GetEntryState("welcome", "u1", "k");
    EXPECT_TRUE(done->any);
    EXPECT_FALSE(done->active);
  });
}

WakeupRecord Wait(int64_t execution, int64_t wait, const std::string& user, const std::string& type, int64_t created,
                  int64_t due = 0) {
  WakeupRecord w;
  w.execution_id = execution;
  w.wait_id = wait;
  w.user_id = user;
  w.event_type = type;
  w.created_ms = created;
  w.due_ms = due;
  return w;
}

WakeupRecord Timer(int64_t execution, int64_t wait, int64_t due) { return Wait(execution, wait, "", "", 1, due); }

TEST_F(SqliteTxnTest, Wakeups_AddFindDelete) {
  InJob([](StoreTxn& txn) {
    ASSERT_TRUE(IsOk(txn.AddWakeup(Wait(7, 1, "u1", "purchase", 10))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Wait(7, 2, "u1", "purchase", 11))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Wait(8, 1, "u1", "purchase", 12))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Wait(9, 1, "u1", "click", 13))));
    EXPECT_EQ(txn.AddWakeup(Wait(7, 1, "u1", "purchase", 10)).code(), StatusCode::kAlreadyExists);
    // A pure timer of the same user is no wait.
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(10, 1, 500))));

    auto waits = txn.FindWaits("u1", "purchase");
    ASSERT_TRUE(IsOk(waits));
    ASSERT_EQ(waits->size(), 3u);
    EXPECT_EQ((*waits)[0].execution_id, 7);
    EXPECT_EQ((*waits)[0].wait_id, 1);
    EXPECT_EQ((*waits)[0].event_type, "purchase");
    EXPECT_EQ((*waits)[2].created_ms, 12);

    ASSERT_TRUE(IsOk(txn.DeleteWakeup(7, 2)));
    EXPECT_EQ(txn.FindWaits("u1", "purchase")->size(), 2u);
    ASSERT_TRUE(IsOk(txn.DeleteWakeupsOf(7)));
    ASSERT_EQ(txn.FindWaits("u1", "purchase")->size(), 1u);
    EXPECT_EQ(txn.FindWaits("u1", "purchase")->front().execution_id, 8);
    EXPECT_EQ(txn.FindWaits("u1", "click")->size(), 1u);
    EXPECT_TRUE(txn.FindWaits("u2", "purchase")->empty());
    EXPECT_TRUE(txn.FindWaits("", "")->empty());
    ASSERT_TRUE(IsOk(txn.DeleteWakeup(99, 1)));  // none: nothing to do
  });
}

TEST_F(SqliteTxnTest, DueWakeups_ReadsEachWithItsExecutionAndLeavesTheEventAsText) {
  InJob([](StoreTxn& txn) {
    ExecutionRecord e = MakeExecution("u1", "welcome", ExecutionStatus::kWaiting);
    e.event = boost::json::object{{"type", "cart"}, {"n", 1}};
    ASSERT_TRUE(IsOk(txn.InsertExecution(e)));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Wait(e.id, 3, "u1", "reply", 1, 200))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(e.id + 50, 1, 100))));  // no such execution
    auto due = txn.DueWakeups(1000, 10);
    ASSERT_TRUE(IsOk(due));
    ASSERT_EQ(due->size(), 2u);
    EXPECT_EQ((*due)[0].wakeup.execution_id, e.id + 50);
    EXPECT_FALSE((*due)[0].execution.has_value());
    const storage::DueWakeup& d = (*due)[1];
    EXPECT_EQ(d.wakeup.event_type, "reply");
    EXPECT_EQ(d.wakeup.due_ms, 200);
    ASSERT_TRUE(d.execution.has_value());
    EXPECT_EQ(d.execution->chain, "welcome");
    EXPECT_TRUE(d.execution->event.is_null());
    EXPECT_EQ(boost::json::parse(d.execution->event_text), e.event);
    // Updated without being parsed, the event is written back as it was.
    ExecutionRecord run = *d.execution;
    run.status = ExecutionStatus::kCompleted;
    ASSERT_TRUE(IsOk(txn.UpdateExecution(run)));
    EXPECT_EQ((*txn.GetExecution(e.id))->event, e.event);

    // TakeWakeup removes it once; the second time it is gone.
    EXPECT_TRUE(*txn.TakeWakeup(d.wakeup));
    EXPECT_FALSE(*txn.TakeWakeup(d.wakeup));
    EXPECT_TRUE(txn.FindWaits("u1", "reply")->empty());
    EXPECT_EQ(txn.DueWakeups(1000, 10)->size(), 1u);
  });
}

TEST_F(SqliteTxnTest, DueWakeups_ReturnsDueWakeupsEarliestFirstUpToLimit) {
  InJob([](StoreTxn& txn) {
    EXPECT_FALSE(txn.NextTimerDue()->has_value());
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(1, 0, 500))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(4, 0, 100))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Wait(3, 1, "u", "reply", 1, 300))));  // a wait with a timeout
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(2, 0, 100))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(5, 0, 900))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Wait(6, 1, "u", "reply", 1))));  // no timeout: never due

    auto due = txn.DueWakeups(500, 10);
    ASSERT_TRUE(IsOk(due));
    ASSERT_EQ(due->size(), 4u);
    // Equal due times come out by execution, then wait id.
    EXPECT_EQ((*due)[0].wakeup.execution_id, 2);
    EXPECT_EQ((*due)[1].wakeup.execution_id, 4);
    EXPECT_EQ((*due)[2].wakeup.execution_id, 3);
    EXPECT_EQ((*due)[2].wakeup.wait_id, 1);
    EXPECT_EQ((*due)[3].wakeup.execution_id, 1);
    EXPECT_EQ((*due)[3].wakeup.due_ms, 500);

    auto limited = txn.DueWakeups(10'000, 2);
    ASSERT_EQ(limited->size(), 2u);
    EXPECT_EQ((*limited)[1].wakeup.execution_id, 4);
    EXPECT_TRUE(txn.DueWakeups(99, 10)->empty());
    EXPECT_TRUE(txn.DueWakeups(10'000, 0)->empty());
    EXPECT_EQ(txn.DueWakeups(10'000, 100)->size(), 5u);
    EXPECT_EQ(txn.NextTimerDue()->value_or(-1), 100);
  });
}

TEST_F(SqliteTxnTest, EndUnreadable_EndsARowItNeedNotReadAndRemovesItsWakeups) {
  int64_t id = 0;
  InJob([&](StoreTxn& txn) {
    ExecutionRecord e = MakeExecution("u1", "welcome", ExecutionStatus::kWaiting);
    ASSERT_TRUE(IsOk(txn.InsertExecution(e)));
    id = e.id;
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(id, 0, 500))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Wait(id, 1, "u1", "reply", 1, 900))));
  });
  InJob([&](StoreTxn& txn) {
    auto ended = txn.EndUnreadable(id, ExecutionStatus::kFailed, "cannot resume: broken", 1234);
    ASSERT_TRUE(IsOk(ended));
    EXPECT_TRUE(*ended);
    ended = txn.EndUnreadable(id, ExecutionStatus::kCancelled, "again", 2000);  // already finished
    ASSERT_TRUE(IsOk(ended));
    EXPECT_FALSE(*ended);
    ended = txn.EndUnreadable(id + 100, ExecutionStatus::kFailed, "gone", 2000);  // no such row
    ASSERT_TRUE(IsOk(ended));
    EXPECT_FALSE(*ended);
    EXPECT_EQ(txn.EndUnreadable(id, ExecutionStatus::kWaiting, "", 2000).status().code(),
              StatusCode::kInvalidArgument);  // only to a final status
  });
  auto e = store_->NewReader()->GetExecution(id);
  ASSERT_TRUE(IsOk(e) && e->has_value());
  EXPECT_EQ((*e)->status, ExecutionStatus::kFailed);
  EXPECT_EQ((*e)->error, "cannot resume: broken");
  EXPECT_EQ((*e)->finished_ms, 1234);
  EXPECT_EQ((*e)->rev, 1);
  auto gauges = store_->NewReader()->GetGauges();
  ASSERT_TRUE(IsOk(gauges));
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(ExecutionStatus::kWaiting)], 0);
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(ExecutionStatus::kFailed)], 1);
  EXPECT_EQ(gauges->timers, 0);
  EXPECT_EQ(gauges->waits, 0);
}

TEST_F(SqliteTxnTest, EndUnreadable_CancelsKeepingTheStoredError) {
  int64_t id = 0;
  InJob([&](StoreTxn& txn) {
    ExecutionRecord e = MakeExecution("u1", "welcome", ExecutionStatus::kWaiting);
    e.error = "earlier note";
    ASSERT_TRUE(IsOk(txn.InsertExecution(e)));
    id = e.id;
  });
  InJob([&](StoreTxn& txn) {
    auto ended = txn.EndUnreadable(id, ExecutionStatus::kCancelled, "", 1500);
    ASSERT_TRUE(IsOk(ended) && *ended);
  });
  auto e = store_->NewReader()->GetExecution(id);
  ASSERT_TRUE(IsOk(e) && e->has_value());
  EXPECT_EQ((*e)->status, ExecutionStatus::kCancelled);
  EXPECT_EQ((*e)->error, "earlier note");
  EXPECT_EQ((*e)->finished_ms, 1500);
  auto gauges = store_->NewReader()->GetGauges();
  ASSERT_TRUE(IsOk(gauges));
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(ExecutionStatus::kCancelled)], 1);
}

TEST_F(SqliteTxnTest, DueWakeups_AReaderPagesOnFromACursorInDueOrder) {
  InJob([](StoreTxn& txn) {
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(1, 0, 500))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(4, 0, 100))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(2, 0, 100))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(2, 1, 100))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(5, 0, 900))));  // not due at 500
  });
  auto reader = store_->NewReader();
  std::vector<std::tuple<int64_t, int64_t, int64_t>> seen;
  WakeupCursor cursor;
  const WakeupCursor* after = nullptr;
  for (int page = 0; page < 10; ++page) {
    auto due = reader->DueWakeups(500, 2, after);
    ASSERT_TRUE(IsOk(due));
    if (due->empty()) break;
    for (const DueWakeup& d : *due) seen.emplace_back(d.wakeup.due_ms, d.wakeup.execution_id, d.wakeup.wait_id);
    const WakeupRecord& last = due->back().wakeup;
    cursor = {last.due_ms, last.execution_id, last.wait_id};
    after = &cursor;
  }
  // Equal due times by execution, then wait id, across page boundaries; each once.
  const std::vector<std::tuple<int64_t, int64_t, int64_t>> expected = {
      {100, 2, 0}, {100, 2, 1}, {100, 4, 0}, {500, 1, 0}};
  EXPECT_EQ(seen, expected);
}

TEST_F(SqliteTxnTest, Wakeups_AWaitWithATimeoutIsOneRowRemovedWhole) {
  InJob([](StoreTxn& txn) {
    ASSERT_TRUE(IsOk(txn.AddWakeup(Wait(1, 1, "u", "reply", 1, 200))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(1, 2, 100))));
    ASSERT_TRUE(IsOk(txn.AddWakeup(Timer(2, 7, 300))));
    // The timeout fires: the wait goes with it.
    ASSERT_TRUE(IsOk(txn.DeleteWakeup(1, 1)));
    EXPECT_TRUE(txn.FindWaits("u", "reply")->empty());
    auto due = txn.DueWakeups(1000, 10);
    ASSERT_EQ(due->size(), 2u);
    EXPECT_EQ((*due)[0].wakeup.wait_id, 2);
    EXPECT_EQ((*due)[1].wakeup.execution_id, 2);
    ASSERT_TRUE(IsOk(txn.DeleteWakeupsOf(1)));
    ASSERT_EQ(txn.DueWakeups(1000, 10)->size(), 1u);
    EXPECT_EQ(txn.NextTimerDue()->value_or(-1), 300);
  });
}

TEST_F(SqliteTxnTest, ReserveExecutionId_IsNeverReusedAlsoWhenNothingIsInserted) {
  int64_t reserved = 0, inserted = 0;
  InJob([&](StoreTxn& txn) {
    reserved = *txn.ReserveExecutionId();
    ExecutionRecord e;
    e.flow = e.chain = "c";
    e.user_id = "u";
    ASSERT_TRUE(IsOk(txn.InsertExecution(e)));
    EXPECT_GT(e.id, reserved);
    ExecutionRecord with_reserved = e;
    with_reserved.id = *txn.ReserveExecutionId();
    ASSERT_TRUE(IsOk(txn.InsertExecution(with_reserved)));
    EXPECT_EQ(with_reserved.id, e.id + 1);
    inserted = with_reserved.id;
  });
  // A new store on the same file (the counter is read again from the file) goes on after both.
  store_->Close();
  store_ = OpenOrDie(dir_.File("reach.db"));
  InJob([&](StoreTxn& txn) { EXPECT_GT(*txn.ReserveExecutionId(), inserted); });
}

TEST_F(SqliteTxnTest, Schedules_LastTickIsZeroUntilSet) {
  InJob([](StoreTxn& txn) {
    EXPECT_EQ(*txn.GetLastTick("daily"), 0);
    ASSERT_TRUE(IsOk(txn.SetLastTick("daily", 86'400'000)));
    ASSERT_TRUE(IsOk(txn.SetLastTick("daily", 172'800'000)));
    EXPECT_EQ(*txn.GetLastTick("daily"), 172'800'000);
    EXPECT_EQ(*txn.GetLastTick("weekly"), 0);
  });
}

TEST_F(SqliteTxnTest, FlowsAndMeta_PutAndRead) {
  InJob([](StoreTxn& txn) {
    FlowSetRecord set{"set-1", boost::json::array{boost::json::object{{"path", "a.yaml"}, {"text", "x"}}}, 10};
    ASSERT_TRUE(IsOk(txn.PutFlowSet(set)));
    FlowSetRecord again{"set-1", boost::json::array{}, 99};
    ASSERT_TRUE(IsOk(txn.PutFlowSet(again)));  // idempotent: the first one stays
    auto got = txn.GetFlowSet("set-1");
    ASSERT_TRUE(IsOk(got));
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((*got)->files, set.files);
    EXPECT_EQ((*got)->created_ms, 10);
    EXPECT_FALSE(txn.GetFlowSet("set-2")->has_value());

    ASSERT_TRUE(IsOk(txn.PutFlow({"welcome", "h1", "set-1", false, 10})));
    ASSERT_TRUE(IsOk(txn.PutFlow({"abandoned_cart", "h2", "set-1", false, 10})));
    ASSERT_TRUE(IsOk(txn.PutFlow({"welcome", "h3", "set-1", true, 20})));
    auto flows = txn.ListFlows();
    ASSERT_TRUE(IsOk(flows));
    ASSERT_EQ(flows->size(), 2u);
    EXPECT_EQ((*flows)[0].name, "abandoned_cart");
    EXPECT_EQ((*flows)[1].version, "h3");
    EXPECT_TRUE((*flows)[1].paused);
    EXPECT_EQ((*flows)[1].updated_ms, 20);

    EXPECT_FALSE(txn.GetMeta("current_set")->has_value());
    ASSERT_TRUE(IsOk(txn.PutMeta("current_set", "set-1")));
    ASSERT_TRUE(IsOk(txn.PutMeta("current_set", "set-2")));
    EXPECT_EQ(txn.GetMeta("current_set")->value_or(""), "set-2");
  });
}

TEST_F(SqliteTxnTest, Jobs_SeeEarlierJobsWritesInTheSameBatch) {
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  std::promise<Status> first, second;
  store_->Submit([opened](StoreTxn&) { opened.wait(); return Status::Ok(); }, nullptr);
  store_->Submit([](StoreTxn& txn) { return txn.PutMeta("k", "v"); },
                 [&](const Status& s) { first.set_value(s); });
  store_->Submit(
      [](StoreTxn& txn) {
        auto v = txn.GetMeta("k");
        if (!v.ok()) return v.status();
        return v->value_or("") == "v" ? Status::Ok() : Status::Internal("earlier write not visible");
      },
      [&](const Status& s) { second.set_value(s); });
  gate.set_value();
  EXPECT_TRUE(IsOk(first.get_future().get()));
  EXPECT_TRUE(IsOk(second.get_future().get()));
}

}  // namespace
}  // namespace reach::storage
