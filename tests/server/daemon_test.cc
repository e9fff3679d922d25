// Daemon integration tests: the real `reach serve` binary as a child process on 127.0.0.1:0,
// with a fresh SQLite file and test flows in a temporary directory, driven over loopback HTTP
// (daemon_fixture.h). They pin what scripts, systemd and operators rely on:
//   - events in -> executions (list, detail, trace) -> flow stats and /metrics move;
//   - duplicates, malformed events and batches answer as documented and change nothing else;
//   - API keys, signed webhooks, the body limit and the header timeout;
//   - the daemon refuses to start on a bad flow, a bad config, or no key off loopback;
//   - SIGTERM drains (every 202 is durable, exit 0 in time), SIGHUP reloads flows (running
//     executions stay on their version), sd_notify READY / WATCHDOG / STOPPING;
//   - a waiting execution survives SIGKILL and finishes after a restart.
//
// The test flow (kJourneyFlow): `signup` starts THEN(greet, IF(wait_go, went, gave_up)), which
// waits up to a day for `go`; `ping` starts a one-step chain. Waits are bounded polls.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "common/thread_name.h"
#include "server/auth.h"
#include "server/daemon_fixture.h"

namespace reach::server {
namespace {

using namespace std::chrono_literals;
using testing::Bearer;
using testing::DaemonOptions;
using testing::DaemonProcess;
using testing::Eventually;
using testing::FlowRecord;
using testing::StartedId;
using testing::Str;
using testing::Http;
using testing::HttpReply;
using testing::MetricValue;
using testing::TempDir;
using testing::WriteFile;
namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

constexpr char kJourneyFlow[] = R"(flow:
  name: journey
  nodes:
    - { id: greet, type: noop }
    - { id: wait_go, type: wait_event, event: go, timeout: 1d }
    - { id: went, type: tag, add: [went] }
    - { id: gave_up, type: noop }
    - { id: ping_step, type: noop }
  chain:
    - name: journey
      trigger: { event: signup }
      entry: { reentry: always }
      value: "THEN(greet, IF(wait_go, went, gave_up));"
    - name: ping
      trigger: { event: ping }
      entry: { reentry: always }
      value: "THEN(ping_step);"
)";

// The journey's second version (for the SIGHUP test): `went` is followed by `ping_step`.
std::string JourneyFlowV2() {
  std::string v2 = kJourneyFlow;
  const std::string from = "IF(wait_go, went, gave_up)";
  v2.replace(v2.find(from), from.size(), "IF(wait_go, THEN(went, ping_step), gave_up)");
  return v2;
}

std::string EventJson(const std::string& type, const std::string& user, const std::string& message_id = "") {
  json::object o{{"type", type}, {"user_id", user}};
  if (!message_id.empty()) o["message_id"] = message_id;
  return json::serialize(o);
}


class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty()) << "mkdtemp failed";
    WriteFile(flows_dir() / "journey.yaml", kJourneyFlow);
  }

  std::filesystem::path flows_dir() const { return dir_ / "flows"; }
  std::filesystem::path db_path() const { return dir_ / "reach.db"; }

  DaemonOptions Options() const {
    DaemonOptions o;
    o.db = db_path();
    o.flows = flows_dir();
    return o;
  }

  std::unique_ptr<DaemonProcess> Start(DaemonOptions options) { return testing::StartOrFail(std::move(options)); }
  std::unique_ptr<DaemonProcess> Start() { return Start(Options()); }

  // Writes a config file and returns its path.
  std::filesystem::path Config(const std::string& yaml) {
    std::filesystem::path p = dir_ / "reach.yaml";
    WriteFile(p, yaml);
    return p;
  }

  static HttpReply PostEvent(uint16_t port, const std::string& body, const std::string& headers = "") {
    return Http(port, "POST", "/v1/events", body, headers);
  }
  // GET /v1/executions?user_id=..: the "executions" array (empty on any failure).
  static json::array Executions(uint16_t port, const std::string& user, const std::string& headers = "") {
    HttpReply r = Http(port, "GET", "/v1/executions?user_id=" + user, {}, headers);
    json::value v = r.Json();
    if (r.status != 200 || !v.is_object() || !v.as_object().contains("executions")) return {};
    return v.as_object().at("executions").as_array();
  }
  static json::object Execution(uint16_t port, const std::string& id) {
    HttpReply r = Http(port, "GET", "/v1/executions/" + id);
    json::value v = r.Json();
    return r.status == 200 && v.is_object() ? v.as_object() : json::object{};
  }
  static std::string Metrics(uint16_t port) { return Http(port, "GET", "/metrics").body; }
  // The per-node stats of `chain` in GET /v1/flows/{flow}/stats, keyed by node id.
  static std::map<std::string, json::object> NodeStats(uint16_t port, const std::string& flow,
                                                       const std::string& chain) {
    std::map<std::string, json::object> out;
    json::value v = Http(port, "GET", "/v1/flows/" + flow + "/stats").Json();
    if (!v.is_object()) return out;
    for (const json::value& c : v.as_object().at("chains").as_array()) {
      if (c.as_object().at("chain") != chain.c_str()) continue;
      for (const json::value& n : c.as_object().at("nodes").as_array())
        out[Str(n.as_object().at("node"))] = n.as_object();
    }
    return out;
  }
  static std::string ChainVersion(const json::object& flow, const std::string& chain) {
    if (!flow.contains("chains")) return "";
    for (const json::value& c : flow.at("chains").as_array())
      if (c.as_object().at("name") == chain.c_str()) return Str(c.as_object().at("version"));
    return "";
  }

  TempDir dir_;
};

