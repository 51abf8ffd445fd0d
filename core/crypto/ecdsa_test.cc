#include "core/crypto/ecdsa.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "core/crypto/ec_private_key.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::crypto {
namespace {

using ::testing::HasSubstr;

class EcdsaTest : public testing::TestWithParam<Curve> {
 protected:
  void SetUp() override {
    absl::StatusOr<EcPrivateKey> key = EcPrivateKey::Generate(GetParam());
    ASSERT_TRUE(key.ok());
    key_ = std::make_unique<EcPrivateKey>(*std::move(key));
  }
  std::unique_ptr<EcPrivateKey> key_;
};

TEST_P(EcdsaTest, SignatureVerifiesOnlyForItsMessageAndKey) {
  absl::StatusOr<std::string> signature = EcdsaSign(*key_, "payload");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_LE(signature->size(), MaxDerSignatureSize(GetParam()));
  EXPECT_TRUE(EcdsaVerify(key_->public_key(), "payload", *signature).ok());

  const absl::Status other_message = EcdsaVerify(key_->public_key(), "payloaD", *signature);
  EXPECT_EQ(other_message.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(other_message.message(), HasSubstr("signature does not verify"));

  absl::StatusOr<EcPrivateKey> other_key = EcPrivateKey::Generate(GetParam());
  ASSERT_TRUE(other_key.ok());
  EXPECT_EQ(EcdsaVerify(other_key->public_key(), "payload", *signature).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_P(EcdsaTest, MalformedSignaturesAreRefused) {
  absl::StatusOr<std::string> signature = EcdsaSign(*key_, "payload");
  ASSERT_TRUE(signature.ok());
  EXPECT_THAT(EcdsaVerify(key_->public_key(), "payload", "").message(), HasSubstr("empty"));
  const absl::Status truncated =
      EcdsaVerify(key_->public_key(), "payload", signature->substr(0, signature->size() - 1));
  EXPECT_EQ(truncated.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(truncated.message(), HasSubstr("does not verify"));
  const absl::Status trailing =
      EcdsaVerify(key_->public_key(), "payload", *signature + std::string(1, '\0'));
  EXPECT_FALSE(trailing.ok());
  EXPECT_THAT(EcdsaVerify(key_->public_key(), "payload",
                          std::string(MaxDerSignatureSize(GetParam()) + 1, '\x30'))
                  .message(),
              HasSubstr("too long"));
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdsaTest, testing::Values(Curve::kP256, Curve::kP384),
                         [](const testing::TestParamInfo<Curve>& info) {
                           return info.param == Curve::kP256 ? "P256" : "P384";
                         });

}  // namespace
}  // namespace custody::crypto
