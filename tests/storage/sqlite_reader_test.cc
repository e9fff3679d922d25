// StoreReader over SQLite: every method, the gauges, node stats with waiting counts, and
// corrupt JSON reported as such.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "storage/store_test_util.h"

namespace reach::storage {
namespace {

using testing::IsOk;
using testing::MakeExecution;
using testing::OpenOrDie;
using testing::RawQuery;
using testing::TempDir;

ExecutionFilter Filter(std::string user_id = "", std::string flow = "",
                       std::optional<ExecutionStatus> status = std::nullopt, int64_t after_id = 0, int limit = 100) {
  ExecutionFilter filter;
  filter.user_id = std::move(user_id);
  filter.flow = std::move(flow);
  filter.status = status;
  filter.after_id = after_id;
  filter.limit = limit;
  return filter;
}

class SqliteReaderTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenOrDie(path_); }
  int64_t Insert(ExecutionRecord e) {
    Status status = store_->Write([&](StoreTxn& txn) { return txn.InsertExecution(e); });
    EXPECT_TRUE(IsOk(status));
    return e.id;
  }

  TempDir dir_;
  std::string path_ = dir_.File("reach.db");
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteReaderTest, ReadsWhatTheWriterCommitted) {
  ExecutionRecord e = MakeExecution("u1", "welcome");
  UserRecord user;
  user.id = "u1";
  user.traits = {{"name", "Li"}};
  ASSERT_TRUE(IsOk(store_->Write([&](StoreTxn& txn) {
    Status s = txn.InsertExecution(e);
    if (s.ok()) s = txn.PutUser(user);
    if (s.ok()) s = txn.PutFlowSet({"set-1", boost::json::array{"f"}, 5});
    if (s.ok()) s = txn.PutFlow({"welcome", "h1", "set-1", false, 5});
    if (s.ok()) s = txn.PutMeta("current_set", "set-1");
    return s;
  })));

  std::unique_ptr<StoreReader> reader = store_->NewReader();
  auto execution = reader->GetExecution(e.id);
  ASSERT_TRUE(IsOk(execution));
  ASSERT_TRUE(execution->has_value());
  EXPECT_EQ((*execution)->ctx, e.ctx);
  EXPECT_FALSE(reader->GetExecution(e.id + 1)->has_value());
  EXPECT_EQ((*reader->GetUser("u1"))->traits, user.traits);
  EXPECT_FALSE(reader->GetUser("nobody")->has_value());
  ASSERT_EQ(reader->ListFlows()->size(), 1u);
  EXPECT_EQ(reader->ListFlows()->front().name, "welcome");
  EXPECT_EQ((*reader->GetFlowSet("set-1"))->files, (boost::json::array{"f"}));
  EXPECT_EQ(reader->GetMeta("current_set")->value_or(""), "set-1");
  EXPECT_FALSE(reader->GetMeta("other")->has_value());
}

