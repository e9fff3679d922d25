#pragma once
// HttpMetrics: the per-request HTTP metrics of `reach serve` (reach_http_requests_total by
// method, route and status; reach_http_request_seconds by route), for
// HttpServerOptions::on_response. Labels are bounded: the route is the pattern of a known route
// (ids and names replaced) or "other", the method one of the methods the API knows or "other",
// so that no request can add series of its own. The children of a label set are looked up once
// per io thread and kept (a lookup builds the label values and searches the family's map).
#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "server/http_types.h"
#include "server/metrics.h"

namespace reach::server {

class HttpMetrics {
 public:
  // Registers (or finds) both families in `registry`, which must outlive this.
  explicit HttpMetrics(MetricsRegistry& registry);

  // Counts one answered request. Thread-safe.
  void Observe(const HttpRequest& request, int status, double seconds);

  // The route label for `path`: "/v1/executions/{id}", "/v1/flows/{name}:pause", ... or "other".
  static std::string_view RouteOf(std::string_view path);
  // The method label: GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS; "-" when none was read;
  // else "other".
  static std::string_view MethodOf(std::string_view method);

 private:
  static constexpr size_t kRoutes = 19;  // every RouteOf answer (see http_metrics.cc)
  static size_t RouteIndex(std::string_view path);

  static std::atomic<uint64_t> next_id_;
  const uint64_t id_;  // keys this instance's entries in the per-thread caches
  CounterFamily& requests_;
  HistogramFamily& seconds_;
  std::array<std::atomic<Histogram*>, kRoutes> seconds_by_route_{};  // filled on first use
};

}  // namespace reach::server
