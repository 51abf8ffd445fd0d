// Clock: the only way library code learns the time.
//
// Library code never calls absl::Now() or clock_gettime() itself; it is handed a
// Clock (Envoy TimeSource style). Pure verifiers take `now` as a parameter instead.
// `Now()` is wall time, for certificates, expiries and audit records; it can jump.
// `MonotonicNow()` never goes backwards and measures durations (deadlines, backoff,
// rate limits); its origin is unspecified.
//
// Implementations are thread-safe.

#ifndef CUSTODY_CORE_BASE_CLOCK_H_
#define CUSTODY_CORE_BASE_CLOCK_H_

#include "absl/time/time.h"

namespace custody {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  virtual absl::Duration MonotonicNow() const = 0;
};

// The process's real clock (CLOCK_REALTIME and CLOCK_MONOTONIC). Never destroyed.
Clock& SystemClock();

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_CLOCK_H_