// ---- Events, executions, stats, metrics --------------------------------------------------

TEST_F(DaemonTest, Events_StartAndResumeExecutions_VisibleInExecutionsStatsAndMetrics) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  const std::string before = Metrics(port);
  EXPECT_EQ(MetricValue(before, R"(reach_events_total{result="accepted"})"), 0);

  HttpReply signup = PostEvent(port, EventJson("signup", "u1", "m-signup"));
  ASSERT_EQ(signup.status, 202) << signup.body;
  EXPECT_EQ(signup.Json().at("status"), "accepted");
  EXPECT_FALSE(signup.headers["x-request-id"].empty());
  const std::string id = StartedId(signup);
  ASSERT_FALSE(id.empty()) << signup.body;

  // Acknowledged after the commit: visible at once, waiting at wait_go.
  json::array listed = Executions(port, "u1");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("id"), id.c_str());
  EXPECT_EQ(listed[0].at("status"), "waiting");
  EXPECT_EQ(listed[0].at("flow"), "journey");
  EXPECT_EQ(listed[0].at("trace"), "greet") << "a wait joins the trace when it resolves";
  EXPECT_EQ(NodeStats(port, "journey", "journey")["wait_go"]["waiting"], 1);

  HttpReply go = PostEvent(port, EventJson("go", "u1", "m-go"));
  ASSERT_EQ(go.status, 202) << go.body;
  ASSERT_EQ(go.Json().at("resumed").as_array().size(), 1u) << go.body;
  EXPECT_EQ(go.Json().at("resumed").as_array()[0], id.c_str());

  json::object e = Execution(port, id);
  EXPECT_EQ(e["status"], "completed") << json::serialize(e);
  EXPECT_EQ(e["trace"], "greet==>wait_go==>went");
  EXPECT_EQ(e["user_id"], "u1");
  EXPECT_EQ(e["chain"], "journey");
  EXPECT_FALSE(Str(e["finished_at"]).empty());
  EXPECT_EQ(Http(port, "GET", "/v1/users/u1").Json().at("tags"), json::array{"went"});

  auto stats = NodeStats(port, "journey", "journey");
  EXPECT_EQ(stats["greet"]["entered"], 1);
  EXPECT_EQ(stats["greet"]["completed"], 1);
  EXPECT_EQ(stats["went"]["completed"], 1);
  EXPECT_EQ(stats["wait_go"]["waiting"], 0);
  EXPECT_EQ(stats.count("gave_up") ? stats["gave_up"]["entered"].as_int64() : 0, 0);

  const std::string after = Metrics(port);
  EXPECT_EQ(MetricValue(after, R"(reach_events_total{result="accepted"})"), 2);
  EXPECT_EQ(MetricValue(after, "reach_executions_started_total"), 1);
  EXPECT_EQ(MetricValue(after, R"(reach_executions{status="completed"})"), 1);
  EXPECT_EQ(MetricValue(after, R"(reach_executions{status="waiting"})"), 0);
  EXPECT_EQ(MetricValue(after, "reach_waits_pending"), 0);
  EXPECT_EQ(MetricValue(after, "reach_waits_stale"), 0);  // an event takes its wait's entry with it
  EXPECT_GE(MetricValue(after, R"(reach_steps_total{kind="noop",result="ok"})"), 1);
  EXPECT_GE(MetricValue(after, R"(reach_steps_total{kind="tag",result="ok"})"), 1);
  EXPECT_EQ(MetricValue(after, R"(reach_http_requests_total{method="POST",route="/v1/events",status="202"})"), 2);
  EXPECT_GE(MetricValue(after, "reach_store_batches_total"), 2);
  // Too few writes here for a checkpoint; the series are there from the start, at 0.
  EXPECT_NE(after.find("reach_store_checkpoints_total{by=\"checkpointer\"} 0\n"), std::string::npos);
  EXPECT_NE(after.find("reach_store_checkpoints_total{by=\"writer\"} 0\n"), std::string::npos);
  EXPECT_NE(after.find("reach_store_checkpoint_failures_total 0\n"), std::string::npos);
  EXPECT_NE(after.find("reach_store_checkpoint_seconds_count{by=\"checkpointer\"} 0\n"), std::string::npos);
  EXPECT_NE(after.find("reach_store_checkpoint_seconds_count{by=\"writer\"} 0\n"), std::string::npos);
  // No timer came due (the wait ended by its event).
  EXPECT_NE(after.find("reach_timer_rounds_failed_total 0\n"), std::string::npos);
  EXPECT_NE(after.find("reach_executions_unrunnable_total 0\n"), std::string::npos);
  EXPECT_NE(after.find("reach_timer_runs_ahead_total{outcome=\"written\"} 0\n"), std::string::npos);
  EXPECT_NE(after.find("reach_timer_runs_ahead_total{outcome=\"redone\"} 0\n"), std::string::npos);
  EXPECT_GE(MetricValue(after, "reach_wal_fsync_seconds_count"), 1);
  // The store's files: the database's header and schema at least, and a WAL holding the commits.
  EXPECT_GE(MetricValue(after, R"(reach_store_file_bytes{file="db"})"), 4096);
  EXPECT_GT(MetricValue(after, R"(reach_store_file_bytes{file="wal"})"), 0);
  // The heap: the flows, the store's page cache and the sessions at least (over 1 MiB with
  // jemalloc or glibc; the sanitizers' allocator counts ~0.95 MiB); the allocator holds what is
  // allocated. The start-up line names the allocator the build linked.
  EXPECT_GT(MetricValue(after, R"(reach_heap_bytes{state="allocated"})"), 512 << 10);
  EXPECT_GE(MetricValue(after, R"(reach_heap_bytes{state="held"})"),
            MetricValue(after, R"(reach_heap_bytes{state="allocated"})"));
  EXPECT_NE(daemon->stderr_text().find(" allocator=\"" REACH_EXPECTED_ALLOCATOR " "), std::string::npos)
      << daemon->stderr_text();
}

