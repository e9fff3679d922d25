#include "server/metrics.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <exception>
#include <type_traits>

namespace reach::server {

namespace {

bool IsValidName(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void AppendEscaped(std::string& out, const std::string& text, bool escape_quote) {
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && escape_quote) out += "\\\"";
    else out += c;
  }
}

const char* TypeName(MetricFamily::Type type) {
  switch (type) {
    case MetricFamily::Type::kCounter: return "counter";
    case MetricFamily::Type::kGauge: return "gauge";
    case MetricFamily::Type::kHistogram: return "histogram";
  }
  return "untyped";
}

std::vector<double> NormalizeBounds(std::vector<double> bounds) {
  bounds.erase(std::remove_if(bounds.begin(), bounds.end(), [](double b) { return !std::isfinite(b); }),
               bounds.end());
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  return bounds;
}

}  // namespace

void AppendMetricNumber(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {  // 2^53
    out += std::to_string(static_cast<int64_t>(value));
  } else {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, ec == std::errc() ? end : buffer);
  }
}

// ---- Children ----------------------------------------------------------------------------

void Counter::Inc(double by) {
  if (!(by >= 0)) return;  // also refuses NaN
  value_.fetch_add(by, std::memory_order_relaxed);
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  const size_t index = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.cumulative.reserve(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(running);
  }
  snapshot.count = running;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> DefaultBuckets() { return {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}; }

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> bounds;
  for (int i = 0; i < count; ++i, start *= factor) bounds.push_back(start);
  return bounds;
}

// ---- Families ----------------------------------------------------------------------------

void MetricFamily::Render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  AppendEscaped(out, help_, /*escape_quote=*/false);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += TypeName(type_);
  out += '\n';
  RenderChildren(out);
}

std::string MetricFamily::OpenLabels(const LabelValues& values) const {
  std::string out;
  for (size_t i = 0; i < label_names_.size() && i < values.size(); ++i) {
    out += i == 0 ? "{" : ",";
    out += label_names_[i];
    out += "=\"";
    AppendEscaped(out, values[i], /*escape_quote=*/true);
    out += '"';
  }
  return out;
}

template <class Child>
Family<Child>::Family(std::string name, std::string help, Type type,
                      std::vector<std::string> label_names, std::vector<double> bounds)
    : MetricFamily(std::move(name), std::move(help), type, std::move(label_names)),
      bounds_(NormalizeBounds(std::move(bounds))),
      discard_(MakeChild()) {
  // A family without labels has its one child from the start, so it renders as 0 before any
  // increment (absent series break rate() and alerts).
  if (this->label_names().empty()) children_.emplace(LabelValues{}, MakeChild());
}

template <class Child>
std::unique_ptr<Child> Family<Child>::MakeChild() const {
  if constexpr (std::is_same_v<Child, Histogram>) {
    return std::make_unique<Histogram>(bounds_);
  } else {
    return std::make_unique<Child>();
  }
}

template <class Child>
Child& Family<Child>::WithLabels(const LabelValues& values) {
  if (values.size() != label_names().size()) {
    assert(false && "metrics: wrong number of label values");
    return *discard_;
  }
  {
    std::shared_lock lock(mutex_);
    auto it = children_.find(values);
    if (it != children_.end()) return *it->second;
  }
  std::unique_lock lock(mutex_);
  auto& slot = children_[values];  // another thread may have created it meanwhile
  if (!slot) slot = MakeChild();
  return *slot;
}

template <class Child>
void Family<Child>::RenderChildren(std::string& out) const {
  std::shared_lock lock(mutex_);
  for (const auto& [values, child] : children_) {
    std::string labels = OpenLabels(values);
    if constexpr (std::is_same_v<Child, Histogram>) {
      const Histogram::Snapshot snapshot = child->Read();
      const std::string separator = labels.empty() ? "{" : ",";
      for (size_t i = 0; i <= bounds_.size(); ++i) {
        out += name();
        out += "_bucket";
        out += labels;
        out += separator;
        out += "le=\"";
        if (i < bounds_.size()) AppendMetricNumber(out, bounds_[i]);
        else out += "+Inf";
        out += "\"} ";
        AppendMetricNumber(out, static_cast<double>(snapshot.cumulative[i]));
        out += '\n';
      }
      const std::string closed = labels.empty() ? "" : labels + "}";
      out += name() + "_sum" + closed + " ";
      AppendMetricNumber(out, snapshot.sum);
      out += '\n';
      out += name() + "_count" + closed + " ";
      AppendMetricNumber(out, static_cast<double>(snapshot.count));
      out += '\n';
    } else {
      out += name();
      if (!labels.empty()) out += labels + "}";
      out += ' ';
      AppendMetricNumber(out, child->Value());
      out += '\n';
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- Registry ----------------------------------------------------------------------------

template <class F>
F& MetricsRegistry::Add(const std::string& name, const std::string& help, MetricFamily::Type type,
                        std::vector<std::string> label_names, std::vector<double> bounds) {
  bool valid = IsValidName(name, /*allow_colon=*/true);
  for (const auto& label : label_names) {
    valid = valid && IsValidName(label, /*allow_colon=*/false) && label.rfind("__", 0) != 0 &&
            !(type == MetricFamily::Type::kHistogram && label == "le");
  }
  std::lock_guard lock(mutex_);
  for (const auto& family : families_) {
    if (family->name() != name) continue;
    if (family->type() == type && family->label_names() == label_names)
      return static_cast<F&>(*family);
    valid = false;  // same name, different shape
    break;
  }
  auto family = std::make_unique<F>(name, help, type, std::move(label_names), std::move(bounds));
  F& ref = *family;
  assert(valid && "metrics: invalid or conflicting metric registration");
  (valid ? families_ : orphans_).push_back(std::move(family));
  return ref;
}

CounterFamily& MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                           std::vector<std::string> label_names) {
  return Add<CounterFamily>(name, help, MetricFamily::Type::kCounter, std::move(label_names), {});
}

GaugeFamily& MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                       std::vector<std::string> label_names) {
  return Add<GaugeFamily>(name, help, MetricFamily::Type::kGauge, std::move(label_names), {});
}

HistogramFamily& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                               std::vector<double> buckets,
                                               std::vector<std::string> label_names) {
  return Add<HistogramFamily>(name, help, MetricFamily::Type::kHistogram, std::move(label_names),
                              std::move(buckets));
}

void MetricsRegistry::AddCollector(std::function<void(std::string& out)> collector) {
  if (!collector) return;
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::vector<std::function<void(std::string&)>> collectors;
  {
    std::lock_guard lock(mutex_);
    for (const auto& family : families_) family->Render(out);
    collectors = collectors_;  // called unlocked: a slow collector must not block registration
  }
  for (const auto& collector : collectors) {
    std::string text;
    try {
      collector(text);
    } catch (const std::exception&) {
      continue;
    } catch (...) {
      continue;
    }
    out += text;
    if (!text.empty() && text.back() != '\n') out += '\n';
  }
  return out;
}

}  // namespace reach::server
