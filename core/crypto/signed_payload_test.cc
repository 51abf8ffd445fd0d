#include "core/crypto/signed_payload.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "core/crypto/ec_private_key.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::crypto {
namespace {

using ::testing::HasSubstr;

TEST(SignedPayloadTest, ToBeSignedEncodingIsFixed) {
  EXPECT_EQ(SignedPayloadToBeSigned("T", "ab"),
            std::string("Custody-Signed-Payload-v1\0\x00\x01T\x00\x00\x00\x02"
                        "ab",
                        35));
}

class SignedPayloadCurveTest : public testing::TestWithParam<Curve> {
 protected:
  void SetUp() override {
    key_ = std::make_unique<EcPrivateKey>(*EcPrivateKey::Generate(GetParam()));
  }
  std::unique_ptr<EcPrivateKey> key_;
};

TEST_P(SignedPayloadCurveTest, SignThenVerifyReturnsTheExactBytes) {
  absl::StatusOr<v1::SignedPayload> signed_payload =
      SignPayload(*key_, "custody.v1.Test", std::string("\x08\x01", 2));
  ASSERT_TRUE(signed_payload.ok()) << signed_payload.status();
  EXPECT_EQ(signed_payload->algorithm(), SignatureAlgorithmFor(GetParam()));
  absl::StatusOr<absl::string_view> payload =
      VerifySignedPayload(*signed_payload, "custody.v1.Test", key_->public_key());
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(*payload, std::string("\x08\x01", 2));
}

TEST_P(SignedPayloadCurveTest, EveryAlterationIsRefused) {
  const v1::SignedPayload good = *SignPayload(*key_, "custody.v1.Test", "payload");

  v1::SignedPayload other_type = good;
  other_type.set_payload_type("custody.v1.Other");
  EXPECT_THAT(
      VerifySignedPayload(other_type, "custody.v1.Other", key_->public_key()).status().message(),
      HasSubstr("signature does not verify"));
  EXPECT_THAT(VerifySignedPayload(good, "custody.v1.Other", key_->public_key()).status().message(),
              HasSubstr("payload type is \"custody.v1.Test\", expected \"custody.v1.Other\""));

  v1::SignedPayload other_payload = good;
  other_payload.set_payload("payloaD");
  EXPECT_EQ(
      VerifySignedPayload(other_payload, "custody.v1.Test", key_->public_key()).status().code(),
      absl::StatusCode::kUnauthenticated);

  v1::SignedPayload other_algorithm = good;
  other_algorithm.set_algorithm(GetParam() == Curve::kP256 ? v1::SIGNATURE_ALGORITHM_ES384
                                                           : v1::SIGNATURE_ALGORITHM_ES256);
  EXPECT_THAT(VerifySignedPayload(other_algorithm, "custody.v1.Test", key_->public_key())
                  .status()
                  .message(),
              HasSubstr("does not match the signer's"));

  const EcPrivateKey other_key = *EcPrivateKey::Generate(GetParam());
  EXPECT_EQ(VerifySignedPayload(good, "custody.v1.Test", other_key.public_key()).status().code(),
            absl::StatusCode::kUnauthenticated);
}

INSTANTIATE_TEST_SUITE_P(Curves, SignedPayloadCurveTest,
                         testing::Values(Curve::kP256, Curve::kP384),
                         [](const testing::TestParamInfo<Curve>& info) {
                           return info.param == Curve::kP256 ? "P256" : "P384";
                         });

TEST(SignedPayloadTest, HostileTypeNamesAreEscapedInMessages) {
  const EcPrivateKey key = *EcPrivateKey::Generate(Curve::kP256);
  v1::SignedPayload signed_payload = *SignPayload(key, "t", "x");
  signed_payload.set_payload_type("evil\n\x1b[31mforged log line");
  const absl::Status status = VerifySignedPayload(signed_payload, "t", key.public_key()).status();
  EXPECT_EQ(std::string(status.message()).find('\n'), std::string::npos);
  EXPECT_EQ(std::string(status.message()).find('\x1b'), std::string::npos);
  EXPECT_THAT(status.message(), HasSubstr("evil\\n\\x1b[31m"));
}

TEST(SignedPayloadTest, SizesAreChecked) {
  const EcPrivateKey key = *EcPrivateKey::Generate(Curve::kP256);
  EXPECT_THAT(SignPayload(key, "", "x").status().message(), HasSubstr("payload type is empty"));
  EXPECT_EQ(SignPayload(key, "t", std::string(kMaxSignedPayloadSize + 1, 'x')).status().code(),
            absl::StatusCode::kResourceExhausted);
  absl::Status long_type =
      SignPayload(key, std::string(kMaxPayloadTypeLength + 1, 't'), "x").status();
  EXPECT_EQ(long_type.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(long_type.message(), HasSubstr("longer than 128"));
}

}  // namespace
}  // namespace custody::crypto