TEST_F(DaemonTest, DuplicateMessageId_Answers200AndStartsNothing) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  HttpReply first = PostEvent(port, EventJson("signup", "u2", "m-dup"));
  ASSERT_EQ(first.status, 202) << first.body;

  HttpReply again = PostEvent(port, EventJson("signup", "u2", "m-dup"));
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.Json().at("status"), "duplicate");
  EXPECT_EQ(again.Json().at("id"), first.Json().at("id"));
  EXPECT_EQ(Executions(port, "u2").size(), 1u);
  const std::string m = Metrics(port);
  EXPECT_EQ(MetricValue(m, R"(reach_events_total{result="accepted"})"), 1);
  EXPECT_EQ(MetricValue(m, R"(reach_events_total{result="duplicate"})"), 1);
  EXPECT_EQ(MetricValue(m, "reach_executions_started_total"), 1);
}

TEST_F(DaemonTest, UnreadableExecution_IsListedWithWhatReadsAndCanBeCancelled) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  const std::string other = StartedId(PostEvent(port, EventJson("signup", "u3", "m-ok")));
  const std::string id = StartedId(PostEvent(port, EventJson("signup", "u3", "m-broken")));
  ASSERT_FALSE(id.empty());
  ASSERT_FALSE(other.empty());
  // Its stored event stops parsing (a hand edit, a bug in an older version): from a second
  // connection, as an operator's sqlite3 shell would.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  const std::string sql = "UPDATE executions SET event = '{\"broken' WHERE id = " + id;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);

  // Listed with the others (not a 500 for the page), saying what does not read.
  json::array listed = Executions(port, "u3");
  ASSERT_EQ(listed.size(), 2u);
  for (const json::value& e : listed) {
    const bool broken = Str(e.at("id")) == id;
    EXPECT_EQ(e.as_object().contains("unreadable"), broken) << json::serialize(e);
  }
  json::object shown = Execution(port, id);
  ASSERT_FALSE(shown.empty());
  EXPECT_EQ(shown["status"], "waiting");
  EXPECT_NE(Str(shown["unreadable"]).find("event: stored JSON does not parse"), std::string::npos)
      << json::serialize(shown);
  EXPECT_TRUE(shown["event"].is_null());

  HttpReply cancel = Http(port, "POST", "/v1/executions/" + id + ":cancel");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_EQ(cancel.Json().at("cancelled"), true);
  EXPECT_EQ(Execution(port, id)["status"], "cancelled");
  EXPECT_EQ(Execution(port, other)["status"], "waiting");
}

TEST_F(DaemonTest, SandboxSend_IsLoggedAndCountedOnceWhenItsStepCommits) {
  WriteFile(flows_dir() / "offer.yaml", R"(flow:
  name: offer
  nodes:
    - id: push
      type: wechat.template
      template_id: TPL_OFFER
      data:
        first: "Hi {{user.id}}"
  chain:
    - name: offer
      trigger: { event: offer }
      entry: { reentry: always }
      value: "THEN(push);"
)");
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  ASSERT_EQ(Http(port, "POST", "/v1/users", R"({"id": "u9", "identities": {"openid": "o-u9"}})").status, 200);
  HttpReply offer = PostEvent(port, EventJson("offer", "u9", "m-offer"));
  ASSERT_EQ(offer.status, 202) << offer.body;
  const std::string id = StartedId(offer);
  ASSERT_FALSE(id.empty()) << offer.body;
  EXPECT_EQ(Execution(port, id)["status"], "completed");
  EXPECT_EQ(MetricValue(Metrics(port), R"(reach_sends_total{channel="wechat.template",mode="sandbox"})"), 1);
  // The full request, once: logged after the step's commit, before the 202.
  const std::string log = daemon->stderr_text();
  size_t lines = 0;
  for (size_t at = log.find("send mode=sandbox"); at != std::string::npos; at = log.find("send mode=sandbox", at + 1))
    ++lines;
  EXPECT_EQ(lines, 1u) << log;
  EXPECT_NE(log.find("\"touser\":\"o-u9\""), std::string::npos) << log;
}

