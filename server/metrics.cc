#include "server/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace custody::server {
namespace {

static_assert(std::atomic<double>::is_always_lock_free, "counters need lock-free doubles");
static_assert(std::atomic<uint64_t>::is_always_lock_free, "histograms need lock-free counts");

constexpr absl::string_view kOverflowValue = "other";

[[noreturn]] void Fatal(absl::string_view message) {
  std::fprintf(stderr, "custody metrics: %.*s\n", static_cast<int>(message.size()), message.data());
  std::abort();
}

void AtomicAdd(std::atomic<double>& target, double by) {
  double old = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(old, old + by, std::memory_order_relaxed)) {
  }
}

// Go's strconv.ParseFloat, which Prometheus uses, reads all of these forms.
std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  char buffer[32];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

// Label values: backslash, double quote and newline are escaped.
void AppendLabelValue(absl::string_view value, std::string& out) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// HELP text: backslash and newline are escaped.
void AppendHelp(absl::string_view help, std::string& out) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

bool IsNameStart(char c, bool colon_allowed) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         (colon_allowed && c == ':');
}

bool IsNameChar(char c, bool colon_allowed) {
  return IsNameStart(c, colon_allowed) || absl::ascii_isdigit(static_cast<unsigned char>(c));
}

absl::Status ValidateName(absl::string_view kind, absl::string_view name, bool colon_allowed) {
  const absl::string_view grammar =
      colon_allowed ? "[a-zA-Z_:][a-zA-Z0-9_:]*" : "[a-zA-Z_][a-zA-Z0-9_]*";
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(kind, " name is empty"));
  bool ok = IsNameStart(name[0], colon_allowed);
  for (char c : name) ok = ok && IsNameChar(c, colon_allowed);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(kind, " name \"", absl::CEscape(name), "\" does not match ", grammar));
  }
  return absl::OkStatus();
}

class CallbackGaugeFamily final : public metrics_internal::FamilyBase {
 public:
  CallbackGaugeFamily(std::string name, std::string help, std::function<double()> read)
      : FamilyBase(std::move(name), std::move(help), {}, 1), read_(std::move(read)) {}

  void Render(std::string& out) const override {
    AppendHeader("gauge", out);
    absl::StrAppend(&out, name_, " ", FormatValue(read_()), "\n");
  }

 private:
  const std::function<double()> read_;
};

}  // namespace

void Counter::Increment(double by) {
  if (!(by >= 0)) return;  // Also false for NaN.
  AtomicAdd(value_, by);
}

void Gauge::Add(double by) { AtomicAdd(value_, by); }

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // The first bound >= value; bounds_.size() is the +Inf bucket.
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

std::vector<uint64_t> Histogram::BucketCounts() const {
  std::vector<uint64_t> counts(bounds_.size() + 1);
  for (size_t i = 0; i < counts.size(); ++i) {
    counts[i] = counts_[i].load(std::memory_order_relaxed);
  }
  return counts;
}

namespace metrics_internal {

FamilyBase::FamilyBase(std::string name, std::string help, std::vector<std::string> label_names,
                       size_t max_series)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      max_series_(max_series) {}

void FamilyBase::AppendHeader(absl::string_view type, std::string& out) const {
  absl::StrAppend(&out, "# HELP ", name_, " ");
  AppendHelp(help_, out);
  absl::StrAppend(&out, "\n# TYPE ", name_, " ", type, "\n");
}

void FamilyBase::AppendLabels(const std::vector<std::string>& values, absl::string_view extra,
                              std::string& out) const {
  if (values.empty() && extra.empty()) return;
  out += '{';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, label_names_[i], "=\"");
    AppendLabelValue(values[i], out);
    out += '"';
  }
  if (!extra.empty()) {
    if (!values.empty()) out += ',';
    out.append(extra.data(), extra.size());
  }
  out += '}';
}

template <typename Metric>
Metric& Family<Metric>::With(std::initializer_list<absl::string_view> values) {
  std::vector<std::string> copy;
  copy.reserve(values.size());
  for (absl::string_view value : values) copy.emplace_back(value);
  return Lookup(std::move(copy));
}

