#include "core/base/clock.h"

#include <time.h>

#include "absl/time/clock.h"

namespace custody {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  absl::Duration MonotonicNow() const override {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return absl::DurationFromTimespec(ts);
  }
};

}  // namespace

Clock& SystemClock() {
  static Clock* const clock = new RealClock();
  return *clock;
}

}  // namespace custody
