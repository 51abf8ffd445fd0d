#include "core/crypto/x509_verify.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/base/fake_random.h"
#include "core/crypto/x509_issue.h"
#include "core/crypto/x509_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::crypto {
namespace {

using ::testing::HasSubstr;

class VerifyChainTest : public testing::TestWithParam<Curve> {
 protected:
  absl::Time During() const { return TestEpoch() + absl::Hours(24); }

  DeterministicRandom random_{3};
  TestPki pki_ = MakeTestPki(GetParam(), random_);
};

TEST_P(VerifyChainTest, ValidChainVerifies) {
  EXPECT_TRUE(VerifyCertificateChain(pki_.leaf, {pki_.intermediate}, {pki_.root}, During()).ok());
  // A CA certificate verifies as a chain of its own.
  EXPECT_TRUE(VerifyCertificateChain(pki_.intermediate, {}, {pki_.root}, During()).ok());
}

TEST_P(VerifyChainTest, ExpiredLeafIsRefused) {
  const absl::Status status = VerifyCertificateChain(pki_.leaf, {pki_.intermediate}, {pki_.root},
                                                     TestEpoch() + absl::Hours(24 * 400));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("certificate has expired (at depth 0)"));
}

TEST_P(VerifyChainTest, NotYetValidIsRefused) {
  const absl::Status status = VerifyCertificateChain(pki_.leaf, {pki_.intermediate}, {pki_.root},
                                                     TestEpoch() - absl::Hours(1));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("not yet valid"));
}

TEST_P(VerifyChainTest, UnknownRootIsRefused) {
  DeterministicRandom other_random(4);
  TestPki other = MakeTestPki(GetParam(), other_random);
  const absl::Status status =
      VerifyCertificateChain(pki_.leaf, {pki_.intermediate}, {other.root}, During());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("unable to get local issuer certificate"));
}

TEST_P(VerifyChainTest, MissingIntermediateIsRefused) {
  const absl::Status status = VerifyCertificateChain(pki_.leaf, {}, {pki_.root}, During());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("(at depth 0)"));
}

TEST_P(VerifyChainTest, IntermediateIsNotATrustAnchor) {
  const absl::Status status = VerifyCertificateChain(pki_.leaf, {}, {pki_.intermediate}, During());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
}

TEST_P(VerifyChainTest, TamperedSignatureIsRefused) {
  std::string der = pki_.leaf.der();
  der[der.size() - 3] ^= 0x01;  // Inside the signature's last integer.
  absl::StatusOr<Certificate> tampered = Certificate::FromDer(der);
  ASSERT_TRUE(tampered.ok()) << tampered.status();
  const absl::Status status =
      VerifyCertificateChain(*tampered, {pki_.intermediate}, {pki_.root}, During());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("signature failure"));
}

TEST_P(VerifyChainTest, PathLengthConstraintIsEnforced) {
  // The intermediate has pathlen 0: a CA below it must not be accepted.
  absl::StatusOr<EcPrivateKey> sub_key = EcPrivateKey::Generate(GetParam());
  ASSERT_TRUE(sub_key.ok());
  CertificateProfile sub_profile;
  sub_profile.subject = {"Sub CA", "", ""};
  sub_profile.not_before = TestEpoch();
  sub_profile.not_after = TestEpoch() + absl::Hours(24 * 100);
  sub_profile.usage = CertificateUsage::kCertificateAuthority;
  absl::StatusOr<Certificate> sub = IssueCertificate(pki_.intermediate, pki_.intermediate_key,
                                                     sub_key->public_key(), sub_profile, random_);
  ASSERT_TRUE(sub.ok()) << sub.status();
  CertificateProfile leaf_profile = sub_profile;
  leaf_profile.subject = {"deep leaf", "", ""};
  leaf_profile.usage = CertificateUsage::kClient;
  absl::StatusOr<Certificate> leaf =
      IssueCertificate(*sub, *sub_key, pki_.leaf_key.public_key(), leaf_profile, random_);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  const absl::Status status =
      VerifyCertificateChain(*leaf, {*sub, pki_.intermediate}, {pki_.root}, During());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("path length"));
}

TEST_P(VerifyChainTest, NoRootsIsAnArgumentError) {
  const absl::Status status = VerifyCertificateChain(pki_.leaf, {pki_.intermediate}, {}, During());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("no trusted root"));
}

TEST_P(VerifyChainTest, TooManyIntermediatesIsALimitError) {
  std::vector<Certificate> many(kMaxChainIntermediates + 1, pki_.intermediate);
  const absl::Status status = VerifyCertificateChain(pki_.leaf, many, {pki_.root}, During());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
}

INSTANTIATE_TEST_SUITE_P(Curves, VerifyChainTest, testing::Values(Curve::kP256, Curve::kP384),
                         [](const testing::TestParamInfo<Curve>& info) {
                           return info.param == Curve::kP256 ? "P256" : "P384";
                         });

}  // namespace
}  // namespace custody::crypto