template <typename Metric>
Metric& Family<Metric>::With(const std::vector<std::string>& values) {
  return Lookup(values);
}

template <typename Metric>
Metric& Family<Metric>::Lookup(std::vector<std::string> values) {
  if (values.size() != label_names_.size()) {
    Fatal(absl::StrCat("metric ", name_, ": With() got ", values.size(), " label values for ",
                       label_names_.size(), " label names (", absl::StrJoin(label_names_, ", "),
                       ")"));
  }
  absl::MutexLock lock(&mu_);
  auto it = series_.find(values);
  if (it == series_.end()) {
    if (series_.size() >= max_series_) {
      values.assign(label_names_.size(), std::string(kOverflowValue));
      it = series_.find(values);
    }
    if (it == series_.end()) it = series_.emplace(std::move(values), NewMetric()).first;
  }
  return *it->second;
}

template <typename Metric>
void Family<Metric>::ForEachSeries(
    const std::function<void(const std::vector<std::string>&, const Metric&)>& f) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, metric] : series_) f(values, *metric);
}

template <typename Metric>
template <typename M>
void Family<Metric>::RenderValues(absl::string_view type, std::string& out) const {
  std::string samples;
  ForEachSeries([&](const std::vector<std::string>& values, const M& metric) {
    samples += name_;
    AppendLabels(values, "", samples);
    absl::StrAppend(&samples, " ", FormatValue(metric.value()), "\n");
  });
  if (samples.empty()) return;
  AppendHeader(type, out);
  out += samples;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

}  // namespace metrics_internal

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names, size_t max_series)
    : Family(std::move(name), std::move(help), std::move(label_names), max_series) {}

std::unique_ptr<Counter> CounterFamily::NewMetric() const { return std::make_unique<Counter>(); }

void CounterFamily::Render(std::string& out) const { RenderValues("counter", out); }

GaugeFamily::GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names,
                         size_t max_series)
    : Family(std::move(name), std::move(help), std::move(label_names), max_series) {}

std::unique_ptr<Gauge> GaugeFamily::NewMetric() const { return std::make_unique<Gauge>(); }

void GaugeFamily::Render(std::string& out) const { RenderValues("gauge", out); }

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, size_t max_series,
                                 std::vector<double> bounds)
    : Family(std::move(name), std::move(help), std::move(label_names), max_series),
      bounds_(std::move(bounds)) {}

std::unique_ptr<Histogram> HistogramFamily::NewMetric() const {
  return std::make_unique<Histogram>(bounds_);
}

void HistogramFamily::Render(std::string& out) const {
  std::string samples;
  ForEachSeries([&](const std::vector<std::string>& values, const Histogram& histogram) {
    const std::vector<uint64_t> counts = histogram.BucketCounts();
    // _count is the +Inf bucket, so the two always agree.
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      const std::string le = absl::StrCat(
          "le=\"", i < bounds_.size() ? FormatValue(bounds_[i]) : std::string("+Inf"), "\"");
      absl::StrAppend(&samples, name_, "_bucket");
      AppendLabels(values, le, samples);
      absl::StrAppend(&samples, " ", cumulative, "\n");
    }
    absl::StrAppend(&samples, name_, "_sum");
    AppendLabels(values, "", samples);
    absl::StrAppend(&samples, " ", FormatValue(histogram.sum()), "\n");
    absl::StrAppend(&samples, name_, "_count");
    AppendLabels(values, "", samples);
    absl::StrAppend(&samples, " ", cumulative, "\n");
  });
  if (samples.empty()) return;
  AppendHeader("histogram", out);
  out += samples;
}

MetricsRegistry::MetricsRegistry(size_t max_series_per_family)
    : max_series_per_family_(std::max<size_t>(1, max_series_per_family)) {}

MetricsRegistry::~MetricsRegistry() = default;

