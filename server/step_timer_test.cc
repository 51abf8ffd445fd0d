#include "server/step_timer.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "core/base/fake_clock.h"
#include "gtest/gtest.h"

namespace custody::server {
namespace {

class CountingTarget final : public StepTimer::Target {
 public:
  void StepExpired() override {
    calls.fetch_add(1);
    if (!fired.HasBeenNotified()) fired.Notify();
  }
  std::atomic<int> calls{0};
  absl::Notification fired;
};

// Waits (bounded) until the timer has expired `n` entries in all.
bool WaitForExpired(const StepTimer& timer, uint64_t n) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (timer.expired() < n) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

TEST(StepTimerTest, AnArmedEntryExpiresOnceAtItsDeadline) {
  FakeClock clock(absl::FromUnixSeconds(1800000000));
  StepTimer timer(clock);
  CountingTarget target;
  const uint64_t id = timer.Add(&target);
  timer.Arm(id, absl::Seconds(30));
  clock.Advance(absl::Seconds(29));
  // Not yet due: nothing fires however long the thread runs.
  EXPECT_FALSE(target.fired.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(target.fired.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(WaitForExpired(timer, 1));
  // Expiry disarms: re-arming is needed for a second call.
  clock.Advance(absl::Seconds(60));
  timer.Arm(id, absl::Seconds(1));
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(WaitForExpired(timer, 2));
  timer.Remove(id);
  EXPECT_EQ(target.calls.load(), 2);
  EXPECT_EQ(timer.size(), 0u);
}

TEST(StepTimerTest, RearmingMovesTheDeadlineAndDisarmStopsIt) {
  FakeClock clock(absl::FromUnixSeconds(1800000000));
  StepTimer timer(clock);
  CountingTarget moved;
  CountingTarget disarmed;
  CountingTarget due;
  const uint64_t a = timer.Add(&moved);
  const uint64_t b = timer.Add(&disarmed);
  const uint64_t c = timer.Add(&due);
  timer.Arm(a, absl::Seconds(10));
  timer.Arm(b, absl::Seconds(10));
  timer.Arm(c, absl::Seconds(20));
  clock.Advance(absl::Seconds(5));
  timer.Arm(a, absl::Seconds(30));  // Now due at 35 s.
  timer.Disarm(b);
  clock.Advance(absl::Seconds(16));  // 21 s: only `due`.
  ASSERT_TRUE(due.fired.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(WaitForExpired(timer, 1));
  EXPECT_EQ(moved.calls.load(), 0);
  EXPECT_EQ(disarmed.calls.load(), 0);
  clock.Advance(absl::Seconds(14));  // 35 s.
  ASSERT_TRUE(moved.fired.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(WaitForExpired(timer, 2));
  EXPECT_EQ(disarmed.calls.load(), 0);
  timer.Remove(a);
  timer.Remove(b);
  timer.Remove(c);
}

// Remove() returns only once a call in progress has returned, so the target can
// be destroyed right after it.
class SlowTarget final : public StepTimer::Target {
 public:
  void StepExpired() override {
    entered.Notify();
    release.WaitForNotification();
    returned.store(true);
  }
  absl::Notification entered;
  absl::Notification release;
  std::atomic<bool> returned{false};
};

TEST(StepTimerTest, RemoveWaitsForACallInProgress) {
  FakeClock clock(absl::FromUnixSeconds(1800000000));
  StepTimer timer(clock);
  SlowTarget target;
  const uint64_t id = timer.Add(&target);
  timer.Arm(id, absl::Seconds(1));
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(target.entered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  std::atomic<bool> removed{false};
  std::thread remover([&] {
    timer.Remove(id);
    removed.store(true);
  });
  // The remover cannot finish while the call is held.
  EXPECT_FALSE(removed.load());
  target.release.Notify();
  remover.join();
  EXPECT_TRUE(target.returned.load());
  EXPECT_TRUE(removed.load());
}

}  // namespace
}  // namespace custody::server