TEST_F(DaemonTest, MalformedEvents_Answer400NamingTheFieldAndChangeNothing) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  ASSERT_EQ(PostEvent(port, EventJson("signup", "u3")).status, 202);
  const std::string all_before = Http(port, "GET", "/v1/executions").body;
  const double accepted_before = MetricValue(Metrics(port), R"(reach_events_total{result="accepted"})");

  struct Case {
    std::string body, field;
  };
  const std::vector<Case> cases = {
      {R"({"user_id": "u3"})", "type"},                                              // missing type
      {R"({"type": 5, "user_id": "u3"})", "type"},                                   // bad type
      {R"({"type": "sign up!", "user_id": "u3"})", "type"},                          // bad name
      {R"({"type": "signup", "user_id": 7})", "user_id"},                            // bad type
      {R"({"type": "signup"})", "user_id"},                                          // no user
      {R"({"type": "signup", "user_id": "u3", "properties": [1]})", "properties"},   // not an object
      {R"({"type": "signup", "user_id": "u3", "timestamp": true})", "timestamp"},    // not a time
      {R"({"type": "signup", "user_id": "u3", "timestamp": "yesterday"})", "timestamp"},
      {R"({"type": "signup", "user_id": "u3", "message_id": ""})", "message_id"},
      {R"({"type": "signup", "user_id": "u3", "identities": {"openid": 1}})", "identities.openid"},
      {R"({"type": "signup", "user_id": "u3", "colour": "red"})", "colour"},         // unknown field
      // A number no double holds parses as infinity, which JSON cannot store: refused where it is.
      {R"({"type": "signup", "user_id": "u3", "properties": {"a": [1, {"b": 1e999}]}})", "properties.a[1].b"},
      {R"({"type": "signup", "user_id": "u3", "properties": {"x": -1e400}})", "properties.x"},
      {R"({"type": "signup", "user_id": "u3", "timestamp": 1700000000})", "timestamp"},            // seconds
      {R"({"type": "signup", "user_id": "u3", "timestamp": 9223372036854775807})", "timestamp"},   // year 292M
      {R"({"type": "signup", "user_id": "u3", "timestamp": 18446744073709551615})", "timestamp"},  // uint64
      {R"({"type": "signup", "user_id": "u3", "timestamp": -5})", "timestamp"},
  };
  for (const Case& c : cases) {
    HttpReply r = PostEvent(port, c.body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
    json::value v = r.Json();
    ASSERT_TRUE(v.is_object()) << r.body;
    EXPECT_EQ(v.at("field"), c.field.c_str()) << c.body << " -> " << r.body;
    EXPECT_NE(Str(v.at("error")).find(c.field), std::string::npos) << r.body;
  }
  for (const char* body : {"not json", "{\"type\": \"signup\",", "[1, 2]", "", "{\"type\": \"signup\", \"user_id\": \"u3\"} x"}) {
    HttpReply r = PostEvent(port, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    ASSERT_TRUE(r.Json().is_object()) << r.body;
    EXPECT_FALSE(Str(r.Json().at("error")).empty());
  }

  EXPECT_EQ(Http(port, "GET", "/v1/executions").body, all_before);
  const std::string m = Metrics(port);
  EXPECT_EQ(MetricValue(m, R"(reach_events_total{result="accepted"})"), accepted_before);
  EXPECT_EQ(MetricValue(m, R"(reach_events_total{result="rejected"})"), static_cast<double>(cases.size() + 5));
  EXPECT_EQ(MetricValue(m, "reach_executions_started_total"), 1);
}

// HEAD answers as GET would, without the body: the probes and the admin reads alike.
TEST_F(DaemonTest, HeadRequests_AnswerAsGetWithoutBody) {
  using reach::server::testing::ClientResponse;
  using reach::server::testing::MakeRequest;
  using reach::server::testing::TestClient;
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  auto head = [port](const char* target) {
    TestClient client(port);
    EXPECT_TRUE(client.Send(MakeRequest("HEAD", target)));
    ClientResponse response = client.ReadResponse(reach::server::testing::kRequestTimeout, /*head_request=*/true);
    // Nothing follows the header block: the next request on the connection is answered next.
    EXPECT_TRUE(client.Send(MakeRequest("GET", "/healthz")));
    EXPECT_EQ(client.ReadResponse().status, 200) << target;
    return response;
  };
  for (const char* target : {"/healthz", "/readyz", "/metrics", "/v1/executions"}) {
    const HttpReply get = Http(port, "GET", target);
    ASSERT_EQ(get.status, 200) << target;
    const ClientResponse response = head(target);
    EXPECT_EQ(response.status, 200) << target;
    EXPECT_EQ(response.Header("content-type"), get.headers.at("content-type")) << target;
    EXPECT_NE(response.Header("content-length"), "") << target;
    EXPECT_EQ(response.body, "") << target;
  }
  EXPECT_EQ(head("/v1/nothing-here").status, 404);
}

// A path that exists under other methods answers 405 naming them; an unknown path 404.
TEST_F(DaemonTest, WrongMethod_Answers405WithAllow) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  struct Case {
    const char* method;
    const char* target;
    const char* allow;
  };
  for (const Case& c : {Case{"GET", "/v1/events", "POST"}, Case{"PUT", "/v1/events:batch", "POST"},
                        Case{"POST", "/healthz", "GET, HEAD"}, Case{"DELETE", "/v1/flows", "GET, HEAD, POST"},
                        Case{"GET", "/v1/executions/1:cancel", "POST"}, Case{"POST", "/v1/executions", "GET, HEAD"},
                        Case{"GET", "/v1/flows/spring:pause", "POST"}}) {
    const HttpReply r = Http(port, c.method, c.target);
    EXPECT_EQ(r.status, 405) << c.method << " " << c.target << " -> " << r.body;
    EXPECT_EQ(r.headers.count("allow") ? r.headers.at("allow") : "", c.allow) << c.method << " " << c.target;
    EXPECT_FALSE(Str(r.Json().at("error")).empty()) << r.body;
  }
  EXPECT_EQ(Http(port, "GET", "/v1/nothing").status, 404);
  EXPECT_EQ(Http(port, "POST", "/v1/flows/spring:explode").status, 404);
  EXPECT_EQ(Http(port, "GET", "/v1/executions/1:explode").status, 404);
  // What answered before still does.
  EXPECT_EQ(Http(port, "GET", "/v1/flows").status, 200);
}

