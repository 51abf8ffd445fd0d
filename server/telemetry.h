// What a service reports about itself: its metrics registry, with the process
// metrics and the per-call metrics registered, and the build it runs.
//   custody_build_info{service,version,build_type}   always 1
//   custody_process_start_time_seconds               Unix time
//   custody_process_threads, custody_process_open_fds,
//   custody_process_resident_memory_bytes            read from /proc at each scrape
//
// Thread-safe. Owned by the service; must outlive its servers.

#ifndef CUSTODY_SERVER_TELEMETRY_H_
#define CUSTODY_SERVER_TELEMETRY_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "core/base/clock.h"
#include "server/call_metrics.h"
#include "server/metrics.h"

namespace custody::server {

class Telemetry {
 public:
  Telemetry(absl::string_view service, Clock& clock);
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  MetricsRegistry& metrics() { return metrics_; }
  CallMetrics& calls() { return calls_; }

 private:
  MetricsRegistry metrics_;
  CallMetrics calls_;
};

}  // namespace custody::server

#endif  // CUSTODY_SERVER_TELEMETRY_H_
