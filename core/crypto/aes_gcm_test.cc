#include "core/crypto/aes_gcm.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::crypto {
namespace {

using ::testing::HasSubstr;

class AesGcmTest : public testing::Test {
 protected:
  const std::string nonce_ = std::string(11, '\0') + "\x01";
  Aes256Gcm aead_ = *Aes256Gcm::New(SecretBytes::CopyFrom(std::string(32, 'k')));
};

TEST_F(AesGcmTest, SealOpenRoundTrip) {
  absl::StatusOr<std::string> sealed = aead_.Seal(nonce_, "hello device", "header");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), 12 + kAesGcmTagSize);
  absl::StatusOr<std::string> opened = aead_.Open(nonce_, *sealed, "header");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "hello device");
  absl::StatusOr<std::string> empty = aead_.Seal(nonce_, "", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*aead_.Open(nonce_, *empty, ""), "");
}

TEST_F(AesGcmTest, AnyChangeFailsAuthentication) {
  absl::StatusOr<std::string> sealed = aead_.Seal(nonce_, "hello device", "header");
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string tampered = *sealed;
    tampered[i] ^= 0x80;
    absl::StatusOr<std::string> opened = aead_.Open(nonce_, tampered, "header");
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnauthenticated) << "byte " << i;
  }
  EXPECT_THAT(aead_.Open(nonce_, *sealed, "headeR").status().message(),
              HasSubstr("tag does not verify"));
  const std::string other_nonce = std::string(11, '\0') + "\x02";
  EXPECT_EQ(aead_.Open(other_nonce, *sealed, "header").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AesGcmTest, ParametersAreChecked) {
  EXPECT_THAT(Aes256Gcm::New(SecretBytes::CopyFrom(std::string(16, 'k'))).status().message(),
              HasSubstr("key is 16 bytes, expected 32"));
  EXPECT_THAT(aead_.Seal("short", "x", "").status().message(),
              HasSubstr("nonce is 5 bytes, expected 12"));
  EXPECT_THAT(aead_.Open(nonce_, "too short", "").status().message(),
              HasSubstr("shorter than the tag"));
}

}  // namespace
}  // namespace custody::crypto