// The event's JSON is parsed into a 4 KiB buffer first, by a parser kept per io thread for bodies
// up to 64 KiB (ApiHandler::PostEvent, ParseBody): one past the buffer, and one past the kept
// parser's size, are read whole all the same, and what is stored is the event as sent.
TEST_F(DaemonTest, LargeEvents_AreAcceptedAndStoredWhole) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  for (int keys : {200, 2500}) {
    const std::string user = "big-" + std::to_string(keys);
    json::object properties;
    for (int i = 0; i < keys; ++i)
      properties["key_" + std::to_string(i)] = std::string(40, static_cast<char>('a' + i % 26));
    json::object event{{"type", "signup"}, {"user_id", user}, {"properties", properties}, {"message_id", user}};
    const std::string body = json::serialize(event);
    ASSERT_GT(body.size(), keys == 200 ? 8000u : 100000u);
    HttpReply r = PostEvent(port, body);
    ASSERT_EQ(r.status, 202) << r.body.substr(0, 200);
    const json::value list = Http(port, "GET", "/v1/executions?user_id=" + user).Json();
    ASSERT_TRUE(list.is_object()) << list;
    const json::array& items = list.at("executions").as_array();
    ASSERT_EQ(items.size(), 1u) << list;
    const json::value detail = Http(port, "GET", "/v1/executions/" + Str(items[0].at("id"))).Json();
    EXPECT_EQ(detail.at("event").at("properties"), json::value(properties)) << keys;
  }
}

TEST_F(DaemonTest, Batch_AnswersOneResultPerEventInOrder) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  const std::string batch = R"({"events": [
      {"type": "ping", "user_id": "b1", "message_id": "b-1"},
      {"user_id": "b1"},
      {"type": "ping", "user_id": "b1", "message_id": "b-1"},
      {"type": "ping", "user_id": "b2", "properties": "x"},
      {"type": "ping", "user_id": "b2", "message_id": "b-2"}]})";
  HttpReply r = Http(port, "POST", "/v1/events:batch", batch);
  ASSERT_EQ(r.status, 200) << r.body;
  const json::array results = r.Json().at("results").as_array();
  ASSERT_EQ(results.size(), 5u) << r.body;
  const char* expected[] = {"accepted", "rejected", "duplicate", "rejected", "accepted"};
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].at("index"), static_cast<int64_t>(i)) << r.body;
    EXPECT_EQ(results[i].at("status"), expected[i]) << i << ": " << r.body;
  }
  EXPECT_NE(Str(results[1].at("error")).find("type"), std::string::npos) << r.body;
  EXPECT_NE(Str(results[3].at("error")).find("properties"), std::string::npos) << r.body;
  EXPECT_EQ(results[2].at("id"), results[0].at("id"));

  EXPECT_EQ(Executions(port, "b1").size(), 1u);
  EXPECT_EQ(Executions(port, "b2").size(), 1u);
  EXPECT_EQ(Executions(port, "b2")[0].at("status"), "completed");
  EXPECT_EQ(Executions(port, "b2")[0].at("trace"), "ping_step");

  HttpReply bad = Http(port, "POST", "/v1/events:batch", R"({"events": 5})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.Json().at("field"), "events");
}

// ---- Authentication and HTTP limits ------------------------------------------------------

