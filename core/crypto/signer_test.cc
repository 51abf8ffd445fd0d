// The Signer and HmacKey interfaces as the certificate issuer, CSRs and signed
// payloads use them, through a signer that is not an in-memory key (as a
// PKCS#11 token or a TPM is not): what it signs verifies, and its errors reach
// the caller with the key's URI and their own code.

#include "core/crypto/signer.h"

#include <atomic>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "core/base/fake_random.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/ecdsa.h"
#include "core/crypto/hmac.h"
#include "core/crypto/signed_payload.h"
#include "core/crypto/x509_certificate.h"
#include "core/crypto/x509_issue.h"
#include "core/crypto/x509_test_util.h"
#include "core/crypto/x509_verify.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::crypto {
namespace {

using ::testing::HasSubstr;

// A key elsewhere: signs through an in-memory key it does not expose, and can be
// "removed" like a token.
class RemoteSigner final : public Signer {
 public:
  explicit RemoteSigner(EcPrivateKey key) : key_(std::move(key)) {}
  const EcPublicKey& public_key() const override { return key_.public_key(); }
  absl::StatusOr<std::string> Sign(absl::string_view data) const override {
    ++signatures_;
    if (removed_) return absl::UnavailableError(uri() + ": the token is not present");
    return key_.Sign(data);
  }
  std::string uri() const override { return "test:remote-key"; }
  void Remove() { removed_ = true; }
  int signatures() const { return signatures_; }

 private:
  EcPrivateKey key_;
  bool removed_ = false;
  mutable std::atomic<int> signatures_{0};
};

class RemoteHmacKey final : public HmacKey {
 public:
  explicit RemoteHmacKey(SecretBytes secret) : key_(std::move(secret)) {}
  absl::StatusOr<std::string> Compute(HashAlgorithm algorithm,
                                      absl::string_view data) const override {
    if (removed_) return absl::UnavailableError(uri() + ": the TPM does not answer");
    return key_.Compute(algorithm, data);
  }
  std::string uri() const override { return "test:remote-hmac"; }
  void Remove() { removed_ = true; }

 private:
  SoftwareHmacKey key_;
  bool removed_ = false;
};

class SignerTest : public testing::TestWithParam<Curve> {
 protected:
  DeterministicRandom random_{11};
  TestPki pki_ = MakeTestPki(GetParam(), random_);
  RemoteSigner ca_signer_{*EcPrivateKey::Generate(GetParam())};
};

INSTANTIATE_TEST_SUITE_P(Curves, SignerTest, testing::Values(Curve::kP256, Curve::kP384),
                         [](const testing::TestParamInfo<Curve>& info) {
                           return info.param == Curve::kP256 ? "P256" : "P384";
                         });

TEST_P(SignerTest, AlgorithmFollowsTheCurve) {
  EXPECT_EQ(ca_signer_.algorithm(),
            GetParam() == Curve::kP256 ? SignatureAlgorithm::kEs256 : SignatureAlgorithm::kEs384);
  EXPECT_EQ(SignatureAlgorithmName(ca_signer_.algorithm()),
            GetParam() == Curve::kP256 ? "ES256" : "ES384");
}

TEST_P(SignerTest, CertificatesSignedElsewhereVerify) {
  absl::StatusOr<Certificate> root =
      CreateSelfSignedCa(ca_signer_, {"Remote Root", "Custody Test", ""}, TestEpoch(),
                         TestEpoch() + absl::Hours(24 * 365), random_);
  ASSERT_TRUE(root.ok()) << root.status();
  CertificateProfile profile;
  profile.subject = {"device-1", "Custody Test", ""};
  profile.not_before = TestEpoch();
  profile.not_after = TestEpoch() + absl::Hours(24);
  profile.usage = CertificateUsage::kDeviceAttestation;
  absl::StatusOr<Certificate> leaf =
      IssueCertificate(*root, ca_signer_, pki_.leaf_key.public_key(), profile, random_);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_EQ(ca_signer_.signatures(), 2);
  // Chain verification also requires the inner and outer signature algorithms to agree.
  EXPECT_TRUE(VerifyCertificateChain(*leaf, {}, {*root}, TestEpoch() + absl::Minutes(1)).ok());
  // And a certificate from the in-memory issuer is no different in form.
  EXPECT_TRUE(VerifyCertificateChain(pki_.leaf, {pki_.intermediate}, {pki_.root},
                                     TestEpoch() + absl::Minutes(1))
                  .ok());
}

TEST_P(SignerTest, RequestsSignedElsewhereProvePossession) {
  absl::StatusOr<CertificateRequest> request =
      CertificateRequest::Create(ca_signer_, {"device-2", "Custody Test", ""});
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(request->VerifyProofOfPossession().ok());
  absl::StatusOr<CertificateRequest> parsed = CertificateRequest::FromDer(request->der());
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->VerifyProofOfPossession().ok());
}

