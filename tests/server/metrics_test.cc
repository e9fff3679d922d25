// MetricsRegistry: the exact text exposition (HELP/TYPE, labels, escaping, histogram buckets,
// collectors), re-registration, and increments from several threads.

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "server/metrics.h"

namespace reach::server {
namespace {

TEST(Metrics, Render_CounterWithLabelsAndGaugeWithout) {
  MetricsRegistry registry;
  auto& requests = registry.AddCounter("reach_http_requests_total", "HTTP requests answered.",
                                       {"method", "code"});
  auto& connections = registry.AddGauge("reach_http_connections", "Open connections.");
  requests.WithLabels({"GET", "200"}).Inc();
  requests.WithLabels({"GET", "200"}).Inc(2);
  requests.WithLabels({"POST", "202"}).Inc();
  connections.Get().Set(7);
  connections.Get().Dec();

  EXPECT_EQ(registry.Render(),
            "# HELP reach_http_requests_total HTTP requests answered.\n"
            "# TYPE reach_http_requests_total counter\n"
            "reach_http_requests_total{method=\"GET\",code=\"200\"} 3\n"
            "reach_http_requests_total{method=\"POST\",code=\"202\"} 1\n"
            "# HELP reach_http_connections Open connections.\n"
            "# TYPE reach_http_connections gauge\n"
            "reach_http_connections 6\n");
}

TEST(Metrics, Render_HistogramHasCumulativeBucketsInfSumAndCount) {
  MetricsRegistry registry;
  auto& commits = registry.AddHistogram("reach_store_commit_seconds", "Store commit time.",
                                        {0.001, 0.01, 0.1}, {"store"});
  auto& child = commits.WithLabels({"sqlite"});
  child.Observe(0.0005);
  child.Observe(0.01);  // a value equal to a bound counts in that bucket (le = "less or equal")
  child.Observe(0.05);
  child.Observe(3);

  EXPECT_EQ(registry.Render(),
            "# HELP reach_store_commit_seconds Store commit time.\n"
            "# TYPE reach_store_commit_seconds histogram\n"
            "reach_store_commit_seconds_bucket{store=\"sqlite\",le=\"0.001\"} 1\n"
            "reach_store_commit_seconds_bucket{store=\"sqlite\",le=\"0.01\"} 2\n"
            "reach_store_commit_seconds_bucket{store=\"sqlite\",le=\"0.1\"} 3\n"
            "reach_store_commit_seconds_bucket{store=\"sqlite\",le=\"+Inf\"} 4\n"
            "reach_store_commit_seconds_sum{store=\"sqlite\"} 3.0605\n"
            "reach_store_commit_seconds_count{store=\"sqlite\"} 4\n");
}

TEST(Metrics, Render_UnlabelledHistogramAndUnsortedBuckets) {
  MetricsRegistry registry;
  auto& batch = registry.AddHistogram("reach_batch_jobs", "Jobs per batch.", {10, 1, 100, 10});
  batch.Get().Observe(5);
  EXPECT_EQ(registry.Render(),
            "# HELP reach_batch_jobs Jobs per batch.\n"
            "# TYPE reach_batch_jobs histogram\n"
            "reach_batch_jobs_bucket{le=\"1\"} 0\n"
            "reach_batch_jobs_bucket{le=\"10\"} 1\n"
            "reach_batch_jobs_bucket{le=\"100\"} 1\n"
            "reach_batch_jobs_bucket{le=\"+Inf\"} 1\n"
            "reach_batch_jobs_sum 5\n"
            "reach_batch_jobs_count 1\n");
}

TEST(Metrics, Render_EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  auto& errors = registry.AddCounter("reach_errors_total", "Errors by \\ kind\nsecond line.", {"kind"});
  errors.WithLabels({"a \"quoted\" \\ path\nnext"}).Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP reach_errors_total Errors by \\\\ kind\\nsecond line.\n"
            "# TYPE reach_errors_total counter\n"
            "reach_errors_total{kind=\"a \\\"quoted\\\" \\\\ path\\nnext\"} 1\n");
}

TEST(Metrics, Render_UnlabelledFamiliesShowZeroBeforeTheFirstIncrement) {
  MetricsRegistry registry;
  registry.AddCounter("reach_events_total", "Events accepted.");
  registry.AddCounter("reach_sends_total", "Sends.", {"channel"});
  EXPECT_EQ(registry.Render(),
            "# HELP reach_events_total Events accepted.\n"
            "# TYPE reach_events_total counter\n"
            "reach_events_total 0\n"
            "# HELP reach_sends_total Sends.\n"
            "# TYPE reach_sends_total counter\n");
}

TEST(Metrics, Numbers_IntegersPlainFractionsShortestSpecialsNamed) {
  std::string out;
  for (double v : {0.0, 100000.0, -3.0, 0.25, 1e-7, 1.5e20,
                   std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN()}) {
    AppendMetricNumber(out, v);
    out += ' ';
  }
  EXPECT_EQ(out, "0 100000 -3 0.25 1e-07 1.5e+20 +Inf -Inf NaN ");
}

TEST(Metrics, Counter_IgnoresNegativeIncrements) {
  MetricsRegistry registry;
  auto& counter = registry.AddCounter("c_total", "c").Get();
  counter.Inc(2);
  counter.Inc(-1);
  EXPECT_EQ(counter.Value(), 2);
}

TEST(Metrics, Collector_TextIsAppendedAtEachScrape) {
  MetricsRegistry registry;
  registry.AddGauge("reach_up", "Up.").Get().Set(1);
  int scrapes = 0;
  registry.AddCollector([&](std::string& out) {
    ++scrapes;
    out += "# HELP reach_queue_depth Jobs queued.\n# TYPE reach_queue_depth gauge\n";
    out += "reach_queue_depth " + std::to_string(scrapes * 10);  // no newline: one is added
  });
  registry.AddCollector([](std::string&) { throw std::runtime_error("broken collector"); });
  EXPECT_EQ(registry.Render(),
            "# HELP reach_up Up.\n# TYPE reach_up gauge\nreach_up 1\n"
            "# HELP reach_queue_depth Jobs queued.\n# TYPE reach_queue_depth gauge\n"
            "reach_queue_depth 10\n");
  EXPECT_NE(registry.Render().find("reach_queue_depth 20\n"), std::string::npos);
}

TEST(Metrics, Register_SameNameAndShapeReturnsTheSameFamily) {
  MetricsRegistry registry;
  auto& a = registry.AddCounter("x_total", "x", {"k"});
  auto& b = registry.AddCounter("x_total", "x", {"k"});
  EXPECT_EQ(&a, &b);
  a.WithLabels({"v"}).Inc();
  EXPECT_EQ(&a.WithLabels({"v"}), &b.WithLabels({"v"}));
  EXPECT_EQ(b.WithLabels({"v"}).Value(), 1);
}

TEST(Metrics, Increments_FromManyThreadsAreAllCounted) {
  MetricsRegistry registry;
  auto& family = registry.AddCounter("hits_total", "hits", {"shard"});
  auto& histogram = registry.AddHistogram("lat_seconds", "lat", {0.5}).Get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        family.WithLabels({std::to_string(i % 3)}).Inc();
        histogram.Observe(t % 2 == 0 ? 0.25 : 1.0);  // exact in binary: the sum is exact
      }
    });
  }
  for (auto& thread : threads) thread.join();
  double total = 0;
  for (int shard = 0; shard < 3; ++shard) total += family.WithLabels({std::to_string(shard)}).Value();
  EXPECT_EQ(total, 40000);
  auto snapshot = histogram.Read();
  EXPECT_EQ(snapshot.count, 40000u);
  EXPECT_EQ(snapshot.cumulative[0], 20000u);
  EXPECT_EQ(snapshot.sum, 20000 * 0.25 + 20000 * 1.0);
}

}  // namespace
}  // namespace reach::server
