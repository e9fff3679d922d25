// The admin and profile API of the real `reach serve` (daemon_fixture.h), as an integrator or an
// operator drives it: flows deployed, validated, paused and resumed over HTTP; manual runs;
// cancelling; profiles and their identities; what the routes refuse (and that a refusal
// changes nothing); and the log lines a request can reach.

#include <gtest/gtest.h>

#include <string>

#include "server/daemon_fixture.h"

namespace reach::server {
namespace {

using testing::DaemonOptions;
using testing::DaemonProcess;
using testing::FlowRecord;
using testing::StartedId;
using testing::Str;
using testing::Http;
using testing::HttpReply;
using testing::MetricValue;
using testing::TempDir;
using testing::WriteFile;
namespace json = boost::json;

// `welcome` starts on `signup` and waits a day for `go`; `quick` runs one step and completes.
constexpr char kFlow[] = R"(flow:
  name: onboarding
  nodes:
    - { id: greet, type: noop }
    - { id: wait_go, type: wait_event, event: go, timeout: 1d }
    - { id: done, type: noop }
  chain:
    - name: welcome
      trigger: { event: signup }
      entry: { reentry: always }
      value: "THEN(greet, wait_go, done);"
    - name: quick
      trigger: { event: ping }
      entry: { reentry: always }
      value: "THEN(done);"
)";

// A second flow, deployed over the API.
constexpr char kApiFlow[] = R"(flow:
  name: winback
  nodes:
    - { id: hello, type: noop }
  chain:
    - name: winback
      trigger: { event: lapsed }
      entry: { reentry: always }
      value: "THEN(hello);"
)";

class DaemonApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty()) << "mkdtemp failed";
    WriteFile(dir_ / "flows" / "onboarding.yaml", kFlow);
  }

  std::unique_ptr<DaemonProcess> Start(const std::string& config_yaml = "") {
    DaemonOptions o;
    o.db = dir_ / "reach.db";
    o.flows = dir_ / "flows";
    if (!config_yaml.empty()) {
      o.config = dir_ / "reach.yaml";
      WriteFile(o.config, config_yaml);
    }
    return testing::StartOrFail(std::move(o));
  }
  static std::string Event(const std::string& type, const std::string& user) {
    return json::serialize(json::object{{"type", type}, {"user_id", user}});
  }
  static std::string StatusOf(uint16_t port, const std::string& id) {
    json::value v = Http(port, "GET", "/v1/executions/" + id).Json();
    return v.is_object() && v.as_object().contains("status") ? Str(v.as_object().at("status")) : "";
  }

  TempDir dir_;
};