TEST_P(SignerTest, ARemovedKeyFailsWithItsCodeAndName) {
  ca_signer_.Remove();
  absl::StatusOr<Certificate> root = CreateSelfSignedCa(
      ca_signer_, {"Remote Root", "", ""}, TestEpoch(), TestEpoch() + absl::Hours(1), random_);
  EXPECT_EQ(root.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(root.status().message(), HasSubstr("signing the certificate"));
  EXPECT_THAT(root.status().message(), HasSubstr("test:remote-key"));

  absl::StatusOr<CertificateRequest> request =
      CertificateRequest::Create(ca_signer_, {"device-3", "", ""});
  EXPECT_EQ(request.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(request.status().message(), HasSubstr("signing the CSR"));

  absl::StatusOr<v1::SignedPayload> payload = SignPayload(ca_signer_, "custody.v1.Test", "bytes");
  EXPECT_EQ(payload.status().code(), absl::StatusCode::kUnavailable);
}

TEST_P(SignerTest, SignedPayloadsFromElsewhereVerify) {
  absl::StatusOr<v1::SignedPayload> payload = SignPayload(ca_signer_, "custody.v1.Test", "bytes");
  ASSERT_TRUE(payload.ok());
  absl::StatusOr<absl::string_view> bytes =
      VerifySignedPayload(*payload, "custody.v1.Test", ca_signer_.public_key());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, "bytes");
}

TEST(HmacKeyTest, VerifyComparesTheWholeTag) {
  const RemoteHmacKey key(SecretBytes::CopyFrom(std::string(32, 'k')));
  absl::StatusOr<std::string> tag = key.Compute(HashAlgorithm::kSha256, "header");
  ASSERT_TRUE(tag.ok());
  EXPECT_TRUE(key.Verify(HashAlgorithm::kSha256, "header", *tag).ok());
  std::string flipped = *tag;
  flipped[31] ^= 1;
  EXPECT_EQ(key.Verify(HashAlgorithm::kSha256, "header", flipped).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(key.Verify(HashAlgorithm::kSha256, "header", tag->substr(0, 16)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(key.Verify(HashAlgorithm::kSha384, "header", *tag).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HmacKeyTest, AKeyThatDoesNotAnswerIsNotAMismatch) {
  RemoteHmacKey key(SecretBytes::CopyFrom(std::string(32, 'k')));
  absl::StatusOr<std::string> tag = key.Compute(HashAlgorithm::kSha256, "header");
  ASSERT_TRUE(tag.ok());
  key.Remove();
  const absl::Status status = key.Verify(HashAlgorithm::kSha256, "header", *tag);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("test:remote-hmac"));
}

TEST(HmacKeyTest, SoftwareKeyMatchesHmacCompute) {
  const SoftwareHmacKey key(SecretBytes::CopyFrom(std::string(48, 'q')), "file:/tmp/secret");
  EXPECT_EQ(key.uri(), "file:/tmp/secret");
  EXPECT_EQ(*key.Compute(HashAlgorithm::kSha384, "data"),
            *HmacCompute(HashAlgorithm::kSha384, key.secret(), "data"));
  EXPECT_EQ(SoftwareHmacKey().Compute(HashAlgorithm::kSha256, "data").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace custody::crypto