TEST_F(DaemonTest, ApiKey_RequiredOnV1RoutesButNotOnHealthz) {
  DaemonOptions o = Options();
  o.env = {{"REACH_API_KEY", "secret"}};
  auto daemon = Start(o);
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();

  HttpReply none = Http(port, "GET", "/v1/flows");
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(none.headers["www-authenticate"], "Bearer");
  EXPECT_EQ(Http(port, "GET", "/v1/flows", {}, Bearer("wrong")).status, 401);
  EXPECT_EQ(Http(port, "GET", "/v1/flows", {}, "Authorization: secret\r\n").status, 401);
  EXPECT_EQ(PostEvent(port, EventJson("signup", "a1")).status, 401);
  EXPECT_EQ(PostEvent(port, EventJson("signup", "a1"), Bearer("secrets")).status, 401);

  HttpReply ok = Http(port, "GET", "/v1/flows", {}, Bearer("secret"));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.Json().at("flows").as_array().size(), 1u);
  EXPECT_EQ(PostEvent(port, EventJson("signup", "a1"), Bearer("secret")).status, 202);
  EXPECT_EQ(Executions(port, "a1", Bearer("secret")).size(), 1u);

  EXPECT_EQ(Http(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(Http(port, "GET", "/readyz").status, 200);
}

TEST_F(DaemonTest, SignedWebhook_AcceptedWhenFreshRefusedWhenStaleOrMismatched) {
  DaemonOptions o = Options();
  o.env = {{"REACH_WEBHOOK_SECRET", "whsec"}};
  auto daemon = Start(o);
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  const int64_t now = std::time(nullptr);
  auto signed_with = [](const std::string& body, const std::string& secret, int64_t t) {
    return "X-Reach-Signature: " + SignBody(body, secret, t) + "\r\n";
  };
  const std::string body = EventJson("signup", "w1", "w-1");

  HttpReply fresh = PostEvent(port, body, signed_with(body, "whsec", now));
  EXPECT_EQ(fresh.status, 202) << fresh.body;
  const std::string other = EventJson("signup", "w1", "w-2");
  EXPECT_EQ(PostEvent(port, other).status, 401);                                          // unsigned
  EXPECT_EQ(PostEvent(port, other, signed_with(other, "whsec", now - 3600)).status, 401);  // stale
  EXPECT_EQ(PostEvent(port, other, signed_with(other, "wrong", now)).status, 401);         // other secret
  EXPECT_EQ(PostEvent(port, other, signed_with(body, "whsec", now)).status, 401);          // other body
  EXPECT_EQ(PostEvent(port, other, "X-Reach-Signature: t=1,v1=zz\r\n").status, 401);       // malformed
  // The 401 says what was wrong with a signature (the clock, the recipe or secret, the format).
  auto error_of = [&](const std::string& sig) { return Str(PostEvent(port, other, sig).Json().at("error")); };
  EXPECT_NE(error_of(signed_with(other, "whsec", now - 3600)).find("server's clock"), std::string::npos);
  EXPECT_NE(error_of(signed_with(other, "wrong", now)).find("no v1 matches"), std::string::npos);
  EXPECT_NE(error_of("X-Reach-Signature: t=1,v1=zz\r\n").find("malformed"), std::string::npos);

  EXPECT_EQ(Executions(port, "w1").size(), 1u);
  EXPECT_EQ(MetricValue(Metrics(port), R"(reach_events_total{result="accepted"})"), 1);
}

TEST_F(DaemonTest, OversizedBody_Answers413) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const std::string big = "{\"type\": \"signup\", \"user_id\": \"big\", \"properties\": {\"pad\": \"" +
                          std::string((1 << 20) + 16, 'x') + "\"}}";
  HttpReply r = PostEvent(daemon->port(), big);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_NE(r.body.find("body too large"), std::string::npos) << r.body;
  EXPECT_TRUE(Executions(daemon->port(), "big").empty());
  EXPECT_EQ(Http(daemon->port(), "GET", "/healthz").status, 200);
}

TEST_F(DaemonTest, SlowClient_IsDisconnectedAfterTheHeaderTimeout) {
  DaemonOptions o = Options();
  o.config = Config("http: {header_timeout_ms: 300}\n");
  auto daemon = Start(o);
  ASSERT_TRUE(daemon);
  testing::TestClient slow(daemon->port());
  ASSERT_TRUE(slow.connected());
  const auto started = SteadyClock::now();
  ASSERT_TRUE(slow.Send("POST /v1/events HTTP/1.1\r\nHost: test\r\nContent-Le"));
  EXPECT_TRUE(slow.WaitClosed(10s)) << "a stalled request must be cut off";
  EXPECT_GE(SteadyClock::now() - started, 250ms);
  EXPECT_EQ(slow.unread(), "") << "closed without an answer";
  // Others are still served.
  EXPECT_EQ(Http(daemon->port(), "GET", "/healthz").status, 200);
}

// ---- Refusing to start -------------------------------------------------------------------

TEST_F(DaemonTest, InvalidFlowFile_RefusesToStartWithFileLineCol) {
  WriteFile(flows_dir() / "broken.yaml", R"(flow:
  nodes:
    - { id: lonely, type: noop }
  chain:
    - name: broken
      value: "THEN(lonely, nowhere);"
)");
  DaemonProcess daemon(Options());
  EXPECT_EQ(daemon.RunToExit(), 1);
  const std::string err = daemon.stderr_text();
  EXPECT_TRUE(std::regex_search(err, std::regex(R"(broken\.yaml:6:\d+: .*nowhere)"))) << err;
  EXPECT_FALSE(std::filesystem::exists(db_path())) << "refused before the store was touched";
}

TEST_F(DaemonTest, InvalidConfig_RefusesToStartWithFileLineCol) {
  DaemonOptions o = Options();
  o.config = Config("log_level: info\nhttp:\n  header_timout_ms: 300\nshutdown_timeout_ms: soon\n");
  DaemonProcess daemon(o);
  EXPECT_EQ(daemon.RunToExit(), 1);
  const std::string err = daemon.stderr_text();
  EXPECT_TRUE(std::regex_search(err, std::regex(R"(reach\.yaml:3:3: unknown key 'header_timout_ms')"))) << err;
  EXPECT_NE(err.find("did you mean 'header_timeout_ms'"), std::string::npos) << err;
  EXPECT_TRUE(std::regex_search(err, std::regex(R"(reach\.yaml:4:\d+: shutdown_timeout_ms)"))) << err;
}

// The CPUs a thread of the daemon named `name` may run on, as the kernel lists them
// (/proc/PID/task/TID/status, Cpus_allowed_list); "" when there is no such thread.
std::string ThreadCpusOf(pid_t pid, const std::string& name) {
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string thread_name;
    std::getline(comm, thread_name);
    if (thread_name != name) continue;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("Cpus_allowed_list:", 0) == 0) {
        std::string list = line.substr(line.find(':') + 1);
        list.erase(0, list.find_first_not_of(" \t"));
        return list;
      }
  }
  return "";
}