TEST_F(SqliteReaderTest, ListExecutions_FiltersByUserFlowOrChainAndStatusWithPaging) {
  ExecutionRecord other_flow = MakeExecution("u1", "promo");
  other_flow.flow = "marketing";  // chain "promo" of flow file "marketing"
  const int64_t a = Insert(MakeExecution("u1", "welcome"));
  const int64_t b = Insert(MakeExecution("u2", "welcome", ExecutionStatus::kWaiting));
  const int64_t c = Insert(other_flow);
  const int64_t d = Insert(MakeExecution("u1", "welcome", ExecutionStatus::kCompleted));

  std::unique_ptr<StoreReader> reader = store_->NewReader();
  auto ids = [&](ExecutionFilter filter) {
    std::vector<int64_t> out;
    auto list = reader->ListExecutions(filter);
    EXPECT_TRUE(IsOk(list));
    if (list.ok()) {
      for (const ExecutionRecord& e : *list) out.push_back(e.id);
    }
    return out;
  };
  EXPECT_EQ(ids(Filter()), (std::vector<int64_t>{a, b, c, d}));
  EXPECT_EQ(ids(Filter("u1")), (std::vector<int64_t>{a, c, d}));
  EXPECT_EQ(ids(Filter("", "marketing")), (std::vector<int64_t>{c}));
  EXPECT_EQ(ids(Filter("", "promo")), (std::vector<int64_t>{c}));  // a chain name matches too
  EXPECT_EQ(ids(Filter("", "welcome.flow")), (std::vector<int64_t>{a, b, d}));
  EXPECT_EQ(ids(Filter("", "", ExecutionStatus::kWaiting)), (std::vector<int64_t>{b}));
  EXPECT_EQ(ids(Filter("", "", ExecutionStatus::kRunning)), (std::vector<int64_t>{a, c}));
  // Completed ones are not in executions_by_status (v6): the primary key, filtered.
  EXPECT_EQ(ids(Filter("", "", ExecutionStatus::kCompleted)), (std::vector<int64_t>{d}));
  EXPECT_EQ(ids(Filter("", "", ExecutionStatus::kCompleted, d)), (std::vector<int64_t>{}));
  EXPECT_EQ(ids(Filter("u1", "welcome", ExecutionStatus::kCompleted)),
            (std::vector<int64_t>{d}));
  // Paging: two per page, continuing after the last id seen.
  EXPECT_EQ(ids(Filter("", "", std::nullopt, 0, 2)), (std::vector<int64_t>{a, b}));
  EXPECT_EQ(ids(Filter("", "", std::nullopt, b, 2)), (std::vector<int64_t>{c, d}));
  EXPECT_TRUE(ids(Filter("", "", std::nullopt, d, 2)).empty());
}

TEST_F(SqliteReaderTest, ListExecutions_MergesFlowAndChainMatchesInIdOrderAcrossPages) {
  auto make = [](const std::string& flow, const std::string& chain, ExecutionStatus status) {
    ExecutionRecord e = MakeExecution("u1", chain, status);
    e.flow = flow;
    return e;
  };
  const int64_t a = Insert(make("F", "F", ExecutionStatus::kWaiting));       // both
  const int64_t b = Insert(make("other", "F", ExecutionStatus::kRunning));   // by chain
  const int64_t c = Insert(make("F", "sub", ExecutionStatus::kWaiting));     // by flow
  Insert(make("other", "other", ExecutionStatus::kWaiting));                 // neither
  const int64_t e = Insert(make("x", "F", ExecutionStatus::kWaiting));       // by chain

  std::unique_ptr<StoreReader> reader = store_->NewReader();
  auto ids = [&](ExecutionFilter filter) {
    std::vector<int64_t> out;
    auto list = reader->ListExecutions(filter);
    EXPECT_TRUE(IsOk(list));
    if (list.ok()) {
      for (const ExecutionRecord& x : *list) out.push_back(x.id);
    }
    return out;
  };
  EXPECT_EQ(ids(Filter("", "F", std::nullopt, 0, 2)), (std::vector<int64_t>{a, b}));
  EXPECT_EQ(ids(Filter("", "F", std::nullopt, b, 2)), (std::vector<int64_t>{c, e}));
  EXPECT_EQ(ids(Filter("", "F", std::nullopt, e, 2)), (std::vector<int64_t>{}));
  EXPECT_EQ(ids(Filter("", "F", ExecutionStatus::kWaiting)), (std::vector<int64_t>{a, c, e}));
  EXPECT_EQ(ids(Filter("u1", "F", ExecutionStatus::kWaiting, a)), (std::vector<int64_t>{c, e}));
  // One at a time: each page the next id of the four (flow, chain) pairs that match.
  std::vector<int64_t> paged;
  for (int64_t after = 0;;) {
    std::vector<int64_t> page = ids(Filter("", "F", std::nullopt, after, 1));
    if (page.empty()) break;
    paged.push_back(after = page.front());
  }
  EXPECT_EQ(paged, (std::vector<int64_t>{a, b, c, e}));
}

