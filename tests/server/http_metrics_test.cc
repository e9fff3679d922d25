// HttpMetrics: bounded labels (no request adds a series of its own) and counts that match the
// requests, from several threads, through the per-thread cache.
#include "server/http_metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace reach::server {
namespace {

HttpRequest Request(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(HttpMetrics, RoutesAndMethodsAreBoundedLabels) {
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/events"), "/v1/events");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/events:batch"), "/v1/events:batch");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/executions/42"), "/v1/executions/{id}");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/executions/42:cancel"), "/v1/executions/{id}:cancel");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/users/u1"), "/v1/users/{id}");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/flows/welcome"), "/v1/flows/{name}");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/flows/welcome:pause"), "/v1/flows/{name}:pause");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/flows/welcome:resume"), "/v1/flows/{name}:resume");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/flows/welcome:validate"), "/v1/flows/{name}:validate");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/flows/welcome:deploy"), "/v1/flows/{name}:deploy");
  // As the router splits the path as sent: an empty segment or an extra one is no route's.
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/flows/a%2Fstats"), "/v1/flows/{name}");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/users/team%2Fa"), "/v1/users/{id}");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/users/"), "other");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1//events"), "other");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/events/"), "other");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/flows/a/b/stats"), "other");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/executions/1/2"), "other");
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/flows/welcome/stats"), "/v1/flows/{name}/stats");
  EXPECT_EQ(HttpMetrics::RouteOf("/metrics"), "/metrics");
  // Anything a client makes up is "other", never a label of its own.
  EXPECT_EQ(HttpMetrics::RouteOf("/v1/flows/welcome:whatever-i-like"), "other");
  EXPECT_EQ(HttpMetrics::RouteOf("/v2/events"), "other");
  EXPECT_EQ(HttpMetrics::RouteOf(""), "other");
  EXPECT_EQ(HttpMetrics::MethodOf("POST"), "POST");
  EXPECT_EQ(HttpMetrics::MethodOf(""), "-");
  EXPECT_EQ(HttpMetrics::MethodOf("BREW"), "other");
}

TEST(HttpMetrics, CountsEveryRequestFromSeveralThreads) {
  MetricsRegistry registry;
  HttpMetrics metrics(registry);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        metrics.Observe(Request("POST", "/v1/events"), 202, 0.001);
        metrics.Observe(Request(t % 2 ? "BREW" : "GET", "/v1/flows/f" + std::to_string(i) + ":x" + std::to_string(i)),
                        404, 0.002);
      }
    });
  }
  for (auto& th : threads) th.join();
  const std::string text = registry.Render();
  EXPECT_NE(text.find(R"(reach_http_requests_total{method="POST",route="/v1/events",status="202"} 4000)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(reach_http_requests_total{method="GET",route="other",status="404"} 2000)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(reach_http_requests_total{method="other",route="other",status="404"} 2000)"),
            std::string::npos);
  EXPECT_EQ(Count(text, "reach_http_requests_total{"), 3u);  // 8,000 made-up paths: no series of their own
  EXPECT_NE(text.find(R"(reach_http_request_seconds_count{route="/v1/events"} 4000)"), std::string::npos);
  EXPECT_NE(text.find(R"(reach_http_request_seconds_count{route="other"} 4000)"), std::string::npos);

  // A second registry and instance (perhaps at the same address) starts from nothing: the
  // threads' caches do not carry the first one's children over.
  MetricsRegistry other_registry;
  HttpMetrics other(other_registry);
  other.Observe(Request("POST", "/v1/events"), 202, 0.001);
  EXPECT_NE(other_registry.Render().find(R"(reach_http_requests_total{method="POST",route="/v1/events",status="202"} 1)"),
            std::string::npos);
}

}  // namespace
}  // namespace reach::server
