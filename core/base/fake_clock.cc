#include "core/base/fake_clock.h"

namespace custody {

FakeClock::FakeClock(absl::Time wall) : wall_(wall) {}

absl::Time FakeClock::Now() const {
  absl::MutexLock lock(&mu_);
  return wall_;
}

absl::Duration FakeClock::MonotonicNow() const {
  absl::MutexLock lock(&mu_);
  return monotonic_;
}

void FakeClock::Advance(absl::Duration d) {
  if (d < absl::ZeroDuration()) return;
  absl::MutexLock lock(&mu_);
  wall_ += d;
  monotonic_ += d;
}

void FakeClock::SetWallTime(absl::Time wall) {
  absl::MutexLock lock(&mu_);
  wall_ = wall;
}

}  // namespace custody
