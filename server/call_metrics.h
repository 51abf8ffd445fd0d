// Per-call metrics for every RPC a server serves, from one gRPC server
// interceptor (so no RPC body records them):
//   custody_grpc_calls_total{method,code}         calls ended, by status code
//   custody_grpc_call_duration_seconds{method}    from the call's start to its status
// `method` is the full method name ("/custody.v1.Owner/Onboard") when the
// compiled-in descriptors know it, and "unknown" otherwise, so that a peer
// calling made-up methods cannot grow the series.
//
// Thread-safe. The registry must outlive every server the factory is given to.

#ifndef CUSTODY_SERVER_CALL_METRICS_H_
#define CUSTODY_SERVER_CALL_METRICS_H_

#include <memory>
#include <string>

#include "grpcpp/support/server_interceptor.h"
#include "server/metrics.h"

namespace custody::server {

// The two families, and the interceptor factories that feed them.
class CallMetrics {
 public:
  // Registers the families in `registry`, which must outlive this.
  explicit CallMetrics(MetricsRegistry& registry);
  CallMetrics(const CallMetrics&) = delete;
  CallMetrics& operator=(const CallMetrics&) = delete;

  // A factory for one server (gRPC takes ownership); this must outlive it.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewFactory();

 private:
  CounterFamily& calls_;
  HistogramFamily& durations_;
};

// The label a method path gets: itself when a compiled-in service declares it,
// "unknown" otherwise.
std::string MethodLabel(const std::string& path);

}  // namespace custody::server

#endif  // CUSTODY_SERVER_CALL_METRICS_H_
