#pragma once
// A small Prometheus registry for /metrics: counters, gauges and histograms with labels,
// rendered in the text exposition format 0.0.4:
//
//   # HELP reach_http_requests_total HTTP requests answered.
//   # TYPE reach_http_requests_total counter
//   reach_http_requests_total{code="200",method="GET"} 3
//   # HELP reach_commit_seconds Store commit time.
//   # TYPE reach_commit_seconds histogram
//   reach_commit_seconds_bucket{le="0.001"} 1
//   reach_commit_seconds_bucket{le="+Inf"} 2
//   reach_commit_seconds_sum 0.0035
//   reach_commit_seconds_count 2
//
// Families render in registration order, their children sorted by label values, then the
// collectors' text. Numbers: integral values as integers, others in the shortest form that
// reads back exactly, "+Inf"/"-Inf"/"NaN". Label values escape \ " and newline; HELP escapes
// \ and newline.
//
// Cost model: an increment is one atomic add on a child (no lock). Looking a child up by label
// values takes a shared lock and a map lookup; creating one takes the family's lock once. Hot
// paths keep the child reference (children live as long as the registry).
//
// Misuse (a duplicate name with another type or labels, the wrong number of label values) is a
// bug: it asserts in debug builds; in release builds the metric still works but is not rendered.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace reach::server {

using LabelValues = std::vector<std::string>;

class Counter {
 public:
  // Adds `by` (>= 0; a negative amount is ignored: counters only go up). Thread-safe.
  void Inc(double by = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  // All thread-safe.
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Inc(double by = 1.0) { value_.fetch_add(by, std::memory_order_relaxed); }
  void Dec(double by = 1.0) { value_.fetch_sub(by, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // `bounds`: sorted, finite upper bounds (the family's); +Inf is implicit.
  explicit Histogram(const std::vector<double>& bounds);
  // Counts `value` in the first bucket whose bound is >= value. Thread-safe.
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  // Not atomic across buckets with concurrent Observe(); `count` is derived from the buckets
  // so that _count always equals the +Inf bucket.
  Snapshot Read() const;

 private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0.0};
};

// Prometheus' default latency buckets (seconds): .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10.
std::vector<double> DefaultBuckets();
// start, start*factor, ... (`count` bounds).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// A named metric and its children, one per combination of label values.
class MetricFamily {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  MetricFamily(std::string name, std::string help, Type type, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {}
  virtual ~MetricFamily() = default;
  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Appends HELP, TYPE and every child's samples.
  void Render(std::string& out) const;

 protected:
  virtual void RenderChildren(std::string& out) const = 0;
  // `{a="x",b="y"` (no closing brace: histograms append le) or "" when there are no labels.
  std::string OpenLabels(const LabelValues& values) const;

 private:
  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::vector<std::string> label_names_;
};

template <class Child>
class Family final : public MetricFamily {
 public:
  Family(std::string name, std::string help, Type type, std::vector<std::string> label_names,
         std::vector<double> bounds = {});

  // The child for these label values (one per label name, in order), created on first use.
  // Thread-safe; the reference stays valid as long as the registry.
  Child& WithLabels(const LabelValues& values);
  // The child of a family without labels.
  Child& Get() { return WithLabels({}); }

 private:
  void RenderChildren(std::string& out) const override;
  std::unique_ptr<Child> MakeChild() const;

  const std::vector<double> bounds_;  // histograms only
  mutable std::shared_mutex mutex_;
  std::map<LabelValues, std::unique_ptr<Child>> children_;  // guarded by mutex_
  std::unique_ptr<Child> discard_;  // for a wrong number of label values; never rendered
};

// Defined and instantiated in metrics.cc for these three children only.
extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;
using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Register a family, or return the one already registered under `name` with the same type
  // and label names. Names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names [a-zA-Z_][a-zA-Z0-9_]*
  // ("le" is reserved for histograms). Thread-safe; the reference lives as long as the registry.
  CounterFamily& AddCounter(const std::string& name, const std::string& help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(const std::string& name, const std::string& help,
                        std::vector<std::string> label_names = {});
  // `buckets`: upper bounds; sorted and de-duplicated here, non-finite ones dropped.
  HistogramFamily& AddHistogram(const std::string& name, const std::string& help,
                                std::vector<double> buckets = DefaultBuckets(),
                                std::vector<std::string> label_names = {});

  // `collector` appends complete exposition text (HELP/TYPE and samples) at each Render() —
  // for values computed at scrape time (queue depths, open connections). It must not call
  // back into this registry. Exceptions it throws are swallowed (its text is then skipped).
  void AddCollector(std::function<void(std::string& out)> collector);

  // The whole exposition. Thread-safe.
  std::string Render() const;

 private:
  template <class F>
  F& Add(const std::string& name, const std::string& help, MetricFamily::Type type,
         std::vector<std::string> label_names, std::vector<double> bounds);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<MetricFamily>> families_;  // guarded; registration order
  std::vector<std::unique_ptr<MetricFamily>> orphans_;   // misuse: alive, not rendered
  std::vector<std::function<void(std::string&)>> collectors_;  // guarded
};

// Appends `value` in the exposition's number format (see the top of this file).
void AppendMetricNumber(std::string& out, double value);

}  // namespace reach::server
