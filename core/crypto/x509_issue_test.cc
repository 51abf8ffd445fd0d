#include "core/crypto/x509_issue.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/base/fake_random.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/x509_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::crypto {
namespace {

using ::testing::HasSubstr;

class IssueTest : public testing::Test {
 protected:
  CertificateProfile ServerProfile() const {
    CertificateProfile profile;
    profile.subject = {"owner.example", "Owner Inc", ""};
    profile.not_before = TestEpoch();
    profile.not_after = TestEpoch() + absl::Hours(24 * 30);
    profile.usage = CertificateUsage::kServer;
    profile.dns_names = {"owner.example", "localhost"};
    profile.ip_addresses = {"127.0.0.1", "::1"};
    return profile;
  }

  DeterministicRandom random_{7};
  TestPki pki_ = MakeTestPki(Curve::kP256, random_);
};

TEST_F(IssueTest, SelfSignedCaNamesItselfAsIssuer) {
  EXPECT_TRUE(pki_.root.IsCa());
  EXPECT_EQ(pki_.root.Subject().common_name, "Test Root CA");
  EXPECT_EQ(pki_.root.Issuer().common_name, "Test Root CA");
  EXPECT_EQ(pki_.root.NotBefore(), TestEpoch() - absl::Hours(24));
}

TEST_F(IssueTest, EmptyValidityIsRefused) {
  absl::StatusOr<Certificate> ca =
      CreateSelfSignedCa(pki_.root_key, {"CA", "", ""}, TestEpoch(), TestEpoch(), random_);
  EXPECT_EQ(ca.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ca.status().message(), HasSubstr("validity is empty"));
}

TEST_F(IssueTest, ServerCertificateCarriesItsNames) {
  absl::StatusOr<EcPrivateKey> key = EcPrivateKey::Generate(Curve::kP256);
  ASSERT_TRUE(key.ok());
  absl::StatusOr<Certificate> cert = IssueCertificate(pki_.intermediate, pki_.intermediate_key,
                                                      key->public_key(), ServerProfile(), random_);
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(cert->Subject().common_name, "owner.example");
  EXPECT_EQ(cert->Issuer().common_name, "Test Device CA");
  EXPECT_FALSE(cert->IsCa());
  EXPECT_EQ(cert->SubjectAltNames(), (std::vector<std::string>{"DNS:owner.example", "DNS:localhost",
                                                               "IP:127.0.0.1", "IP:::1"}));
  EXPECT_TRUE(pki_.leaf.SubjectAltNames().empty());
}

TEST_F(IssueTest, SerialsAreRandomAndReproducibleFromTheSeed) {
  DeterministicRandom a(99);
  DeterministicRandom b(99);
  absl::StatusOr<Certificate> first =
      IssueCertificate(pki_.root, pki_.root_key, pki_.leaf_key.public_key(), ServerProfile(), a);
  absl::StatusOr<Certificate> second =
      IssueCertificate(pki_.root, pki_.root_key, pki_.leaf_key.public_key(), ServerProfile(), a);
  absl::StatusOr<Certificate> again =
      IssueCertificate(pki_.root, pki_.root_key, pki_.leaf_key.public_key(), ServerProfile(), b);
  ASSERT_TRUE(first.ok() && second.ok() && again.ok());
  EXPECT_NE(first->SerialHex(), second->SerialHex());
  EXPECT_EQ(first->SerialHex(), again->SerialHex());
}

TEST_F(IssueTest, RandomFailureIsReported) {
  random_.FailNext();
  absl::StatusOr<Certificate> cert = IssueCertificate(
      pki_.root, pki_.root_key, pki_.leaf_key.public_key(), ServerProfile(), random_);
  EXPECT_EQ(cert.status().code(), absl::StatusCode::kInternal);
}

struct RefusalCase {
  std::string name;
  void (*mutate)(CertificateProfile&);
  std::string message;
};

class IssueRefusalTest : public IssueTest, public testing::WithParamInterface<RefusalCase> {};

TEST_P(IssueRefusalTest, BadProfileIsRefused) {
  CertificateProfile profile = ServerProfile();
  GetParam().mutate(profile);
  absl::StatusOr<Certificate> cert = IssueCertificate(pki_.intermediate, pki_.intermediate_key,
                                                      pki_.leaf_key.public_key(), profile, random_);
  EXPECT_EQ(cert.status().code(), absl::StatusCode::kInvalidArgument) << cert.status();
  EXPECT_THAT(cert.status().message(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    All, IssueRefusalTest,
    testing::Values(
        RefusalCase{"BeforeIssuer",
                    [](CertificateProfile& p) { p.not_before = TestEpoch() - absl::Hours(1); },
                    "outside the issuer's validity"},
        RefusalCase{
            "AfterIssuer",
            [](CertificateProfile& p) { p.not_after = TestEpoch() + absl::Hours(24 * 4000); },
            "outside the issuer's validity"},
        RefusalCase{"EmptyValidity", [](CertificateProfile& p) { p.not_after = p.not_before; },
                    "validity is empty"},
        RefusalCase{"BadDnsName", [](CertificateProfile& p) { p.dns_names = {"a,IP:1.2.3.4"}; },
                    "bad character"},
        RefusalCase{"BadIp", [](CertificateProfile& p) { p.ip_addresses = {"999.1.1.1"}; },
                    "is not an IP address"},
        RefusalCase{"NoCommonName", [](CertificateProfile& p) { p.subject.common_name = ""; },
                    "common name is empty"}),
    [](const testing::TestParamInfo<RefusalCase>& info) { return info.param.name; });

TEST_F(IssueTest, SubSecondTimesAreTruncatedLikeTheCertificate) {
  // Regression: a CA and a leaf made from the same fractional "now" must agree,
  // although X.509 stores whole seconds.
  const absl::Time now = TestEpoch() + absl::Milliseconds(700);
  absl::StatusOr<Certificate> ca =
      CreateSelfSignedCa(pki_.root_key, {"CA", "", ""}, now, now + absl::Hours(24), random_);
  ASSERT_TRUE(ca.ok()) << ca.status();
  CertificateProfile profile = ServerProfile();
  profile.not_before = now;
  profile.not_after = now + absl::Hours(24);
  absl::StatusOr<Certificate> leaf =
      IssueCertificate(*ca, pki_.root_key, pki_.leaf_key.public_key(), profile, random_);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_EQ(leaf->NotAfter(), ca->NotAfter());
}

TEST_F(IssueTest, LeafCannotIssue) {
  absl::StatusOr<Certificate> cert = IssueCertificate(
      pki_.leaf, pki_.leaf_key, pki_.leaf_key.public_key(), ServerProfile(), random_);
  EXPECT_EQ(cert.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cert.status().message(), HasSubstr("not a certificate authority"));
}

TEST_F(IssueTest, IssuerKeyMustMatchIssuerCertificate) {
  absl::StatusOr<Certificate> cert = IssueCertificate(
      pki_.intermediate, pki_.root_key, pki_.leaf_key.public_key(), ServerProfile(), random_);
  EXPECT_EQ(cert.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cert.status().message(), HasSubstr("issuer key does not match"));
}

TEST_F(IssueTest, FromRequestTakesOnlyTheKeyFromTheRequest) {
  absl::StatusOr<EcPrivateKey> device_key = EcPrivateKey::Generate(Curve::kP384);
  ASSERT_TRUE(device_key.ok());
  absl::StatusOr<CertificateRequest> csr =
      CertificateRequest::Create(*device_key, {"I am the CA", "Evil", ""});
  ASSERT_TRUE(csr.ok());
  CertificateProfile profile = ServerProfile();
  profile.usage = CertificateUsage::kDeviceAttestation;
  profile.subject = {"device-7", "Custody Test", ""};
  absl::StatusOr<Certificate> cert =
      IssueCertificateFromRequest(pki_.intermediate, pki_.intermediate_key, *csr, profile, random_);
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(cert->Subject().common_name, "device-7");
  EXPECT_EQ(cert->Subject().organization, "Custody Test");
  absl::StatusOr<EcPublicKey> key = cert->PublicKey();
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(SameKey(*key, device_key->public_key()));
  EXPECT_EQ(key->curve(), Curve::kP384);
}

TEST_F(IssueTest, FromRequestRefusesAForgedRequest) {
  absl::StatusOr<EcPrivateKey> key = EcPrivateKey::Generate(Curve::kP256);
  ASSERT_TRUE(key.ok());
  absl::StatusOr<CertificateRequest> csr = CertificateRequest::Create(*key, {"dev", "", ""});
  ASSERT_TRUE(csr.ok());
  std::string der = csr->der();
  der[der.find("dev")] = 'x';
  absl::StatusOr<CertificateRequest> forged = CertificateRequest::FromDer(der);
  ASSERT_TRUE(forged.ok());
  absl::StatusOr<Certificate> cert = IssueCertificateFromRequest(
      pki_.intermediate, pki_.intermediate_key, *forged, ServerProfile(), random_);
  EXPECT_EQ(cert.status().code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace custody::crypto
