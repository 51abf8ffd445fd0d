#include "core/crypto/hmac.h"

#include <string>

#include "absl/status/status.h"
#include "core/base/hex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::crypto {
namespace {

using ::testing::HasSubstr;

// RFC 4231 test case 2.
TEST(HmacTest, KnownAnswer) {
  const SecretBytes key = SecretBytes::CopyFrom("Jefe");
  absl::StatusOr<std::string> tag =
      HmacCompute(HashAlgorithm::kSha256, key, "what do ya want for nothing?");
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(HexEncode(*tag), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacTest, VerifyChecksLengthThenValue) {
  const SecretBytes key = SecretBytes::CopyFrom(std::string(48, 's'));
  absl::StatusOr<std::string> tag = HmacCompute(HashAlgorithm::kSha384, key, "header");
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(tag->size(), 48u);
  EXPECT_TRUE(HmacVerify(HashAlgorithm::kSha384, key, "header", *tag).ok());
  EXPECT_THAT(HmacVerify(HashAlgorithm::kSha384, key, "header", tag->substr(0, 32)).message(),
              HasSubstr("tag is 32 bytes, expected 48"));
  std::string flipped = *tag;
  flipped[47] ^= 1;
  const absl::Status wrong = HmacVerify(HashAlgorithm::kSha384, key, "header", flipped);
  EXPECT_EQ(wrong.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(wrong.message(), HasSubstr("HMAC-SHA-384 tag does not match"));
  EXPECT_THAT(HmacCompute(HashAlgorithm::kSha256, SecretBytes(), "x").status().message(),
              HasSubstr("key is empty"));
}

}  // namespace
}  // namespace custody::crypto
