#include "server/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::server {
namespace {

using ::testing::HasSubstr;

TEST(MetricsRegistryTest, RendersACounterWithLabels) {
  MetricsRegistry registry;
  CounterFamily& requests =
      registry.AddCounter("custody_requests_total", "Requests handled.", {"method", "code"});
  requests.With({"TO1.HelloRV", "OK"}).Increment();
  requests.With({"TO1.HelloRV", "OK"}).Increment(2);
  requests.With({"DI.AppStart", "INVALID_ARGUMENT"}).Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP custody_requests_total Requests handled.\n"
            "# TYPE custody_requests_total counter\n"
            "custody_requests_total{method=\"DI.AppStart\",code=\"INVALID_ARGUMENT\"} 1\n"
            "custody_requests_total{method=\"TO1.HelloRV\",code=\"OK\"} 3\n");
}

TEST(MetricsRegistryTest, RendersAGauge) {
  MetricsRegistry registry;
  GaugeFamily& sessions = registry.AddGauge("custody_sessions", "Sessions open.", {"kind"});
  sessions.With({"to2"}).Set(5);
  sessions.With({"to2"}).Add(-2);
  sessions.With({"di"}).Add(0.25);
  Gauge& idle = registry.AddGauge("custody_idle", "No labels.").With();
  idle.Set(-1.5);
  EXPECT_EQ(registry.Render(),
            "# HELP custody_idle No labels.\n"
            "# TYPE custody_idle gauge\n"
            "custody_idle -1.5\n"
            "# HELP custody_sessions Sessions open.\n"
            "# TYPE custody_sessions gauge\n"
            "custody_sessions{kind=\"di\"} 0.25\n"
            "custody_sessions{kind=\"to2\"} 3\n");
}

TEST(MetricsRegistryTest, RendersAHistogram) {
  MetricsRegistry registry;
  HistogramFamily& latency = registry.AddHistogram("custody_latency_seconds", "Step latency.",
                                                   {"step"}, {0.005, 0.1, 1, 2.5});
  Histogram& hello = latency.With({"hello"});
  hello.Observe(0.005);  // Bounds are inclusive.
  hello.Observe(0.05);
  hello.Observe(2);
  hello.Observe(7);
  hello.Observe(std::nan(""));  // Ignored.
  EXPECT_EQ(registry.Render(),
            "# HELP custody_latency_seconds Step latency.\n"
            "# TYPE custody_latency_seconds histogram\n"
            "custody_latency_seconds_bucket{step=\"hello\",le=\"0.005\"} 1\n"
            "custody_latency_seconds_bucket{step=\"hello\",le=\"0.1\"} 2\n"
            "custody_latency_seconds_bucket{step=\"hello\",le=\"1\"} 2\n"
            "custody_latency_seconds_bucket{step=\"hello\",le=\"2.5\"} 3\n"
            "custody_latency_seconds_bucket{step=\"hello\",le=\"+Inf\"} 4\n"
            "custody_latency_seconds_sum{step=\"hello\"} 9.055\n"
            "custody_latency_seconds_count{step=\"hello\"} 4\n");
}

TEST(MetricsRegistryTest, AHistogramWithoutLabels) {
  MetricsRegistry registry;
  registry.AddHistogram("size_bytes", "Sizes.", {}, {100}).With().Observe(1000);
  EXPECT_EQ(registry.Render(),
            "# HELP size_bytes Sizes.\n"
            "# TYPE size_bytes histogram\n"
            "size_bytes_bucket{le=\"100\"} 0\n"
            "size_bytes_bucket{le=\"+Inf\"} 1\n"
            "size_bytes_sum 1000\n"
            "size_bytes_count 1\n");
}

TEST(MetricsRegistryTest, FamiliesSortedByNameAndUnusedLabelledFamiliesOmitted) {
  MetricsRegistry registry;
  registry.AddCounter("zeta_total", "Z.");
  registry.AddCounter("unused_total", "Never touched.", {"peer"});
  registry.AddCallbackGauge("alpha", "A.", [] { return 42.0; });
  EXPECT_EQ(registry.Render(),
            "# HELP alpha A.\n"
            "# TYPE alpha gauge\n"
            "alpha 42\n"
            "# HELP zeta_total Z.\n"
            "# TYPE zeta_total counter\n"
            "zeta_total 0\n");
}

TEST(MetricsRegistryTest, CallbackGaugesAreReadAtEachRender) {
  MetricsRegistry registry;
  double in_flight = 1;
  registry.AddCallbackGauge("in_flight", "Read at scrape time.", [&] { return in_flight; });
  EXPECT_THAT(registry.Render(), HasSubstr("\nin_flight 1\n"));
  in_flight = 1.7e9;
  EXPECT_THAT(registry.Render(), HasSubstr("\nin_flight 1700000000\n"));
}

