#include "server/admission.h"

#include "core/base/status.h"
#include "gtest/gtest.h"

namespace custody::server {
namespace {

TEST(AdmissionTest, CapsPerPeerAndInAll) {
  Admission admission("to2", {/*max_sessions=*/3, /*max_sessions_per_peer=*/2});
  ASSERT_TRUE(admission.Enter("ipv4:10.0.0.1").ok());
  ASSERT_TRUE(admission.Enter("ipv4:10.0.0.1").ok());
  absl::Status peer = admission.Enter("ipv4:10.0.0.1");
  EXPECT_EQ(peer.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(FailedCheck(peer), "to2.peer_sessions");
  ASSERT_TRUE(admission.Enter("ipv4:10.0.0.2").ok());
  absl::Status all = admission.Enter("ipv4:10.0.0.3");
  EXPECT_EQ(all.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(FailedCheck(all), "to2.sessions");
  EXPECT_EQ(admission.in_flight(), 3u);
  // A refusal counts nothing; a session that ends frees its place.
  admission.Leave("ipv4:10.0.0.1");
  EXPECT_EQ(admission.in_flight(), 2u);
  EXPECT_TRUE(admission.Enter("ipv4:10.0.0.3").ok());
  EXPECT_FALSE(admission.Enter("ipv4:10.0.0.1").ok());  // Over the total again.
  admission.Leave("ipv4:10.0.0.2");
  EXPECT_TRUE(admission.Enter("ipv4:10.0.0.1").ok());
  EXPECT_FALSE(admission.Enter("ipv4:10.0.0.1").ok());
}

TEST(AdmissionTest, LeaveOfAnUnknownPeerChangesNothing) {
  Admission admission("di", {2, 1});
  ASSERT_TRUE(admission.Enter("a").ok());
  admission.Leave("b");
  EXPECT_EQ(admission.in_flight(), 1u);
  admission.Leave("a");
  admission.Leave("a");
  EXPECT_EQ(admission.in_flight(), 0u);
}

}  // namespace
}  // namespace custody::server