TEST_F(SqliteReaderTest, ListExecutions_ByFlowKeepsTheFirstIdsOfManyPairsInterleaved) {
  // Three chains of flow "F", a chain "F" in two other files, the ids of all five interleaved, and
  // a flow sorting before and after each of them: every page is the next `limit` ids of all.
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"F", "a"}, {"F", "F"}, {"F", "z"}, {"A", "F"}, {"G", "F"}};
  std::vector<int64_t> want;
  for (int round = 0; round < 7; ++round) {
    for (const auto& [flow, chain] : pairs) {
      ExecutionRecord e = MakeExecution("u" + std::to_string(round), chain);
      e.flow = flow;
      want.push_back(Insert(e));
      ExecutionRecord other = MakeExecution("u" + std::to_string(round), "F2");
      other.flow = round % 2 ? "A0" : "Z";
      Insert(other);
    }
  }
  std::unique_ptr<StoreReader> reader = store_->NewReader();
  for (int limit : {1, 3, 4, 35, 100}) {
    std::vector<int64_t> got;
    int64_t after = 0;
    for (int pages = 0; pages < 100; ++pages) {
      auto list = reader->ListExecutions(Filter("", "F", std::nullopt, after, limit));
      ASSERT_TRUE(IsOk(list));
      ASSERT_LE(list->size(), static_cast<size_t>(limit));
      if (list->empty()) break;
      for (const ExecutionRecord& x : *list) got.push_back(x.id);
      after = got.back();
    }
    EXPECT_EQ(got, want) << "limit " << limit;
  }
  EXPECT_TRUE(reader->ListExecutions(Filter("", "nothing"))->empty());
  EXPECT_EQ(reader->ListExecutions(Filter("", "F2", std::nullopt, 0, 1000))->size(), 35u);
}

TEST_F(SqliteReaderTest, GetNodeStats_SumsVersionsAndTheWaitingCounter) {
  ASSERT_TRUE(IsOk(store_->Write([&](StoreTxn& txn) {
    Status s = txn.BumpNodeStats("welcome", "v1", "send", 10, 8, 2);
    if (s.ok()) s = txn.BumpNodeStats("welcome", "v1", "send", 1, 1, 0);
    if (s.ok()) s = txn.BumpNodeStats("welcome", "v2", "send", 5, 5, 0);
    if (s.ok()) s = txn.BumpNodeStats("welcome", "v2", "wait_pay", 4, 0, 0, 2);
    if (s.ok()) s = txn.BumpNodeStats("welcome", "v1", "wait_pay", 0, 0, 0, 1);
    if (s.ok()) s = txn.BumpNodeStats("welcome", "v2", "delay_1d", 0, 0, 0, 1);
    if (s.ok()) s = txn.BumpNodeStats("other", "v1", "send", 100, 100, 0);
    return s;
  })));
  // A failed job's counters are not applied.
  EXPECT_FALSE(store_->Write([&](StoreTxn& txn) {
    Status s = txn.BumpNodeStats("welcome", "v1", "send", 1000, 0, 0, 1000);
    return s.ok() ? Status::Invalid("no") : s;
  }).ok());

  std::unique_ptr<StoreReader> reader = store_->NewReader();
  auto stats = reader->GetNodeStats("welcome");
  ASSERT_TRUE(IsOk(stats));
  ASSERT_EQ(stats->size(), 3u);
  EXPECT_EQ((*stats)[0].node, "delay_1d");
  EXPECT_EQ((*stats)[0].entered, 0);
  EXPECT_EQ((*stats)[0].waiting, 1);
  EXPECT_EQ((*stats)[1].node, "send");
  EXPECT_EQ((*stats)[1].entered, 16);
  EXPECT_EQ((*stats)[1].completed, 14);
  EXPECT_EQ((*stats)[1].failed, 2);
  EXPECT_EQ((*stats)[1].waiting, 0);
  EXPECT_EQ((*stats)[2].node, "wait_pay");
  EXPECT_EQ((*stats)[2].entered, 4);
  EXPECT_EQ((*stats)[2].waiting, 3);

  // Executions leaving the nodes.
  ASSERT_TRUE(IsOk(store_->Write([&](StoreTxn& txn) {
    Status s = txn.BumpNodeStats("welcome", "v2", "wait_pay", 0, 2, 0, -2);
    if (s.ok()) s = txn.BumpNodeStats("welcome", "v1", "wait_pay", 0, 1, 0, -1);
    if (s.ok()) s = txn.BumpNodeStats("welcome", "v2", "delay_1d", 0, 0, 0, -1, 1);  // cancelled there
    return s;
  })));
  stats = reader->GetNodeStats("welcome");
  ASSERT_TRUE(IsOk(stats));
  for (const NodeStats& node : *stats) EXPECT_EQ(node.waiting, 0) << node.node;
  EXPECT_EQ((*stats)[0].cancelled, 1);
  EXPECT_EQ((*stats)[2].completed, 3);
  EXPECT_EQ((*stats)[2].cancelled, 0);
  EXPECT_TRUE(reader->GetNodeStats("unknown")->empty());
}