TEST_F(DaemonApiTest, Flows_DeployedValidatedPausedAndResumedOverHttp) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  const std::string set_before = Str(FlowRecord(port, "onboarding").at("set_version"));

  // Valid: checked, nothing stored.
  HttpReply valid = Http(port, "POST", "/v1/flows/winback:validate", kApiFlow);
  EXPECT_EQ(valid.status, 200) << valid.body;
  EXPECT_TRUE(FlowRecord(port, "winback").empty());
  // Invalid: the compiler's file:line:col, nothing stored.
  std::string broken = kApiFlow;
  broken.replace(broken.find("THEN(hello)"), 11, "THEN(hullo)");
  HttpReply invalid = Http(port, "POST", "/v1/flows/winback:validate", broken);
  EXPECT_EQ(invalid.status, 400) << invalid.body;
  EXPECT_NE(Str(invalid.Json().at("diagnostics")).find("api/winback.yaml:"), std::string::npos) << invalid.body;

  // Deployed by POST /v1/flows, named by flow.name: a new set, and the chain enrolls.
  HttpReply deployed = Http(port, "POST", "/v1/flows", kApiFlow);
  ASSERT_EQ(deployed.status, 201) << deployed.body;
  EXPECT_EQ(deployed.Json().at("name"), "winback");
  const json::object record = FlowRecord(port, "winback");
  ASSERT_FALSE(record.empty());
  EXPECT_NE(Str(record.at("set_version")), set_before);
  EXPECT_NE(StartedId(Http(port, "POST", "/v1/events", Event("lapsed", "w1"))), "");

  // A YAML syntax error is reported with its place whether or not the URL names the flow.
  const std::string syntax = "flow:\n  name: x\n  nodes: [\n";
  for (const char* target : {"/v1/flows", "/v1/flows?name=x", "/v1/flows/x:deploy"}) {
    HttpReply r = Http(port, "POST", target, syntax);
    EXPECT_EQ(r.status, 400) << target << " -> " << r.body;
    ASSERT_TRUE(r.Json().is_object()) << r.body;
    EXPECT_NE(Str(r.Json().at("diagnostics")).find(".yaml:4:1: YAML syntax"), std::string::npos) << target << " -> " << r.body;
  }
  // The URL's name and flow.name must agree; a name is not a path.
  HttpReply mismatch = Http(port, "POST", "/v1/flows/other:deploy", kApiFlow);
  EXPECT_EQ(mismatch.status, 400) << mismatch.body;
  EXPECT_EQ(mismatch.Json().at("field"), "name");
  std::string unnamed = kApiFlow;
  unnamed.erase(unnamed.find("  name: winback\n"), 16);
  for (const char* target : {"/v1/flows?name=../../etc", "/v1/flows?name=.hidden", "/v1/flows?name=a%5Cb"}) {
    HttpReply r = Http(port, "POST", target, unnamed);
    EXPECT_EQ(r.status, 400) << target << " -> " << r.body;
  }
  EXPECT_TRUE(FlowRecord(port, "other").empty());
  EXPECT_TRUE(FlowRecord(port, "etc").empty());
  EXPECT_EQ(Http(port, "POST", "/v1/flows", "").status, 400);

  // Paused: listed so, enrolls nobody; resumed: enrolls again.
  HttpReply paused = Http(port, "POST", "/v1/flows/winback:pause");
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(FlowRecord(port, "winback").at("paused"), true);
  EXPECT_EQ(StartedId(Http(port, "POST", "/v1/events", Event("lapsed", "w2"))), "");
  ASSERT_EQ(Http(port, "POST", "/v1/flows/winback:resume").status, 200);
  EXPECT_EQ(FlowRecord(port, "winback").at("paused"), false);
  EXPECT_NE(StartedId(Http(port, "POST", "/v1/events", Event("lapsed", "w3"))), "");
  EXPECT_EQ(Http(port, "POST", "/v1/flows/nosuch:pause").status, 404);
  EXPECT_EQ(Http(port, "GET", "/v1/flows/nosuch/stats").status, 404);
}

TEST_F(DaemonApiTest, Cancel_EndsWhatRunsRepeatsAsDoneAndSays409ForWhatEnded) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  const std::string waiting = StartedId(Http(port, "POST", "/v1/events", Event("signup", "c1")));
  const std::string completed = StartedId(Http(port, "POST", "/v1/events", Event("ping", "c1")));
  ASSERT_NE(waiting, "");
  ASSERT_NE(completed, "");
  ASSERT_EQ(StatusOf(port, waiting), "waiting");
  ASSERT_EQ(StatusOf(port, completed), "completed");

  HttpReply first = Http(port, "POST", "/v1/executions/" + waiting + ":cancel");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Json().at("cancelled"), true);
  EXPECT_EQ(StatusOf(port, waiting), "cancelled");
  // Again (a retry): done already, not an error.
  HttpReply again = Http(port, "POST", "/v1/executions/" + waiting + ":cancel");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.Json().at("cancelled"), false);
  EXPECT_EQ(again.Json().at("status"), "cancelled");
  // Completed: cannot be cancelled, and says how it ended.
  HttpReply ended = Http(port, "POST", "/v1/executions/" + completed + ":cancel");
  EXPECT_EQ(ended.status, 409) << ended.body;
  EXPECT_EQ(ended.Json().at("status"), "completed");
  EXPECT_EQ(StatusOf(port, completed), "completed");
  EXPECT_EQ(Http(port, "POST", "/v1/executions/999999:cancel").status, 404);
  EXPECT_EQ(Http(port, "POST", "/v1/executions/abc:cancel").status, 400);
  // The node it waited at counts it as cancelled, not waiting: every node's entered adds up.
  json::value stats = Http(port, "GET", "/v1/flows/onboarding/stats").Json();
  ASSERT_TRUE(stats.is_object());
  int64_t cancelled = 0;
  for (const json::value& c : stats.at("chains").as_array())
    for (const json::value& v : c.at("nodes").as_array()) {
      const json::object& n = v.as_object();
      EXPECT_EQ(n.at("waiting"), 0) << json::serialize(n);
      EXPECT_EQ(n.at("entered").as_int64(), n.at("completed").as_int64() + n.at("failed").as_int64() +
                                                n.at("waiting").as_int64() + n.at("cancelled").as_int64())
          << json::serialize(n);
      EXPECT_EQ(n.at("succeeded"), n.at("completed")) << json::serialize(n);
      cancelled += n.at("cancelled").as_int64();
      if (n.at("node") == "wait_go") EXPECT_EQ(n.at("cancelled"), 1) << json::serialize(n);
    }
  EXPECT_EQ(cancelled, 1);
}