// ThreadCpusOf once the thread is there: some threads start after the daemon is ready (the io
// threads), and a loaded machine may take a while to run them.
std::string WaitForThreadCpus(pid_t pid, const std::string& name) {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  std::string cpus = ThreadCpusOf(pid, name);
  while (cpus.empty() && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    cpus = ThreadCpusOf(pid, name);
  }
  return cpus;
}

TEST_F(DaemonTest, CpuAffinity_BindsTheNamedThreadsAndRefusesCpusItMayNotUse) {
  const std::vector<int> allowed = AllowedCpus();
  ASSERT_FALSE(allowed.empty());
  const std::string last = std::to_string(allowed.back());
  {
    DaemonOptions o = Options();
    o.config = Config("cpu_affinity: {writer: " + last + ", io: " + last + "}\n");
    auto daemon = Start(o);
    ASSERT_TRUE(daemon);
    EXPECT_EQ(WaitForThreadCpus(daemon->pid(), "reach-writer"), last);
    EXPECT_EQ(WaitForThreadCpus(daemon->pid(), "reach-io"), last);
    // Not configured: placed by the kernel on any allowed CPU.
    EXPECT_EQ(WaitForThreadCpus(daemon->pid(), "reach-timer"), FormatCpuList(allowed));
    EXPECT_EQ(Http(daemon->port(), "GET", "/readyz").status, 200);
  }
  DaemonOptions o = Options();
  o.config = Config("cpu_affinity:\n  sync: 1023\n");
  DaemonProcess daemon(o);
  EXPECT_EQ(daemon.RunToExit(), 1);
  const std::string err = daemon.stderr_text();
  EXPECT_NE(err.find("cpu_affinity.sync: CPU 1023 is not one this process may run on (allowed: " +
                     FormatCpuList(allowed) + ")"),
            std::string::npos)
      << err;
}

TEST_F(DaemonTest, NoApiKey_RefusesToListenBeyondLoopback) {
  DaemonOptions o = Options();
  o.listen = "0.0.0.0:0";
  DaemonProcess daemon(o);
  EXPECT_EQ(daemon.RunToExit(), 1);
  const std::string err = daemon.stderr_text();
  EXPECT_NE(err.find("loopback only"), std::string::npos) << err;
  EXPECT_NE(err.find("REACH_API_KEY"), std::string::npos) << err;
}

// ---- Signals and systemd -----------------------------------------------------------------

TEST_F(DaemonTest, Sigterm_DrainsInFlightRequestsAndEvery202IsDurable) {
  DaemonOptions o = Options();
  // The writer holds each batch open 1 s for more jobs, so the events are still uncommitted
  // (their requests unanswered) when SIGTERM arrives: the drain has real work to finish.
  o.config = Config("shutdown_timeout_ms: 5000\nstore: {max_batch_delay_us: 1000000}\n");
  auto daemon = Start(o);
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();

  constexpr int kClients = 16;
  std::vector<int> statuses(kClients, -1);
  std::vector<SteadyClock::time_point> answered(kClients);
  std::atomic<int> sent{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      testing::TestClient client(port);
      const std::string body = EventJson("signup", "d" + std::to_string(i), "dm-" + std::to_string(i));
      bool ok = client.connected() && client.Send(testing::MakeRequest("POST", "/v1/events", body));
      sent.fetch_add(1);
      statuses[i] = ok ? client.ReadResponse(testing::kRequestTimeout).status : 0;
      answered[i] = SteadyClock::now();
    });
  }
  ASSERT_TRUE(Eventually([&] { return sent.load() == kClients; }));
  const auto signalled = SteadyClock::now();
  daemon->Signal(SIGTERM);
  for (auto& t : clients) t.join();
  std::optional<int> code = daemon->WaitExit(15s);
  ASSERT_TRUE(code.has_value()) << "still running after SIGTERM; stderr:\n" << daemon->stderr_text();
  EXPECT_EQ(*code, 0) << daemon->stderr_text();
  const auto drain = SteadyClock::now() - signalled;
  EXPECT_LT(drain, 5s + 2s) << "the drain is bounded by shutdown_timeout_ms";
  RecordProperty("drain_ms", static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(drain).count()));
  EXPECT_NE(daemon->stderr_text().find("stopped clean=true"), std::string::npos) << daemon->stderr_text();

  // 202 (durable), 503 (intake stopped) or no answer (connection refused or closed unread):
  // a client retries the last two with the same message_id.
  int accepted = 0, accepted_while_draining = 0;
  for (int i = 0; i < kClients; ++i) {
    EXPECT_TRUE(statuses[i] == 202 || statuses[i] == 503 || statuses[i] == 0) << i << ": " << statuses[i];
    accepted += statuses[i] == 202;
    accepted_while_draining += statuses[i] == 202 && answered[i] > signalled;
  }
  EXPECT_GT(accepted_while_draining, 0) << "no request was in flight at SIGTERM";
  RecordProperty("accepted", accepted);
  RecordProperty("accepted_while_draining", accepted_while_draining);

  o.config = Config("shutdown_timeout_ms: 5000\n");  // no batch delay: quick checks
  auto restarted = Start(o);
  ASSERT_TRUE(restarted);
  for (int i = 0; i < kClients; ++i) {
    if (statuses[i] != 202) continue;
    const std::string user = "d" + std::to_string(i);
    EXPECT_EQ(Executions(restarted->port(), user).size(), 1u) << user;
    HttpReply again = PostEvent(restarted->port(), EventJson("signup", user, "dm-" + std::to_string(i)));
    EXPECT_EQ(again.status, 200) << user << ": the acknowledged event must be stored";
  }
}