WakeupRecord WakeupOf(int64_t execution, int64_t wait, const std::string& type, int64_t due) {
  WakeupRecord w;
  w.execution_id = execution;
  w.wait_id = wait;
  w.user_id = "u1";
  w.event_type = type;
  w.due_ms = due;
  return w;
}

TEST_F(SqliteReaderTest, GetGauges_CountsExecutionsByStatusWaitsAndTimers) {
  std::unique_ptr<StoreReader> reader = store_->NewReader();
  auto empty = reader->GetGauges();
  ASSERT_TRUE(IsOk(empty));
  EXPECT_EQ(empty->timers, 0);
  EXPECT_FALSE(empty->next_timer_due_ms.has_value());

  const int64_t a = Insert(MakeExecution("u1", "welcome", ExecutionStatus::kRunning));
  Insert(MakeExecution("u2", "welcome", ExecutionStatus::kRunning));
  Insert(MakeExecution("u3", "welcome", ExecutionStatus::kFailed));
  ASSERT_TRUE(IsOk(store_->Write([&](StoreTxn& txn) {
    auto e = txn.GetExecution(a);
    ExecutionRecord moved = **e;
    moved.status = ExecutionStatus::kWaiting;
    Status s = txn.UpdateExecution(moved);
    if (s.ok()) s = txn.AddWakeup(WakeupOf(a, 1, "pay", 700));  // a wait with a timeout
    if (s.ok()) s = txn.AddWakeup(WakeupOf(a, 2, "", 300));     // a delay
    if (s.ok()) s = txn.AddWakeup(WakeupOf(a, 3, "open", 0));   // a wait without a timeout
    return s;
  })));
  // A failed job's rows are rolled back, and so are its effects on the gauges.
  Status failed = store_->Write([&](StoreTxn& txn) {
    ExecutionRecord e = MakeExecution("u9", "welcome", ExecutionStatus::kCancelled);
    Status s = txn.InsertExecution(e);
    if (s.ok()) s = txn.AddWakeup(WakeupOf(e.id, 1, "", 1));
    return s.ok() ? Status::Invalid("changed my mind") : s;
  });
  EXPECT_EQ(failed.code(), StatusCode::kInvalidArgument);

  auto gauges = reader->GetGauges();
  ASSERT_TRUE(IsOk(gauges));
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(ExecutionStatus::kRunning)], 1);
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(ExecutionStatus::kWaiting)], 1);
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(ExecutionStatus::kCompleted)], 0);
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(ExecutionStatus::kFailed)], 1);
  EXPECT_EQ(gauges->executions_by_status[static_cast<int>(ExecutionStatus::kCancelled)], 0);
  EXPECT_EQ(gauges->waits, 2);
  EXPECT_EQ(gauges->timers, 2);
  EXPECT_EQ(gauges->next_timer_due_ms.value_or(-1), 300);

  ASSERT_TRUE(IsOk(store_->Write([&](StoreTxn& txn) { return txn.DeleteWakeup(a, 1); })));
  gauges = reader->GetGauges();
  EXPECT_EQ(gauges->waits, 1);
  EXPECT_EQ(gauges->timers, 1);
  ASSERT_TRUE(IsOk(store_->Write([&](StoreTxn& txn) { return txn.DeleteWakeupsOf(a); })));
  gauges = reader->GetGauges();
  EXPECT_EQ(gauges->waits, 0);
  EXPECT_EQ(gauges->timers, 0);
  EXPECT_FALSE(gauges->next_timer_due_ms.has_value());
}