TEST_F(DaemonApiTest, Runs_EnrollTheListedUsersAndRefuseWhatTheyDoNotKnow) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  HttpReply run = Http(port, "POST", "/v1/runs",
                       R"({"chain": "welcome", "user_ids": ["r1", "r2"], "event": {"type": "manual"}})");
  ASSERT_EQ(run.status, 200) << run.body;
  const json::value answer = run.Json();
  const json::array& runs = answer.at("runs").as_array();
  ASSERT_EQ(runs.size(), 2u);
  for (const json::value& r : runs) EXPECT_EQ(StatusOf(port, Str(r.at("execution_id"))), "waiting") << json::serialize(r);

  struct Case {
    const char* body;
    const char* field;
  };
  for (const Case& c : {Case{R"({"chain": "welcome", "user_ids": ["r3"], "bogus": 1})", "bogus"},
                        Case{R"({"chain": "welcome", "user_ids": ["r3"], "event": "x"})", "event"},
                        Case{R"({"chain": "welcome", "event": {}})", "event"},
                        Case{R"({"chain": "welcome", "user_ids": []})", "user_ids"},
                        Case{R"({"chain": "welcome", "user_ids": ["r3"], "event": {"n": 1e999}})", "event.n"},
                        Case{R"({"user_ids": ["r3"]})", "chain"}}) {
    HttpReply r = Http(port, "POST", "/v1/runs", c.body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
    ASSERT_TRUE(r.Json().is_object()) << r.body;
    EXPECT_EQ(r.Json().at("field"), c.field) << c.body << " -> " << r.body;
  }
  json::value r3 = Http(port, "GET", "/v1/executions?user_id=r3").Json();
  EXPECT_TRUE(r3.at("executions").as_array().empty());
  EXPECT_EQ(Http(port, "POST", "/v1/runs", R"({"chain": "nosuch", "user_ids": ["r3"]})").status, 404);
}

TEST_F(DaemonApiTest, Users_UpsertAndReadAndAnIdentityAnotherHoldsIsRefusedWhole) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  HttpReply u1 = Http(port, "POST", "/v1/users",
                      R"({"id": "u1", "identities": {"openid": "o1"}, "traits": {"plan": "pro"}, "tags": ["vip"]})");
  ASSERT_EQ(u1.status, 200) << u1.body;
  EXPECT_EQ(u1.Json().at("identities").at("openid"), "o1");

  // u2 asks for u1's openid: 409 naming the holder, and u2 is not created.
  HttpReply taken = Http(port, "POST", "/v1/users", R"({"id": "u2", "identities": {"openid": "o1"}, "traits": {"a": 1}})");
  EXPECT_EQ(taken.status, 409) << taken.body;
  EXPECT_NE(Str(taken.Json().at("error")).find("user 'u1'"), std::string::npos) << taken.body;
  EXPECT_EQ(Http(port, "GET", "/v1/users/u2").status, 404);
  // By the identity alone: the holder's profile is updated.
  HttpReply by_identity = Http(port, "POST", "/v1/users", R"({"identities": {"openid": "o1"}, "traits": {"plan": null}})");
  ASSERT_EQ(by_identity.status, 200) << by_identity.body;
  EXPECT_EQ(by_identity.Json().at("id"), "u1");
  EXPECT_FALSE(by_identity.Json().at("traits").as_object().contains("plan"));

  // A number no double holds is refused where it is, and the profile stays readable.
  HttpReply inf = Http(port, "POST", "/v1/users", R"({"id": "u1", "traits": {"score": 1e999}})");
  EXPECT_EQ(inf.status, 400) << inf.body;
  EXPECT_EQ(inf.Json().at("field"), "traits.score");
  EXPECT_EQ(Http(port, "GET", "/v1/users/u1").status, 200);

  // An id holding '/' is read back by its encoded form.
  ASSERT_EQ(Http(port, "POST", "/v1/users", R"({"id": "team/a"})").status, 200);
  HttpReply slash = Http(port, "GET", "/v1/users/team%2Fa");
  EXPECT_EQ(slash.status, 200) << slash.body;
  EXPECT_EQ(slash.Json().at("id"), "team/a");
}

