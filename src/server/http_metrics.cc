#include "server/http_metrics.h"

#include <cstdint>
#include <string>
#include <vector>

namespace reach::server {
namespace {

// Every route label, by the index RouteIndex answers (0: "other"). One entry per route of the
// API (ApiHandler's MatchRoute), ids and names replaced.
enum Route : uint8_t {
  kOther, kEvents, kEventsBatch, kUsers, kUser, kFlows, kFlow, kFlowValidate, kFlowDeploy, kFlowPause,
  kFlowResume, kFlowStats, kExecutions, kExecution, kExecutionCancel, kRuns, kHealthz, kReadyz, kMetrics,
  kRouteCount
};
constexpr std::array<std::string_view, kRouteCount> kRouteLabels = {
    "other",
    "/v1/events",
    "/v1/events:batch",
    "/v1/users",
    "/v1/users/{id}",
    "/v1/flows",
    "/v1/flows/{name}",
    "/v1/flows/{name}:validate",
    "/v1/flows/{name}:deploy",
    "/v1/flows/{name}:pause",
    "/v1/flows/{name}:resume",
    "/v1/flows/{name}/stats",
    "/v1/executions",
    "/v1/executions/{id}",
    "/v1/executions/{id}:cancel",
    "/v1/runs",
    "/healthz",
    "/readyz",
    "/metrics",
};
// The routes whose label is their path.
constexpr std::array<Route, 9> kFixedRoutes = {kEvents, kEventsBatch, kUsers, kFlows, kExecutions,
                                              kRuns, kHealthz, kReadyz, kMetrics};

// Method labels by index: the methods the API knows, then "-" (none read) and "other".
constexpr std::array<std::string_view, 9> kMethodLabels = {"GET", "HEAD",    "POST", "PUT", "DELETE",
                                                           "PATCH", "OPTIONS", "-",    "other"};

size_t MethodIndex(std::string_view method) {
  if (method.empty()) return kMethodLabels.size() - 2;
  for (size_t i = 0; i + 2 < kMethodLabels.size(); ++i)
    if (kMethodLabels[i] == method) return i;
  return kMethodLabels.size() - 1;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// One io thread's children, by label set (a few dozen at most: routes x methods x statuses
// actually seen). Past kMaxCached the lookups go to the family each time.
struct CachedCounter {
  uint64_t owner;  // HttpMetrics::id_: an address could be reused by a later instance
  uint8_t route;
  uint8_t method;
  int16_t status;
  Counter* counter;
};
constexpr size_t kMaxCached = 256;

}  // namespace

std::atomic<uint64_t> HttpMetrics::next_id_{1};

HttpMetrics::HttpMetrics(MetricsRegistry& registry)
    : id_(next_id_.fetch_add(1)),
      requests_(registry.AddCounter("reach_http_requests_total", "HTTP requests answered", {"method", "route", "status"})),
      seconds_(registry.AddHistogram("reach_http_request_seconds", "HTTP request latency",
                                     {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
                                     {"route"})) {
  static_assert(kRouteCount == kRoutes);
}

size_t HttpMetrics::RouteIndex(std::string_view p) {
  // As the router splits it (PathSegments): an empty segment is no route's, and an id or a name
  // is one segment (an encoded '/' in it is still "%2F" here: the path as sent).
  if (p.find("//") != std::string_view::npos || (p.size() > 1 && p.back() == '/')) return kOther;
  auto one_segment = [](std::string_view s) { return !s.empty() && s.find('/') == std::string_view::npos; };
  if (StartsWith(p, "/v1/executions/")) {
    if (!one_segment(p.substr(15))) return kOther;
    return p.find(':') != std::string_view::npos ? kExecutionCancel : kExecution;
  }
  if (StartsWith(p, "/v1/users/")) return one_segment(p.substr(10)) ? kUser : kOther;
  if (StartsWith(p, "/v1/flows/")) {
    std::string_view name = p.substr(10);
    if (name.size() > 6 && name.substr(name.size() - 6) == "/stats")
      return one_segment(name.substr(0, name.size() - 6)) ? kFlowStats : kOther;
    if (!one_segment(name)) return kOther;
    const size_t colon = p.rfind(':');
    if (colon == std::string_view::npos) return kFlow;
    const std::string_view action = p.substr(colon);
    if (action == ":validate") return kFlowValidate;
    if (action == ":deploy") return kFlowDeploy;
    if (action == ":pause") return kFlowPause;
    if (action == ":resume") return kFlowResume;
    return kOther;  // no such action: not a label of its own
  }
  for (Route r : kFixedRoutes)
    if (p == kRouteLabels[r]) return r;
  return kOther;
}

std::string_view HttpMetrics::RouteOf(std::string_view path) { return kRouteLabels[RouteIndex(path)]; }

std::string_view HttpMetrics::MethodOf(std::string_view method) { return kMethodLabels[MethodIndex(method)]; }

void HttpMetrics::Observe(const HttpRequest& request, int status, double seconds) {
  // The path as sent (before decoding, as the router splits it); the decoded one for a request
  // refused before its target was kept.
  std::string_view path = request.target.empty() ? std::string_view(request.path) : std::string_view(request.target);
  path = path.substr(0, path.find_first_of("?#"));
  const size_t route = RouteIndex(path);
  const auto method_index = static_cast<uint8_t>(MethodIndex(request.method));
  const auto status_key = static_cast<int16_t>(status);

  thread_local std::vector<CachedCounter> cache;
  Counter* counter = nullptr;
  for (const CachedCounter& c : cache) {
    if (c.owner == id_ && c.route == route && c.method == method_index && c.status == status_key) {
      counter = c.counter;
      break;
    }
  }
  if (!counter) {
    counter = &requests_.WithLabels(
        {std::string(kMethodLabels[method_index]), std::string(kRouteLabels[route]), std::to_string(status)});
    if (cache.size() < kMaxCached) cache.push_back({id_, static_cast<uint8_t>(route), method_index, status_key, counter});
  }
  counter->Inc();

  Histogram* histogram = seconds_by_route_[route].load(std::memory_order_acquire);
  if (!histogram) {
    histogram = &seconds_.WithLabels({std::string(kRouteLabels[route])});
    seconds_by_route_[route].store(histogram, std::memory_order_release);
  }
  histogram->Observe(seconds);
}

}  // namespace reach::server
