#include "core/crypto/ecdh.h"

#include "absl/status/status.h"
#include "core/crypto/constant_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::crypto {
namespace {

using ::testing::HasSubstr;

TEST(EcdhTest, BothSidesDeriveTheSameSecret) {
  for (Curve curve : {Curve::kP256, Curve::kP384}) {
    absl::StatusOr<EcPrivateKey> alice = EcPrivateKey::Generate(curve);
    absl::StatusOr<EcPrivateKey> bob = EcPrivateKey::Generate(curve);
    absl::StatusOr<EcPrivateKey> eve = EcPrivateKey::Generate(curve);
    ASSERT_TRUE(alice.ok() && bob.ok() && eve.ok());
    absl::StatusOr<SecretBytes> ab = EcdhSharedSecret(*alice, bob->public_key());
    absl::StatusOr<SecretBytes> ba = EcdhSharedSecret(*bob, alice->public_key());
    absl::StatusOr<SecretBytes> ae = EcdhSharedSecret(*alice, eve->public_key());
    ASSERT_TRUE(ab.ok() && ba.ok() && ae.ok());
    EXPECT_EQ(ab->size(), CurveFieldSize(curve));
    EXPECT_TRUE(ConstantTimeEquals(*ab, *ba));
    EXPECT_FALSE(ConstantTimeEquals(*ab, *ae));
  }
}

TEST(EcdhTest, CurvesMustMatch) {
  absl::StatusOr<EcPrivateKey> p256 = EcPrivateKey::Generate(Curve::kP256);
  absl::StatusOr<EcPrivateKey> p384 = EcPrivateKey::Generate(Curve::kP384);
  ASSERT_TRUE(p256.ok() && p384.ok());
  absl::StatusOr<SecretBytes> secret = EcdhSharedSecret(*p256, p384->public_key());
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(secret.status().message(), HasSubstr("peer key is on P-384, own key on P-256"));
}

}  // namespace
}  // namespace custody::crypto