absl::Status MetricsRegistry::ValidateMetricName(absl::string_view name) {
  return ValidateName("metric", name, /*colon_allowed=*/true);
}

absl::Status MetricsRegistry::ValidateLabelName(absl::string_view name) {
  absl::Status status = ValidateName("label", name, /*colon_allowed=*/false);
  if (status.ok() && absl::StartsWith(name, "__")) {
    return absl::InvalidArgumentError(
        absl::StrCat("label name \"", name, "\" starts with \"__\", which is reserved"));
  }
  return status;
}

void MetricsRegistry::Register(std::unique_ptr<metrics_internal::FamilyBase> family,
                               const std::vector<std::string>& label_names,
                               std::vector<std::string> sample_names) {
  const std::string& name = family->name();
  if (absl::Status status = ValidateMetricName(name); !status.ok()) Fatal(status.message());
  std::set<absl::string_view> seen;
  for (const std::string& label : label_names) {
    if (absl::Status status = ValidateLabelName(label); !status.ok()) {
      Fatal(absl::StrCat("metric ", name, ": ", status.message()));
    }
    if (!seen.insert(label).second) {
      Fatal(absl::StrCat("metric ", name, ": label name \"", label, "\" is repeated"));
    }
  }
  absl::MutexLock lock(&mu_);
  for (const std::string& sample : sample_names) {
    if (sample_names_.count(sample) > 0) {
      Fatal(absl::StrCat("metric ", name, ": the name ", sample, " is already registered"));
    }
  }
  sample_names_.insert(sample_names.begin(), sample_names.end());
  families_.emplace(name, std::move(family));
}

CounterFamily& MetricsRegistry::AddCounter(std::string name, std::string help,
                                           std::vector<std::string> label_names) {
  auto family =
      std::make_unique<CounterFamily>(name, std::move(help), label_names, max_series_per_family_);
  CounterFamily& result = *family;
  Register(std::move(family), label_names, {name});
  if (label_names.empty()) result.With();
  return result;
}

GaugeFamily& MetricsRegistry::AddGauge(std::string name, std::string help,
                                       std::vector<std::string> label_names) {
  auto family =
      std::make_unique<GaugeFamily>(name, std::move(help), label_names, max_series_per_family_);
  GaugeFamily& result = *family;
  Register(std::move(family), label_names, {name});
  if (label_names.empty()) result.With();
  return result;
}

HistogramFamily& MetricsRegistry::AddHistogram(std::string name, std::string help,
                                               std::vector<std::string> label_names,
                                               std::vector<double> bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      Fatal(absl::StrCat("histogram ", name,
                         ": bucket bounds must be finite and strictly increasing (bound ", i,
                         " is ", FormatValue(bounds[i]), ")"));
    }
  }
  for (const std::string& label : label_names) {
    if (label == "le") Fatal(absl::StrCat("histogram ", name, ": label name \"le\" is reserved"));
  }
  auto family = std::make_unique<HistogramFamily>(name, std::move(help), label_names,
                                                  max_series_per_family_, std::move(bounds));
  HistogramFamily& result = *family;
  Register(std::move(family), label_names,
           {name, absl::StrCat(name, "_bucket"), absl::StrCat(name, "_sum"),
            absl::StrCat(name, "_count")});
  if (label_names.empty()) result.With();
  return result;
}

void MetricsRegistry::AddCallbackGauge(std::string name, std::string help,
                                       std::function<double()> read) {
  if (!read) Fatal(absl::StrCat("callback gauge ", name, ": no callback"));
  auto family = std::make_unique<CallbackGaugeFamily>(name, std::move(help), std::move(read));
  Register(std::move(family), {}, {name});
}

std::string MetricsRegistry::Render() const {
  // Families are never removed: render from a snapshot so that callback gauges run
  // without the registry lock held.
  std::vector<const metrics_internal::FamilyBase*> families;
  {
    absl::MutexLock lock(&mu_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  std::string out;
  for (const metrics_internal::FamilyBase* family : families) family->Render(out);
  return out;
}

}  // namespace custody::server
