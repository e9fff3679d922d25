// Scheduled and manual chains that start with a segment enroll the segment's audience, a page
// at a time, carrying on after a restart; ticks missed while down run once.
#include <gtest/gtest.h>

#include "engine/engine_harness.h"
#include "storage/store_test_util.h"

namespace reach::engine {
namespace {

using reach::testing::EngineHarness;

const char* kFlow = R"YAML(flow:
  nodes:
    - {id: vips, type: segment, where: 'has_tag("vip")'}
    - {id: hello, type: noop}
  chain:
    - name: weekly
      trigger: { schedule: "0 10 * * *", tz: Asia/Shanghai }
      value: "THEN(vips, hello)"
    - name: plain_tick
      trigger: { schedule: "0 10 * * *", tz: Asia/Shanghai }
      value: "THEN(hello)"
)YAML";

void AddUser(EngineHarness& h, const std::string& id, bool vip) {
  storage::UserRecord u;
  u.id = id;
  if (vip) u.tags.push_back("vip");
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return t.PutUser(u); }).ok());
}

std::vector<storage::ExecutionRecord> ExecutionsOf(EngineHarness& h, const std::string& chain) {
  storage::ExecutionFilter f;
  f.flow = chain;
  f.limit = 1000;
  auto r = h.store().NewReader()->ListExecutions(f);
  EXPECT_TRUE(r.ok());
  std::vector<storage::ExecutionRecord> out;
  for (auto& e : *r)
    if (e.chain == chain) out.push_back(e);
  return out;
}

// Runs the pending fan-outs to their end; returns how many executions they started. The users
// they passed over (id, why) go to `skipped` when given, else there must be none.
int Drain(EngineHarness& h, std::vector<std::pair<std::string, std::string>>* skipped = nullptr) {
  int total = 0;
  for (bool more = true; more;) {
    int started = 0;
    std::vector<std::pair<std::string, std::string>> page_skipped;
    EXPECT_TRUE(
        h.Write([&](storage::StoreTxn& t) { return h.engine().ContinueFanouts(t, started, more, page_skipped); }).ok());
    if (skipped) skipped->insert(skipped->end(), page_skipped.begin(), page_skipped.end());
    else EXPECT_TRUE(page_skipped.empty());
    total += started;
  }
  return total;
}

TEST(Fanout, ManualRunEnrollsEveryMatchingUserPageByPageAcrossARestart) {
  EngineOptions options;
  options.fanout_page = 2;
  EngineHarness h(options);
  h.Deploy(kFlow);
  for (int i = 0; i < 7; ++i) AddUser(h, "u" + std::to_string(i), i % 2 == 0);  // u0 u2 u4 u6 are vips
  bool audience = false;
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().StartFanout(t, "weekly", "run-1", audience); }).ok());
  EXPECT_TRUE(audience);
  int started = 0;
  bool more = false;
  std::vector<std::pair<std::string, std::string>> skipped;
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().ContinueFanouts(t, started, more, skipped); }).ok());
  EXPECT_EQ(started, 1);  // u0, u1: one vip
  EXPECT_TRUE(more);
  h.Reopen();
  EXPECT_TRUE(h.engine().fanouts_pending());
  EXPECT_EQ(Drain(h), 3);
  auto runs = ExecutionsOf(h, "weekly");
  ASSERT_EQ(runs.size(), 4u);
  for (const auto& e : runs) {
    EXPECT_EQ(e.trace, "vips==>hello");
    EXPECT_EQ(e.entry_key, "run-1");
  }
}

// A user row that does not read (JSON edited by hand) is passed over and named, and the fan-out
// goes on past it, whichever place of a page it holds.
TEST(Fanout, AUserWhoseRowDoesNotReadIsSkippedAndTheRestAreEnrolled) {
  EngineOptions options;
  options.fanout_page = 2;
  EngineHarness h(options);
  h.Deploy(kFlow);
  for (int i = 0; i < 7; ++i) AddUser(h, "u" + std::to_string(i), i % 2 == 0);  // u0 u2 u4 u6 are vips
  storage::testing::RawQuery(h.db_path(), "UPDATE users SET traits = '{broken' WHERE id IN ('u2', 'u5')");
  ASSERT_EQ(storage::testing::RawQuery(h.db_path(), "SELECT count(*) FROM users WHERE traits = '{broken'"), "2");
  bool audience = false;
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().StartFanout(t, "weekly", "run-1", audience); }).ok());
  std::vector<std::pair<std::string, std::string>> skipped;
  EXPECT_EQ(Drain(h, &skipped), 3);  // u0, u4, u6
  std::vector<std::string> skipped_ids;
  for (const auto& [id, why] : skipped) {
    skipped_ids.push_back(id);
    EXPECT_NE(why.find("does not parse"), std::string::npos) << why;
  }
  EXPECT_EQ(skipped_ids, (std::vector<std::string>{"u2", "u5"}));
  EXPECT_EQ(ExecutionsOf(h, "weekly").size(), 3u);
  EXPECT_FALSE(h.engine().fanouts_pending());
}

TEST(Fanout, AChainWithoutASegmentHasNoAudience) {
  EngineHarness h;
  h.Deploy(kFlow);
  bool audience = true;
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().StartFanout(t, "plain_tick", "k", audience); }).ok());
  EXPECT_FALSE(audience);
}

TEST(Fanout, ScheduleTicksFanOutOncePerTickAndMissedTicksRunOnce) {
  EngineHarness h;
  h.Deploy(kFlow);
  AddUser(h, "a", true);
  AddUser(h, "b", false);
  int started = 0;
  // First sight of the schedules: they start counting from now.
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().RunDueSchedules(t, started); }).ok());
  EXPECT_EQ(started, 0);
  // Three days pass while "down": one run per chain, not three.
  h.clock().Advance(3 * 24 * 3600 * 1000LL);
  h.Reopen();
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().RunDueSchedules(t, started); }).ok());
  EXPECT_EQ(started, 1);  // plain_tick: one execution; weekly: a fan-out
  EXPECT_EQ(Drain(h), 1);
  EXPECT_EQ(ExecutionsOf(h, "weekly").size(), 1u);
  EXPECT_EQ(ExecutionsOf(h, "plain_tick").size(), 1u);
  // Nothing more is due until the next 10:00 Shanghai time.
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().RunDueSchedules(t, started); }).ok());
  EXPECT_EQ(started, 0);
  h.clock().Advance(24 * 3600 * 1000LL);
  ASSERT_TRUE(h.Write([&](storage::StoreTxn& t) { return h.engine().RunDueSchedules(t, started); }).ok());
  EXPECT_EQ(Drain(h), 1);
  EXPECT_EQ(ExecutionsOf(h, "weekly").size(), 2u);
}

}  // namespace
}  // namespace reach::engine
