#include "core/crypto/hkdf.h"

#include "absl/status/status.h"
#include "core/base/hex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::crypto {
namespace {

using ::testing::HasSubstr;

// RFC 5869 test case 3 (empty salt and info).
TEST(HkdfTest, EmptySaltIsHashLenZeros) {
  const SecretBytes ikm = SecretBytes::CopyFrom(std::string(22, '\x0b'));
  absl::StatusOr<SecretBytes> okm = Hkdf(HashAlgorithm::kSha256, ikm, "", "", 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(HexEncode(okm->Reveal()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  absl::StatusOr<SecretBytes> zeros =
      Hkdf(HashAlgorithm::kSha256, ikm, std::string(32, '\0'), "", 42);
  ASSERT_TRUE(zeros.ok());
  EXPECT_EQ(zeros->Reveal(), okm->Reveal());
}

TEST(HkdfTest, BadParametersAreRefused) {
  const SecretBytes ikm = SecretBytes::CopyFrom("secret");
  EXPECT_THAT(Hkdf(HashAlgorithm::kSha256, SecretBytes(), "", "", 32).status().message(),
              HasSubstr("input key material is empty"));
  EXPECT_THAT(Hkdf(HashAlgorithm::kSha256, ikm, "", "", 0).status().message(),
              HasSubstr("output length is zero"));
  EXPECT_THAT(Hkdf(HashAlgorithm::kSha384, ikm, "", "", 255 * 48 + 1).status().message(),
              HasSubstr("exceeds 255 * 48"));
  EXPECT_TRUE(Hkdf(HashAlgorithm::kSha384, ikm, "", "", 255 * 48).ok());
}

}  // namespace
}  // namespace custody::crypto
