// Template rendering per send (nodes/template_renderer), each case against two baselines
// measured in the same run:
//   reference  the renderer's first implementation (tests/nodes/template_reference.h): the whole
//              {user, event, ctx} view converted to kainjow data for every renderer, the
//              template parsed by kainjow for every field;
//   floor      what a send pays without any template work: copying the message's JSON fields.
// A "send" is what a send node does: build a renderer over user/event/ctx, then render its
// fields (RenderStrings over a copy of the configured JSON, as wechat.template does).
//
// Run: <build>/bench/template_bench [iterations] [case] [reference|renderer|floor]
//      (prints the figures and the command; case and column narrow the run). Instructions per
//      send, steadier than time on a shared machine: run under `valgrind --tool=callgrind` with
//      one case and one column at 200 and 1200 iterations; (Ir(1200) - Ir(200)) / 5000.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "nodes/template_reference.h"
#include "nodes/template_renderer.h"
#include "storage/records.h"

namespace {

namespace json = boost::json;
using reach::nodes::TemplateRenderer;
using reach::nodes::testing::ReferenceData;
using reach::nodes::testing::ReferenceRenderStrings;
using Clock = std::chrono::steady_clock;

volatile size_t g_sink = 0;  // keeps the optimiser from dropping the work

// A user as the ingest path sees one: a few traits, identities, subscriptions and tags.
reach::storage::UserRecord BenchUser() {
  reach::storage::UserRecord user;
  user.id = "u-000123";
  user.traits = {{"nickname", "Ann"}, {"name", "Ann Li"}, {"city", "Shanghai"}, {"age", 31},
                 {"vip", true},       {"score", 87.5},    {"plan", "gold"},     {"source", "ad"}};
  user.tags = {"vip", "newsletter", "beta"};
  user.timezone = "Asia/Shanghai";
  user.identities = {{"openid", "o-6_bmasdasdsad6_2sgVt7hMZOPfL"}, {"phone", "13800000000"},
                     {"unionid", "u-1"}, {"external_userid", "wmEx1"}};
  user.subscriptions = {{"wechat.template", "subscribed"}, {"sms.send", "subscribed"}};
  return user;
}

json::value BenchEvent() {
  return {{"type", "signup"},
          {"user_id", "u-000123"},
          {"message_id", "b-42"},
          {"timestamp", 1700000000000},
          {"properties", {{"campaign", "bench"}, {"coupon", "C9"}, {"form_id", 7}}}};
}

json::object BenchCtx() {
  return {{"src", "ad"}, {"owner", "lisi"}, {"course_id", 42}, {"items", {"a", "b", "c"}}};
}

struct Case {
  const char* name;
  json::value fields;  // the node's configured fields, rendered as RenderStrings does
};

std::vector<Case> Cases() {
  return {
      // The profiled ingest send (bench/ingest_bench.cc's flow).
      {"wechat_one_var", json::parse(R"({"first":{"value":"Hi {{user.id}}"}})")},
      // A typical template message: url, three keywords reading traits, properties and ctx.
      {"wechat_four_fields",
       json::parse(R"({"url":"https://shop.example.com/sale?u={{user.id}}&c={{event.campaign}}",
                       "first":{"value":"Hi {{user.nickname}}"},
                       "keyword1":{"value":"{{user.city}} / {{ctx.course_id}}"},
                       "remark":{"value":"Reply 1 for {{event.coupon}}","color":"#173177"}})")},
      // Sections go to kainjow (a parse cached per thread, only ctx converted).
      {"section_kainjow", json::parse(R"({"first":{"value":"{{#ctx.items}}[{{.}}]{{/ctx.items}}{{^ctx.vip}}!{{/ctx.vip}}"}})")},
      // Fixed texts: no tag at all.
      {"no_tags", json::parse(R"({"first":{"value":"Welcome back"},"remark":{"value":"Reply 1"}})")},
  };
}

// Median nanoseconds per call of `one` over `rounds` rounds of `iterations` calls.
double NanosPerCall(int iterations, const std::function<void()>& one, int rounds = 5) {
  std::vector<double> per;
  for (int r = 0; r < rounds; ++r) {
    auto start = Clock::now();
    for (int i = 0; i < iterations; ++i) one();
    per.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count() / iterations);
  }
  std::sort(per.begin(), per.end());
  return per[per.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  // [iterations] [case] [which]: a case and one of reference|renderer|floor narrow the run (for
  // callgrind: instructions per send = the difference of two runs / the difference in sends).
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 100000;
  const std::string only = argc > 2 ? argv[2] : "";
  const std::string which = argc > 3 ? argv[3] : "";
  std::printf("command:");
  for (int i = 0; i < argc; ++i) std::printf(" %s", argv[i]);
  std::printf("\nns per send (median of 5 rounds of %d sends)\n\n", iterations);
  std::printf("%-20s %12s %12s %12s %10s\n", "case", "reference", "renderer", "floor(copy)", "speed-up");

  const reach::storage::UserRecord user = BenchUser();
  const json::value event = BenchEvent();
  const json::object ctx = BenchCtx();
  auto wanted = [&](const char* what) { return which.empty() || which == what; };
  const std::vector<Case> cases = Cases();

  for (const Case& c : cases) {
    if (!only.empty() && only != c.name) continue;
    // Both must agree before either is timed.
    json::value a = c.fields, b = c.fields;
    std::string error;
    TemplateRenderer check(user, &event, ctx);
    ReferenceData reference_check(user, &event, ctx);
    if (!check.RenderStrings(a, error) || !ReferenceRenderStrings(reference_check, b, error) || a != b) {
      std::fprintf(stderr, "%s: renderer and reference disagree: %s vs %s (%s)\n", c.name,
                   json::serialize(a).c_str(), json::serialize(b).c_str(), error.c_str());
      return 1;
    }

    double floor = !wanted("floor") ? 0 : NanosPerCall(iterations, [&] {
      json::value v = c.fields;
      g_sink = g_sink + v.as_object().size();
    });
    double reference = !wanted("reference") ? 0 : NanosPerCall(iterations, [&] {
      ReferenceData data(user, &event, ctx);
      json::value v = c.fields;
      std::string e;
      ReferenceRenderStrings(data, v, e);
      g_sink = g_sink + v.as_object().size();
    });
    double renderer = !wanted("renderer") ? 0 : NanosPerCall(iterations, [&] {
      TemplateRenderer r(user, &event, ctx);
      json::value v = c.fields;
      std::string e;
      r.RenderStrings(v, e);
      g_sink = g_sink + v.as_object().size();
    });
    std::printf("%-20s %12.0f %12.0f %12.0f %9.1fx\n", c.name, reference, renderer, floor,
                renderer > 0 ? reference / renderer : 0.0);
  }
  std::printf("\nrendered (renderer == reference checked before timing):\n");
  for (const Case& c : cases) {
    json::value v = c.fields;
    std::string e;
    TemplateRenderer(user, &event, ctx).RenderStrings(v, e);
    std::printf("  %-18s %s\n", c.name, json::serialize(v).c_str());
  }
  return 0;
}
