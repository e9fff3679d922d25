#include "server/http_metrics.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace reach::server {
namespace {

// RouteIndex's answers, by index: 0 is "other".
constexpr std::array<std::string_view, 18> kRouteLabels = {
    "other",
    "/v1/events",
    "/v1/events:batch",
    "/v1/users",
    "/v1/users/{id}",
    "/v1/flows",
    "/v1/flows/{name}",
    "/v1/flows/{name}:validate",
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

constexpr std::array<std::string_view, 7> kMethods = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};

size_t IndexOf(std::string_view label) {
  for (size_t i = 0; i < kRouteLabels.size(); ++i)
    if (kRouteLabels[i] == label) return i;
  return 0;
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
  static_assert(kRouteLabels.size() == kRoutes);
}

size_t HttpMetrics::RouteIndex(std::string_view p) {
  if (StartsWith(p, "/v1/executions/"))
    return IndexOf(p.find(':') != std::string_view::npos ? "/v1/executions/{id}:cancel" : "/v1/executions/{id}");
  if (StartsWith(p, "/v1/users/")) return IndexOf("/v1/users/{id}");
  if (StartsWith(p, "/v1/flows/")) {
    if (p.size() > 6 && p.substr(p.size() - 6) == "/stats") return IndexOf("/v1/flows/{name}/stats");
    const size_t colon = p.rfind(':');
    if (colon == std::string_view::npos) return IndexOf("/v1/flows/{name}");
    const std::string_view action = p.substr(colon);
    if (action == ":validate") return IndexOf("/v1/flows/{name}:validate");
    if (action == ":pause") return IndexOf("/v1/flows/{name}:pause");
    if (action == ":resume") return IndexOf("/v1/flows/{name}:resume");
    return 0;  // no such action: not a label of its own
  }
  // The fixed routes (entries 1-3, 5, 11, 14-17).
  for (size_t i : {1, 2, 3, 5, 11, 14, 15, 16, 17})
    if (p == kRouteLabels[i]) return i;
  return 0;
}

std::string_view HttpMetrics::RouteOf(std::string_view path) { return kRouteLabels[RouteIndex(path)]; }

std::string_view HttpMetrics::MethodOf(std::string_view method) {
  if (method.empty()) return "-";
  for (std::string_view m : kMethods)
    if (m == method) return m;
  return "other";
}

void HttpMetrics::Observe(const HttpRequest& request, int status, double seconds) {
  const size_t route = RouteIndex(request.path);
  const std::string_view method = MethodOf(request.method);
  const uint8_t method_index = method == "-" ? 254 : method == "other" ? 255 : static_cast<uint8_t>(
      std::find(kMethods.begin(), kMethods.end(), method) - kMethods.begin());
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
    counter = &requests_.WithLabels({std::string(method), std::string(kRouteLabels[route]), std::to_string(status)});
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
