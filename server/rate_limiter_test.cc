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

TEST(RateLimiterTest, GrpcsPercentEncodedIpv6PeersAreGroupedBySlash64) {
  // gRPC 1.51 writes "ipv6:%5B::1%5D:port": each connection must not be a new peer.
  EXPECT_EQ(RateLimiter::PeerKey("ipv6:%5B::1%5D:39184"), RateLimiter::PeerKey("ipv6:[::1]:1"));
  EXPECT_EQ(RateLimiter::PeerKey("ipv6:%5B2001:db8:1:2::1%5D:443"),
            RateLimiter::PeerKey("ipv6:%5B2001:db8:1:2::7%5D:444"));
  EXPECT_NE(RateLimiter::PeerKey("ipv6:%5B2001:db8:1:2::1%5D:443"),
            RateLimiter::PeerKey("ipv6:%5B2001:db8:1:3::1%5D:443"));
  FakeClock clock(absl::FromUnixSeconds(1800000000));
  RateLimiter limiter({/*per_second=*/1, /*burst=*/2, /*max_peers=*/10}, clock);
  EXPECT_TRUE(limiter.Admit("ipv6:%5B::1%5D:1000").ok());
  EXPECT_TRUE(limiter.Admit("ipv6:%5B::1%5D:1001").ok());
  EXPECT_FALSE(limiter.Admit("ipv6:%5B::1%5D:1002").ok());
}

TEST(RateLimiterTest, AFullTableOfActivePeersHandsNoFreshBurst) {
  FakeClock clock(absl::FromUnixSeconds(1800000000));
  RateLimiter limiter({/*per_second=*/1, /*burst=*/2, /*max_peers=*/3}, clock);
  auto peer = [](int n) { return "ipv4:10.0.0." + std::to_string(n) + ":1"; };
  // Three peers, each with an emptied bucket.
  for (int n = 1; n <= 3; ++n) {
    EXPECT_TRUE(limiter.Admit(peer(n)).ok());
    EXPECT_TRUE(limiter.Admit(peer(n)).ok());
    EXPECT_FALSE(limiter.Admit(peer(n)).ok());
  }
  EXPECT_EQ(limiter.tracked_peers(), 3u);
  // New peers share one overflow bucket of one burst: the fourth and fifth
  // together get two calls, not two each, and nobody is pushed out.
  EXPECT_TRUE(limiter.Admit(peer(4)).ok());
  EXPECT_TRUE(limiter.Admit(peer(5)).ok());
  EXPECT_FALSE(limiter.Admit(peer(4)).ok());
  EXPECT_FALSE(limiter.Admit(peer(6)).ok());
  EXPECT_EQ(limiter.tracked_peers(), 3u);
  EXPECT_FALSE(limiter.Admit(peer(1)).ok());  // Still tracked, still empty.
}

TEST(RateLimiterTest, RefilledPeersAreDroppedTogetherFromTheOldEnd) {
  FakeClock clock(absl::FromUnixSeconds(1800000000));
  RateLimiter limiter({/*per_second=*/1, /*burst=*/2, /*max_peers=*/3}, clock);
  auto peer = [](int n) { return "ipv4:10.0.0." + std::to_string(n) + ":1"; };
  for (int n = 1; n <= 3; ++n) {
    EXPECT_TRUE(limiter.Admit(peer(n)).ok());
    EXPECT_TRUE(limiter.Admit(peer(n)).ok());
  }
  clock.Advance(absl::Seconds(2));           // Every bucket has refilled.
  EXPECT_TRUE(limiter.Admit(peer(3)).ok());  // 3 is now the most recent, and spent one.
  // A new peer drops the refilled 1 and 2 in one pass; 3 stays with its state.
  EXPECT_TRUE(limiter.Admit(peer(4)).ok());
  EXPECT_EQ(limiter.tracked_peers(), 2u);
  EXPECT_TRUE(limiter.Admit(peer(3)).ok());
  EXPECT_FALSE(limiter.Admit(peer(3)).ok());
}

}  // namespace
}  // namespace custody::server
