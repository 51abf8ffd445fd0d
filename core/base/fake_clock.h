// FakeClock: a Clock that moves only when a test says so.
//
// `Advance(d)` moves wall and monotonic time forward together; `SetWallTime(t)`
// moves only the wall clock (it may go backwards, as a real one can after an NTP
// step); monotonic time never goes backwards. Thread-safe. Not copyable.

#ifndef CUSTODY_CORE_BASE_FAKE_CLOCK_H_
#define CUSTODY_CORE_BASE_FAKE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/base/clock.h"

namespace custody {

class FakeClock final : public Clock {
 public:
  // Starts at `wall` with monotonic time zero.
  explicit FakeClock(absl::Time wall);
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  absl::Time Now() const override;
  absl::Duration MonotonicNow() const override;

  // Moves both clocks forward by `d`; a negative `d` is ignored.
  void Advance(absl::Duration d);
  // Sets the wall clock only.
  void SetWallTime(absl::Time wall);

 private:
  mutable absl::Mutex mu_;
  absl::Time wall_ ABSL_GUARDED_BY(mu_);
  absl::Duration monotonic_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
};

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_FAKE_CLOCK_H_