TEST_F(SqliteReaderTest, CorruptJsonIsReportedWithTableRowAndColumn) {
  UserRecord user;
  user.id = "u1";
  ASSERT_TRUE(IsOk(store_->Write([&](StoreTxn& txn) { return txn.PutUser(user); })));
  const int64_t id = Insert(MakeExecution("u1", "welcome"));
  RawQuery(path_, "UPDATE users SET traits = '{\"broken' WHERE id = 'u1';"
                  "UPDATE executions SET ctx = '[1]' WHERE id = " + std::to_string(id));

  std::unique_ptr<StoreReader> reader = store_->NewReader();
  auto got = reader->GetUser("u1");
  ASSERT_EQ(got.status().code(), StatusCode::kCorruption);
  EXPECT_NE(got.status().message().find("users 'u1' traits"), std::string::npos) << got.status().ToString();
  // The writer's reads (the engine's) refuse the row, naming it and the column.
  Status in_job;
  ASSERT_TRUE(IsOk(store_->Write([&](StoreTxn& txn) {
    in_job = txn.GetExecution(id).status();
    return Status::Ok();
  })));
  ASSERT_EQ(in_job.code(), StatusCode::kCorruption);
  EXPECT_NE(in_job.message().find("executions " + std::to_string(id) + " ctx"), std::string::npos) << in_job.ToString();
  // The readers that show executions (the API) show the row with what reads, and say what does not.
  auto execution = reader->GetExecution(id);
  ASSERT_TRUE(IsOk(execution) && execution->has_value()) << execution.status().ToString();
  EXPECT_EQ((*execution)->user_id, "u1");
  EXPECT_TRUE((*execution)->ctx.empty());
  EXPECT_NE((*execution)->unreadable.find("ctx: stored JSON is not an object"), std::string::npos)
      << (*execution)->unreadable;
}

TEST_F(SqliteReaderTest, ListExecutions_ListsARowWhoseJsonDoesNotParseInsteadOfFailingThePage) {
  const int64_t a = Insert(MakeExecution("u1", "welcome"));
  const int64_t broken = Insert(MakeExecution("u1", "welcome"));
  const int64_t c = Insert(MakeExecution("u1", "welcome"));
  RawQuery(path_, "UPDATE executions SET event = '{\"broken', state = '{' WHERE id = " + std::to_string(broken));
  ExecutionFilter filter;
  filter.user_id = "u1";
  auto list = store_->NewReader()->ListExecutions(filter);
  ASSERT_TRUE(IsOk(list)) << list.status().ToString();
  ASSERT_EQ(list->size(), 3u);
  for (const ExecutionRecord& e : *list) {
    if (e.id == a || e.id == c) {
      EXPECT_TRUE(e.unreadable.empty()) << e.unreadable;
    }
    if (e.id != broken) continue;
    EXPECT_NE(e.unreadable.find("state: stored JSON does not parse"), std::string::npos) << e.unreadable;
    EXPECT_NE(e.unreadable.find("event: stored JSON does not parse"), std::string::npos) << e.unreadable;
    EXPECT_TRUE(e.event.is_null());
  }
}

TEST_F(SqliteReaderTest, ReaderOutlivesTheStore) {
  const int64_t id = Insert(MakeExecution("u1", "welcome"));
  std::unique_ptr<StoreReader> reader = store_->NewReader();
  ASSERT_TRUE(IsOk(reader->GetExecution(id)));
  store_.reset();
  auto after = reader->GetExecution(id);
  ASSERT_TRUE(IsOk(after));
  EXPECT_TRUE(after->has_value());
}

TEST_F(SqliteReaderTest, ReadersOnSeveralThreadsWhileTheWriterWrites) {
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      std::unique_ptr<StoreReader> reader = store_->NewReader();
      while (!stop) {
        if (!reader->ListExecutions(Filter("", "", std::nullopt, 0, 50)).ok() || !reader->GetGauges().ok()) ++errors;
      }
    });
  }
  for (int i = 0; i < 200; ++i) Insert(MakeExecution("u" + std::to_string(i), "welcome"));
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(store_->NewReader()->GetGauges()->executions_by_status[0], 200);
}

}  // namespace
}  // namespace reach::storage