TEST_F(DaemonTest, Sighup_ReloadsFlowsAndRunningExecutionsFinishOnTheirVersion) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  const json::object v1 = FlowRecord(port, "journey");
  const std::string v1_chain = ChainVersion(v1, "journey");
  ASSERT_FALSE(v1_chain.empty()) << json::serialize(v1);

  HttpReply old_start = PostEvent(port, EventJson("signup", "h1"));
  ASSERT_EQ(old_start.status, 202);
  const std::string old_id = StartedId(old_start);

  WriteFile(flows_dir() / "journey.yaml", JourneyFlowV2());
  daemon->Signal(SIGHUP);
  json::object v2;
  ASSERT_TRUE(Eventually([&] {
    v2 = FlowRecord(port, "journey");
    return v2.contains("version") && v2.at("version") != v1.at("version");
  })) << "GET /v1/flows still shows " << json::serialize(v1) << "\nstderr:\n" << daemon->stderr_text();
  const std::string v2_chain = ChainVersion(v2, "journey");
  EXPECT_NE(v2_chain, v1_chain);
  EXPECT_NE(v2.at("set_version"), v1.at("set_version"));

  HttpReply new_start = PostEvent(port, EventJson("signup", "h2"));
  ASSERT_EQ(new_start.status, 202);
  const std::string new_id = StartedId(new_start);
  ASSERT_EQ(PostEvent(port, EventJson("go", "h1")).status, 202);
  ASSERT_EQ(PostEvent(port, EventJson("go", "h2")).status, 202);

  json::object old_exec = Execution(port, old_id);
  EXPECT_EQ(old_exec["status"], "completed");
  EXPECT_EQ(old_exec["trace"], "greet==>wait_go==>went") << "the old version has no ping_step";
  EXPECT_EQ(old_exec["version"], v1_chain.c_str());
  json::object new_exec = Execution(port, new_id);
  EXPECT_EQ(new_exec["status"], "completed");
  EXPECT_EQ(new_exec["trace"], "greet==>wait_go==>went==>ping_step");
  EXPECT_EQ(new_exec["version"], v2_chain.c_str());

  // A broken file on reload: logged, the running set stays.
  WriteFile(flows_dir() / "journey.yaml", "flow: [");
  daemon->Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return daemon->stderr_text().find("reload failed=true") != std::string::npos; }));
  EXPECT_EQ(FlowRecord(port, "journey").at("version"), v2.at("version"));
  EXPECT_EQ(PostEvent(port, EventJson("signup", "h3")).status, 202);
}

TEST_F(DaemonTest, SdNotify_SendsReadyWatchdogPingsAndStopping) {
  testing::NotifySocket notify(dir_ / "notify.sock");
  ASSERT_TRUE(notify.bound()) << notify.path();
  DaemonOptions o = Options();
  o.env = {{"NOTIFY_SOCKET", notify.path().string()}, {"WATCHDOG_USEC", "400000"}};
  o.watchdog_pid_is_child = true;
  auto daemon = Start(o);
  ASSERT_TRUE(daemon);

  std::vector<std::string> seen;
  auto ready = notify.WaitFor("READY=1", 10s, &seen);
  ASSERT_TRUE(ready) << "no READY=1";
  EXPECT_NE(ready->find("STATUS=serving on 127.0.0.1:" + std::to_string(daemon->port())), std::string::npos)
      << *ready;
  // Pinged every half of WATCHDOG_USEC (200 ms): two pings well within 5 s.
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(notify.WaitFor("WATCHDOG=1", 5s, &seen)) << "ping " << i;

  daemon->Signal(SIGHUP);
  EXPECT_TRUE(notify.WaitFor("STATUS=serving on", 5s, &seen)) << "a reload reports its status";

  daemon->Signal(SIGTERM);
  EXPECT_TRUE(notify.WaitFor("STOPPING=1", 10s, &seen)) << "no STOPPING=1";
  EXPECT_EQ(daemon->WaitExit(15s), 0) << daemon->stderr_text();
}

TEST_F(DaemonTest, WaitingExecution_SurvivesSigkillAndCompletesAfterRestart) {
  std::string id;
  {
    auto daemon = Start();
    ASSERT_TRUE(daemon);
    HttpReply r = PostEvent(daemon->port(), EventJson("signup", "p1"));
    ASSERT_EQ(r.status, 202) << r.body;
    id = StartedId(r);
    ASSERT_EQ(Execution(daemon->port(), id)["status"], "waiting");
    daemon->Kill();
  }
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  EXPECT_EQ(Execution(port, id)["status"], "waiting");
  EXPECT_EQ(NodeStats(port, "journey", "journey")["wait_go"]["waiting"], 1);

  HttpReply go = PostEvent(port, EventJson("go", "p1"));
  ASSERT_EQ(go.status, 202) << go.body;
  EXPECT_EQ(go.Json().at("resumed").as_array(), json::array{json::value(id)});
  json::object e = Execution(port, id);
  EXPECT_EQ(e["status"], "completed");
  EXPECT_EQ(e["trace"], "greet==>wait_go==>went");
  EXPECT_EQ(MetricValue(Metrics(port), R"(reach_executions{status="completed"})"), 1);
}

}  // namespace
}  // namespace reach::server