TEST(MetricsRegistryTest, SpecialValues) {
  MetricsRegistry registry;
  GaugeFamily& gauges = registry.AddGauge("g", "Values.", {"v"});
  gauges.With({"inf"}).Set(std::numeric_limits<double>::infinity());
  gauges.With({"minus_inf"}).Set(-std::numeric_limits<double>::infinity());
  gauges.With({"nan"}).Set(std::nan(""));
  gauges.With({"small"}).Set(2.5e-7);
  gauges.With({"large"}).Set(1e20);
  EXPECT_EQ(registry.Render(),
            "# HELP g Values.\n"
            "# TYPE g gauge\n"
            "g{v=\"inf\"} +Inf\n"
            "g{v=\"large\"} 1e+20\n"
            "g{v=\"minus_inf\"} -Inf\n"
            "g{v=\"nan\"} NaN\n"
            "g{v=\"small\"} 2.5e-07\n");
}

TEST(MetricsRegistryTest, CountersNeverGoDown) {
  MetricsRegistry registry;
  Counter& counter = registry.AddCounter("c_total", "C.").With();
  counter.Increment(3);
  counter.Increment(-1);
  counter.Increment(std::nan(""));
  EXPECT_EQ(counter.value(), 3);
}

TEST(MetricsRegistryTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  registry.AddCounter("escaped_total", "Help with \\ and\nnewline \"quoted\".", {"path"})
      .With({"a\\b\"c\nd"})
      .Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP escaped_total Help with \\\\ and\\nnewline \"quoted\".\n"
            "# TYPE escaped_total counter\n"
            "escaped_total{path=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsRegistryTest, WithReturnsTheSameSeries) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounter("same_total", "S.", {"a"});
  Counter& first = family.With({"x"});
  Counter& again = family.With(std::vector<std::string>{"x"});
  EXPECT_EQ(&first, &again);
  EXPECT_NE(&first, &family.With({"y"}));
}

TEST(MetricsRegistryTest, PastTheCardinalityBoundNewLabelSetsShareTheOtherSeries) {
  MetricsRegistry registry(/*max_series_per_family=*/2);
  CounterFamily& family = registry.AddCounter("peers_total", "By peer.", {"peer", "port"});
  family.With({"10.0.0.1", "1"}).Increment();
  family.With({"10.0.0.2", "1"}).Increment();
  Counter& overflow = family.With({"10.0.0.3", "1"});
  overflow.Increment();
  EXPECT_EQ(&overflow, &family.With({"10.0.0.4", "1"}));
  family.With({"10.0.0.4", "1"}).Increment(5);
  family.With({"10.0.0.1", "1"}).Increment();  // Known label sets keep their series.
  EXPECT_EQ(registry.Render(),
            "# HELP peers_total By peer.\n"
            "# TYPE peers_total counter\n"
            "peers_total{peer=\"10.0.0.1\",port=\"1\"} 2\n"
            "peers_total{peer=\"10.0.0.2\",port=\"1\"} 1\n"
            "peers_total{peer=\"other\",port=\"other\"} 6\n");
}

TEST(MetricsRegistryTest, ConcurrentUpdatesSumExactly) {
  MetricsRegistry registry;
  CounterFamily& counters = registry.AddCounter("hits_total", "Hits.", {"thread_group"});
  Histogram& histogram = registry.AddHistogram("obs", "Observations.", {}, {0.5}).With();
  Gauge& gauge = registry.AddGauge("level", "Level.").With();
  constexpr int kThreads = 8;
  constexpr int kIterations = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Every thread looks the shared series up itself, racing the creation.
      Counter& shared = counters.With({"all"});
      Counter& own = counters.With({t % 2 == 0 ? "even" : "odd"});
      for (int i = 0; i < kIterations; ++i) {
        shared.Increment();
        own.Increment();
        histogram.Observe(i % 2 == 0 ? 0.25 : 1);
        gauge.Add(1);
        gauge.Add(-1);
        if (i % 1000 == 0) registry.Render();  // Scrapes while updating.
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counters.With({"all"}).value(), kThreads * kIterations);
  EXPECT_EQ(counters.With({"even"}).value(), kThreads / 2 * kIterations);
  EXPECT_EQ(counters.With({"odd"}).value(), kThreads / 2 * kIterations);
  EXPECT_EQ(histogram.BucketCounts(),
            (std::vector<uint64_t>{kThreads * kIterations / 2, kThreads * kIterations / 2}));
  EXPECT_EQ(histogram.sum(), kThreads * kIterations / 2 * 1.25);
  EXPECT_EQ(gauge.value(), 0);
}

