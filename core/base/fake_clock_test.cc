#include "core/base/fake_clock.h"

#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "gtest/gtest.h"

namespace custody {
namespace {

// 2024-01-02T03:04:05Z.
const absl::Time kStart = absl::FromUnixSeconds(1704164645);

TEST(FakeClockTest, StartsAtTheGivenWallTimeWithMonotonicZero) {
  FakeClock clock(kStart);
  EXPECT_EQ(clock.Now(), kStart);
  EXPECT_EQ(clock.MonotonicNow(), absl::ZeroDuration());
}

TEST(FakeClockTest, DoesNotMoveByItself) {
  FakeClock clock(kStart);
  EXPECT_EQ(clock.Now(), clock.Now());
  EXPECT_EQ(clock.MonotonicNow(), clock.MonotonicNow());
  EXPECT_EQ(clock.Now(), kStart);
}

TEST(FakeClockTest, AdvanceMovesWallAndMonotonicTogether) {
  FakeClock clock(kStart);
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(clock.Now(), kStart + absl::Seconds(5));
  EXPECT_EQ(clock.MonotonicNow(), absl::Seconds(5));
  clock.Advance(absl::Milliseconds(250));
  EXPECT_EQ(clock.Now(), kStart + absl::Milliseconds(5250));
  EXPECT_EQ(clock.MonotonicNow(), absl::Milliseconds(5250));
  clock.Advance(absl::Hours(24 * 365));
  EXPECT_EQ(clock.Now(), kStart + absl::Milliseconds(5250) + absl::Hours(24 * 365));
  EXPECT_EQ(clock.MonotonicNow(), absl::Milliseconds(5250) + absl::Hours(24 * 365));
}

TEST(FakeClockTest, AdvanceByZeroChangesNothing) {
  FakeClock clock(kStart);
  clock.Advance(absl::ZeroDuration());
  EXPECT_EQ(clock.Now(), kStart);
  EXPECT_EQ(clock.MonotonicNow(), absl::ZeroDuration());
}

TEST(FakeClockTest, NegativeAdvanceIsIgnored) {
  FakeClock clock(kStart);
  clock.Advance(absl::Seconds(10));
  clock.Advance(absl::Seconds(-3));
  EXPECT_EQ(clock.Now(), kStart + absl::Seconds(10));
  EXPECT_EQ(clock.MonotonicNow(), absl::Seconds(10));
  clock.Advance(-absl::Nanoseconds(1));
  EXPECT_EQ(clock.Now(), kStart + absl::Seconds(10));
  EXPECT_EQ(clock.MonotonicNow(), absl::Seconds(10));
}

TEST(FakeClockTest, SetWallTimeForwardMovesOnlyTheWallClock) {
  FakeClock clock(kStart);
  clock.Advance(absl::Seconds(2));
  const absl::Time later = kStart + absl::Hours(3);
  clock.SetWallTime(later);
  EXPECT_EQ(clock.Now(), later);
  EXPECT_EQ(clock.MonotonicNow(), absl::Seconds(2));
}

TEST(FakeClockTest, SetWallTimeMayGoBackwardsButMonotonicDoesNot) {
  FakeClock clock(kStart);
  clock.Advance(absl::Minutes(1));
  const absl::Time earlier = kStart - absl::Hours(1);
  clock.SetWallTime(earlier);
  EXPECT_EQ(clock.Now(), earlier);
  EXPECT_LT(clock.Now(), kStart);
  EXPECT_EQ(clock.MonotonicNow(), absl::Minutes(1));

  // Advancing afterwards moves both from where they are.
  clock.Advance(absl::Seconds(30));
  EXPECT_EQ(clock.Now(), earlier + absl::Seconds(30));
  EXPECT_EQ(clock.MonotonicNow(), absl::Seconds(90));
}

TEST(FakeClockTest, WorksThroughTheClockInterface) {
  FakeClock fake(kStart);
  const Clock& clock = fake;
  fake.Advance(absl::Seconds(7));
  EXPECT_EQ(clock.Now(), kStart + absl::Seconds(7));
  EXPECT_EQ(clock.MonotonicNow(), absl::Seconds(7));
}

TEST(FakeClockTest, ConcurrentAdvancesAreAllApplied) {
  FakeClock clock(kStart);
  constexpr int kThreads = 4;
  constexpr int kAdvancesPerThread = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < kAdvancesPerThread; ++i) {
        clock.Advance(absl::Milliseconds(1));
        (void)clock.Now();
        (void)clock.MonotonicNow();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(clock.MonotonicNow(), absl::Milliseconds(kThreads * kAdvancesPerThread));
  EXPECT_EQ(clock.Now(), kStart + absl::Milliseconds(kThreads * kAdvancesPerThread));
}

TEST(SystemClockTest, IsASingleInstance) { EXPECT_EQ(&SystemClock(), &SystemClock()); }

TEST(SystemClockTest, WallTimeIsNearTheRealTime) {
  const absl::Time before = absl::Now();
  const absl::Time now = SystemClock().Now();
  const absl::Time after = absl::Now();
  EXPECT_GE(now, before - absl::Minutes(1));
  EXPECT_LE(now, after + absl::Minutes(1));
}

TEST(SystemClockTest, MonotonicTimeNeverGoesBackwards) {
  const Clock& clock = SystemClock();
  absl::Duration previous = clock.MonotonicNow();
  EXPECT_GT(previous, absl::ZeroDuration());
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration now = clock.MonotonicNow();
    ASSERT_GE(now, previous) << "at read " << i;
    previous = now;
  }
}

}  // namespace
}  // namespace custody
