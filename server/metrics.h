// A small Prometheus registry: counters, gauges and histograms in labelled
// families, rendered in the text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Registration happens at start-up with names written in the code, so a bad name
// is a programming error: AddCounter, AddGauge, AddHistogram and AddCallbackGauge
// abort the process with a message on stderr when a metric or label name breaks
// the Prometheus grammar, when a name is already taken (including the `_bucket`,
// `_sum` and `_count` series a histogram adds), or when histogram bounds are not
// finite and strictly increasing. ValidateMetricName and ValidateLabelName let code
// that builds names at run time check them first.
//
// Cardinality: each family holds at most `max_series_per_family` label sets
// (default 1000). Past that bound, With() for a new label set returns one shared
// overflow series whose every label value is "other", so a family never holds
// more than max_series_per_family + 1 series. A label set already present keeps
// its own series. Label values should be valid UTF-8 and are written as given,
// apart from the escaping the format requires (backslash, double quote, newline).
//
// Thread safety: everything here is thread-safe. Counter, Gauge and Histogram
// updates are lock-free atomics; With() takes the family's lock, so hot paths look
// a series up once and keep the reference, which stays valid for the registry's
// life. Render() takes each family's lock in turn while it reads the values.
//
// Ownership: the registry owns its families and their series; none of these
// classes is copyable or movable.

#ifndef CUSTODY_SERVER_METRICS_H_
#define CUSTODY_SERVER_METRICS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace custody::server {

// A value that only goes up (requests served, bytes sent).
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds `by`. A negative or NaN `by` is ignored: a counter never goes down.
  void Increment(double by = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down (sessions in flight, queue length).
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  // Adds `by`, which may be negative.
  void Add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations in buckets with fixed upper bounds (inclusive), plus a
// `+Inf` bucket, their sum and their count.
class Histogram {
 public:
  // `bounds` is the family's, checked by AddHistogram; it must outlive this.
  explicit Histogram(const std::vector<double>& bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Adds `value` to the first bucket whose bound is >= value (the +Inf bucket if
  // none is). A NaN `value` is ignored.
  void Observe(double value);

  // A snapshot: per-bucket counts, not cumulative (bounds().size() + 1 of them,
  // the last the +Inf bucket), and the sum. Under concurrent Observe calls the
  // sum may lag the counts by the observations in flight.
  std::vector<uint64_t> BucketCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

namespace metrics_internal {

// What every family shares. Used only by metrics.{h,cc}.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  // Appends the family's HELP, TYPE and sample lines; nothing when it has no series.
  virtual void Render(std::string& out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names,
             size_t max_series);
  // "# HELP ...\n# TYPE ...\n".
  void AppendHeader(absl::string_view type, std::string& out) const;
  // `{a="x",b="y"}` with `extra` (e.g. `le="0.5"`) appended; "" when both are empty.
  void AppendLabels(const std::vector<std::string>& values, absl::string_view extra,
                    std::string& out) const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const size_t max_series_;
};

// The bounded table of one family's series, in label-value order.
template <typename Metric>
class Family : public FamilyBase {
 public:
  // The series for these label values (one per label name, in order), created on
  // first use; past the cardinality bound, the overflow series (see the file
  // comment). The reference stays valid for the registry's life. A wrong number of
  // values is a programming error and aborts.
  Metric& With(std::initializer_list<absl::string_view> values = {});
  Metric& With(const std::vector<std::string>& values);

 protected:
  using FamilyBase::FamilyBase;
  virtual std::unique_ptr<Metric> NewMetric() const = 0;
  // Calls `f` for each series in label-value order, under the family's lock.
  void ForEachSeries(
      const std::function<void(const std::vector<std::string>&, const Metric&)>& f) const;
  // Renders a family of single-value series (counters, gauges) as `type`. A
  // member template, so that Family<Histogram> does not instantiate it.
  template <typename M = Metric>
  void RenderValues(absl::string_view type, std::string& out) const;

 private:
  Metric& Lookup(std::vector<std::string> values);

  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> series_ ABSL_GUARDED_BY(mu_);
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

}  // namespace metrics_internal

// A labelled family of counters, made by MetricsRegistry::AddCounter:
// `family.With({"GET", "200"}).Increment()`.
class CounterFamily final : public metrics_internal::Family<Counter> {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names,
                size_t max_series);
  void Render(std::string& out) const override;

 private:
  std::unique_ptr<Counter> NewMetric() const override;
};

// A labelled family of gauges, made by MetricsRegistry::AddGauge.
class GaugeFamily final : public metrics_internal::Family<Gauge> {
 public:
  GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names,
              size_t max_series);
  void Render(std::string& out) const override;

 private:
  std::unique_ptr<Gauge> NewMetric() const override;
};

// A labelled family of histograms sharing one set of bucket bounds, made by
// MetricsRegistry::AddHistogram.
class HistogramFamily final : public metrics_internal::Family<Histogram> {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  size_t max_series, std::vector<double> bounds);
  void Render(std::string& out) const override;

 private:
  std::unique_ptr<Histogram> NewMetric() const override;
  const std::vector<double> bounds_;
};

class MetricsRegistry {
 public:
  static constexpr size_t kDefaultMaxSeriesPerFamily = 1000;

  explicit MetricsRegistry(size_t max_series_per_family = kDefaultMaxSeriesPerFamily);
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;
  ~MetricsRegistry();

  // Each adds a family and returns it; the reference stays valid for the
  // registry's life. A family without label names has its one series from the
  // start (rendered as 0); a labelled family renders once With() has been called.
  // Aborts on a bad or taken name, a bad or repeated label name, or (histograms) a
  // label named "le" or bounds that are not finite and strictly increasing.
  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(std::string name, std::string help,
                        std::vector<std::string> label_names = {});
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names, std::vector<double> bounds);

  // A gauge without labels whose value `read` returns at each Render() (sessions
  // in flight, registrations held, process start time). `read` is called from the
  // thread that renders, without any registry lock held; it must be thread-safe,
  // quick, and must not call Add* or Render on this registry. Aborts like AddGauge.
  void AddCallbackGauge(std::string name, std::string help, std::function<double()> read);

  // Every family with at least one series, sorted by name; within a family, series
  // sorted by label values. Text exposition format 0.0.4.
  std::string Render() const;

  // OK, or INVALID_ARGUMENT naming the rule broken: metric names match
  // [a-zA-Z_:][a-zA-Z0-9_:]*; label names match [a-zA-Z_][a-zA-Z0-9_]* and do not
  // start with "__" (reserved for Prometheus itself).
  static absl::Status ValidateMetricName(absl::string_view name);
  static absl::Status ValidateLabelName(absl::string_view name);

 private:
  // Checks the names, reserves the family's sample names and stores it; aborts on
  // any refusal.
  void Register(std::unique_ptr<metrics_internal::FamilyBase> family,
                const std::vector<std::string>& label_names, std::vector<std::string> sample_names);

  const size_t max_series_per_family_;
  mutable absl::Mutex mu_;
  // Families are never removed, so pointers to them stay valid.
  std::map<std::string, std::unique_ptr<metrics_internal::FamilyBase>> families_
      ABSL_GUARDED_BY(mu_);
  // Every sample name in use: family names plus histograms' _bucket, _sum, _count.
  std::set<std::string> sample_names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace custody::server

#endif  // CUSTODY_SERVER_METRICS_H_
