#include "server/rate_limiter.h"

#include <string>

#include "core/base/fake_clock.h"
#include "core/base/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::server {
namespace {

using ::testing::HasSubstr;

TEST(RateLimiterTest, ABurstThenTheRefillRate) {
  FakeClock clock(absl::FromUnixSeconds(1800000000));
  RateLimiter limiter({/*per_second=*/2, /*burst=*/3, /*max_peers=*/10}, clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit("ipv4:10.0.0.1:1000").ok()) << i;
  absl::Status over = limiter.Admit("ipv4:10.0.0.1:1001");
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(FailedCheck(over), "rate_limit");
  EXPECT_THAT(std::string(over.message()), HasSubstr("retry in 500 ms"));
  // Another peer has its own bucket.
  EXPECT_TRUE(limiter.Admit("ipv4:10.0.0.2:1000").ok());
  clock.Advance(absl::Milliseconds(500));  // One token back.
  EXPECT_TRUE(limiter.Admit("ipv4:10.0.0.1:1002").ok());
  EXPECT_FALSE(limiter.Admit("ipv4:10.0.0.1:1003").ok());
  clock.Advance(absl::Hours(1));  // Refills to the burst, not beyond.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit("ipv4:10.0.0.1:1000").ok()) << i;
  EXPECT_FALSE(limiter.Admit("ipv4:10.0.0.1:1000").ok());
}

TEST(RateLimiterTest, PortsAndIpv6InterfaceIdsShareABucket) {
  EXPECT_EQ(RateLimiter::PeerKey("ipv4:192.0.2.7:1"), RateLimiter::PeerKey("ipv4:192.0.2.7:65000"));
  EXPECT_NE(RateLimiter::PeerKey("ipv4:192.0.2.7:1"), RateLimiter::PeerKey("ipv4:192.0.2.8:1"));
  EXPECT_EQ(RateLimiter::PeerKey("ipv6:[2001:db8:1:2::1]:443"),
            RateLimiter::PeerKey("ipv6:[2001:db8:1:2:ffff:1:2:3]:80"));
  EXPECT_NE(RateLimiter::PeerKey("ipv6:[2001:db8:1:2::1]:443"),
            RateLimiter::PeerKey("ipv6:[2001:db8:1:3::1]:443"));
  EXPECT_EQ(RateLimiter::PeerKey("unix:/tmp/s"), "unix:/tmp/s");
}

TEST(RateLimiterTest, TheTableIsBounded) {
  FakeClock clock(absl::FromUnixSeconds(1800000000));
  RateLimiter limiter({/*per_second=*/1, /*burst=*/2, /*max_peers=*/3}, clock);
  // Three peers, each with an emptied bucket.
  for (int peer = 1; peer <= 3; ++peer) {
    const std::string name = "ipv4:10.0.0." + std::to_string(peer) + ":1";
    EXPECT_TRUE(limiter.Admit(name).ok());
    EXPECT_TRUE(limiter.Admit(name).ok());
    EXPECT_FALSE(limiter.Admit(name).ok());
  }
  EXPECT_EQ(limiter.tracked_peers(), 3u);
  // A fourth peer evicts the least recently seen (10.0.0.1), which starts afresh.
  EXPECT_TRUE(limiter.Admit("ipv4:10.0.0.4:1").ok());
  EXPECT_EQ(limiter.tracked_peers(), 3u);
  EXPECT_FALSE(limiter.Admit("ipv4:10.0.0.3:1").ok());  // Still tracked, still empty.
  EXPECT_TRUE(limiter.Admit("ipv4:10.0.0.1:1").ok());   // Evicted: a full bucket again.
}

}  // namespace
}  // namespace custody::server
