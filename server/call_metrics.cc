#include "server/call_metrics.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/descriptor.h"

namespace custody::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

class CallMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  CallMetricsInterceptor(CounterFamily& calls, HistogramFamily& durations, std::string method)
      : calls_(calls),
        durations_(durations),
        method_(std::move(method)),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      calls_.With({method_, std::to_string(static_cast<int>(status.error_code()))}).Increment();
      durations_.With({method_}).Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    }
    methods->Proceed();
  }

 private:
  CounterFamily& calls_;
  HistogramFamily& durations_;
  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
};

class CallMetricsFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  CallMetricsFactory(CounterFamily& calls, HistogramFamily& durations)
      : calls_(calls), durations_(durations) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallMetricsInterceptor(calls_, durations_, MethodLabel(info->method()));
  }

 private:
  CounterFamily& calls_;
  HistogramFamily& durations_;
};

}  // namespace

std::string MethodLabel(const std::string& path) {
  // "/package.Service/Method" -> "package.Service.Method" in the descriptor pool.
  if (path.size() < 4 || path.front() != '/' || path.size() > 256) return "unknown";
  const std::string full = absl::StrReplaceAll(path.substr(1), {{"/", "."}});
  if (google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full) == nullptr) {
    return "unknown";
  }
  return path;
}

CallMetrics::CallMetrics(MetricsRegistry& registry)
    : calls_(registry.AddCounter("custody_grpc_calls_total",
                                 "gRPC calls ended, by method and status code (0 is OK).",
                                 {"method", "code"})),
      durations_(registry.AddHistogram(
          "custody_grpc_call_duration_seconds",
          "gRPC call duration, from the call's start to its status, by method.", {"method"},
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60})) {}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallMetrics::NewFactory() {
  return std::make_unique<CallMetricsFactory>(calls_, durations_);
}

}  // namespace custody::server