struct NameCase {
  std::string name;
  bool ok;
  std::string message;
};

class MetricNameTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(MetricNameTest, FollowsThePrometheusGrammar) {
  const NameCase& c = GetParam();
  const absl::Status status = MetricsRegistry::ValidateMetricName(c.name);
  if (c.ok) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), c.message);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Names, MetricNameTest,
    ::testing::Values(
        NameCase{"custody_requests_total", true, ""}, NameCase{"_x", true, ""},
        NameCase{"job:rate5m", true, ""}, NameCase{"A9", true, ""},
        NameCase{"", false, "metric name is empty"},
        NameCase{"9lives", false, "metric name \"9lives\" does not match [a-zA-Z_:][a-zA-Z0-9_:]*"},
        NameCase{"with-dash", false,
                 "metric name \"with-dash\" does not match [a-zA-Z_:][a-zA-Z0-9_:]*"},
        NameCase{"new\nline", false,
                 "metric name \"new\\nline\" does not match [a-zA-Z_:][a-zA-Z0-9_:]*"}));

class LabelNameTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(LabelNameTest, FollowsThePrometheusGrammar) {
  const NameCase& c = GetParam();
  const absl::Status status = MetricsRegistry::ValidateLabelName(c.name);
  if (c.ok) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), c.message);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Names, LabelNameTest,
    ::testing::Values(
        NameCase{"method", true, ""}, NameCase{"_private", true, ""},
        NameCase{"", false, "label name is empty"},
        NameCase{"a:b", false, "label name \"a:b\" does not match [a-zA-Z_][a-zA-Z0-9_]*"},
        NameCase{"1st", false, "label name \"1st\" does not match [a-zA-Z_][a-zA-Z0-9_]*"},
        NameCase{"__name__", false,
                 "label name \"__name__\" starts with \"__\", which is reserved"}));

// Registration mistakes are programming errors: the process stops with a message.
class MetricsRegistryDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(MetricsRegistryDeathTest, BadNamesAreRefused) {
  MetricsRegistry registry;
  EXPECT_DEATH(registry.AddCounter("bad-name", "B."),
               "custody metrics: metric name \"bad-name\" does not match");
  EXPECT_DEATH(registry.AddGauge("g", "G.", {"ok", "bad label"}),
               "custody metrics: metric g: label name \"bad label\" does not match");
  EXPECT_DEATH(registry.AddGauge("g", "G.", {"a", "a"}),
               "custody metrics: metric g: label name \"a\" is repeated");
  EXPECT_DEATH(registry.AddHistogram("h", "H.", {"le"}, {1}),
               "custody metrics: histogram h: label name \"le\" is reserved");
  EXPECT_DEATH(registry.AddCallbackGauge("bad name", "B.", [] { return 0.0; }),
               "custody metrics: metric name \"bad name\" does not match");
}

TEST_F(MetricsRegistryDeathTest, TakenNamesAreRefused) {
  MetricsRegistry registry;
  registry.AddCounter("taken_total", "T.");
  registry.AddHistogram("latency", "L.", {}, {1});
  EXPECT_DEATH(registry.AddGauge("taken_total", "Again."),
               "custody metrics: metric taken_total: the name taken_total is already registered");
  EXPECT_DEATH(registry.AddCounter("latency_count", "Clashes with the histogram's series."),
               "the name latency_count is already registered");
  registry.AddCounter("size_count", "A counter that a histogram's series would clash with.");
  EXPECT_DEATH(registry.AddHistogram("size", "S.", {}, {1}),
               "custody metrics: metric size: the name size_count is already registered");
}

TEST_F(MetricsRegistryDeathTest, BadBoundsAreRefused) {
  MetricsRegistry registry;
  EXPECT_DEATH(registry.AddHistogram("h", "H.", {}, {1, 1}),
               "histogram h: bucket bounds must be finite and strictly increasing \\(bound 1 is "
               "1\\)");
  EXPECT_DEATH(registry.AddHistogram("h", "H.", {}, {1, std::numeric_limits<double>::infinity()}),
               "bound 1 is \\+Inf");
}

TEST_F(MetricsRegistryDeathTest, WrongNumberOfLabelValues) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounter("c_total", "C.", {"a", "b"});
  EXPECT_DEATH(family.With({"x"}),
               "custody metrics: metric c_total: With\\(\\) got 1 label values for 2 label "
               "names \\(a, b\\)");
}

}  // namespace
}  // namespace custody::server