TEST_F(DaemonApiTest, Routes_WithAnEmptySegmentAreNoRouteAndChangeNothing) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  for (const char* target : {"/v1//events", "/v1/events/", "//v1/events"}) {
    HttpReply r = Http(port, "POST", target, Event("signup", "p1"));
    EXPECT_EQ(r.status, 404) << target << " -> " << r.body;
  }
  EXPECT_EQ(Http(port, "POST", "/v1/events:batch", R"({"events": [], "extra": 1})").status, 400);
  json::value listed = Http(port, "GET", "/v1/executions?user_id=p1").Json();
  EXPECT_TRUE(listed.at("executions").as_array().empty());
  EXPECT_EQ(MetricValue(Http(port, "GET", "/metrics").body, R"(reach_events_total{result="accepted"})"), 0);
}

TEST_F(DaemonApiTest, Batch_ANumberBeyondADoubleRejectsOnlyItsEvent) {
  auto daemon = Start();
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  HttpReply r = Http(port, "POST", "/v1/events:batch",
                     R"({"events": [{"type": "signup", "user_id": "b1"},
                                    {"type": "signup", "user_id": "b2", "properties": {"x": [1e999]}},
                                    {"type": "signup", "user_id": "b3"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value answer = r.Json();
  const json::array& results = answer.at("results").as_array();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].at("status"), "accepted");
  EXPECT_EQ(results[1].at("status"), "rejected");
  EXPECT_EQ(results[1].at("field"), "properties.x[0]");
  EXPECT_EQ(results[2].at("status"), "accepted");
  EXPECT_TRUE(Http(port, "GET", "/v1/executions?user_id=b2").Json().at("executions").as_array().empty());
  EXPECT_EQ(Http(port, "GET", "/v1/executions?user_id=b3").Json().at("executions").as_array().size(), 1u);
}

TEST_F(DaemonApiTest, LogLines_StayOneLineWhateverARequestHolds) {
  auto daemon = Start("log_level: debug\n");
  ASSERT_TRUE(daemon);
  const uint16_t port = daemon->port();
  // A path that decodes to a newline and a forged journald priority.
  EXPECT_EQ(Http(port, "GET", "/x%0A%3C3%3Eerror%20reload%20failed=true%20forged=1").status, 404);
  ASSERT_TRUE(testing::Eventually([&] { return daemon->stderr_text().find("status=404") != std::string::npos; }));
  const std::string log = daemon->stderr_text();
  EXPECT_EQ(log.find("\n<3>error reload"), std::string::npos) << log;
  EXPECT_NE(log.find(R"(path="/x\n<3>error reload failed=true forged=1")"), std::string::npos) << log;
}

// Every message goes through the logger's escaping, a value written bare included: a database
// path holding a newline (the `flows loaded ... db=` line) stays on its line.
TEST_F(DaemonApiTest, LogLines_AnyValueWithANewlineIsEscapedByTheLogger) {
  DaemonOptions o;
  o.db = dir_ / "odd\n<3>forged.db";
  o.flows = dir_ / "flows";
  DaemonProcess daemon(std::move(o));
  ASSERT_TRUE(daemon.Start()) << daemon.stderr_text();
  const std::string log = daemon.stderr_text();
  EXPECT_EQ(log.find("\n<3>forged"), std::string::npos) << log;
  EXPECT_NE(log.find("odd\\n<3>forged.db"), std::string::npos) << log;
}

}  // namespace
}  // namespace reach::server
