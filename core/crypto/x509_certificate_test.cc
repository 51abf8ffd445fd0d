#include "core/crypto/x509_certificate.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "core/base/fake_random.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/hash.h"
#include "core/crypto/x509_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::crypto {
namespace {

using ::testing::HasSubstr;

class CertificateTest : public testing::Test {
 protected:
  DeterministicRandom random_{1};
  TestPki pki_ = MakeTestPki(Curve::kP256, random_);
};

TEST_F(CertificateTest, DerRoundTripKeepsEveryField) {
  absl::StatusOr<Certificate> parsed = Certificate::FromDer(pki_.leaf.der());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->der(), pki_.leaf.der());
  EXPECT_EQ(parsed->Subject().common_name, "device-0001");
  EXPECT_EQ(parsed->Subject().organization, "Custody Test");
  EXPECT_EQ(parsed->Issuer().common_name, "Test Device CA");
  EXPECT_EQ(parsed->Issuer().organizational_unit, "devices");
  EXPECT_EQ(parsed->NotBefore(), TestEpoch());
  EXPECT_EQ(parsed->NotAfter(), TestEpoch() + absl::Hours(24 * 365));
  EXPECT_FALSE(parsed->IsCa());
  EXPECT_TRUE(pki_.intermediate.IsCa());
  EXPECT_TRUE(pki_.root.IsCa());
  EXPECT_EQ(parsed->SerialHex().size(), 32u);
  EXPECT_EQ(parsed->Fingerprint(), Sha256(pki_.leaf.der()));
  absl::StatusOr<EcPublicKey> key = parsed->PublicKey();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(SameKey(*key, pki_.leaf_key.public_key()));
}

TEST_F(CertificateTest, PemRoundTrip) {
  const std::string pem = pki_.leaf.ToPem();
  EXPECT_TRUE(absl::StartsWith(pem, "-----BEGIN CERTIFICATE-----\n"));
  absl::StatusOr<Certificate> parsed = Certificate::FromPem("\n  " + pem + "\n\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->der(), pki_.leaf.der());
}

TEST_F(CertificateTest, ListFromPemReadsAChainInOrder) {
  const std::string pem = CertificatesToPem({pki_.leaf, pki_.intermediate, pki_.root});
  absl::StatusOr<std::vector<Certificate>> list = Certificate::ListFromPem(pem, 3);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].der(), pki_.leaf.der());
  EXPECT_EQ((*list)[1].der(), pki_.intermediate.der());
  EXPECT_EQ((*list)[2].der(), pki_.root.der());

  absl::StatusOr<std::vector<Certificate>> too_many = Certificate::ListFromPem(pem, 2);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(too_many.status().message(), HasSubstr("more than 2 PEM blocks"));
}

struct BadDerCase {
  std::string name;
  std::string (*make)(const std::string& der);
  absl::StatusCode code;
  std::string message;
};

class CertificateBadDerTest : public CertificateTest,
                              public testing::WithParamInterface<BadDerCase> {};

TEST_P(CertificateBadDerTest, IsRefusedPrecisely) {
  absl::StatusOr<Certificate> parsed = Certificate::FromDer(GetParam().make(pki_.leaf.der()));
  EXPECT_EQ(parsed.status().code(), GetParam().code) << parsed.status();
  EXPECT_THAT(parsed.status().message(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    All, CertificateBadDerTest,
    testing::Values(
        BadDerCase{"Empty", [](const std::string&) { return std::string(); },
                   absl::StatusCode::kInvalidArgument, "certificate is empty"},
        BadDerCase{"Truncated", [](const std::string& d) { return d.substr(0, d.size() - 1); },
                   absl::StatusCode::kInvalidArgument, "certificate is not valid DER"},
        BadDerCase{"TrailingGarbage", [](const std::string& d) { return d + "x"; },
                   absl::StatusCode::kInvalidArgument, "trailing bytes after the certificate"},
        BadDerCase{"NotDer", [](const std::string&) { return std::string("hello world"); },
                   absl::StatusCode::kInvalidArgument, "certificate is not valid DER"},
        BadDerCase{"TooLarge",
                   [](const std::string&) { return std::string(kMaxCertificateDerSize + 1, 'a'); },
                   absl::StatusCode::kResourceExhausted, "exceeds the limit"}),
    [](const testing::TestParamInfo<BadDerCase>& info) { return info.param.name; });

struct BadPemCase {
  std::string name;
  std::string pem;
  std::string message;
};

class CertificateBadPemTest : public testing::TestWithParam<BadPemCase> {};

TEST_P(CertificateBadPemTest, IsRefusedPrecisely) {
  absl::StatusOr<Certificate> parsed = Certificate::FromPem(GetParam().pem);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << parsed.status();
  EXPECT_THAT(parsed.status().message(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    All, CertificateBadPemTest,
    testing::Values(
        BadPemCase{"Empty", "", "no PEM block found"},
        BadPemCase{"TextBefore",
                   "junk\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                   "unexpected text outside the PEM blocks"},
        BadPemCase{"WrongLabel", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                   "expected \"CERTIFICATE\""},
        BadPemCase{"NoEnd", "-----BEGIN CERTIFICATE-----\nAAAA\n", "malformed PEM block"},
        BadPemCase{"BadBase64", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
                   "malformed PEM block"}),
    [](const testing::TestParamInfo<BadPemCase>& info) { return info.param.name; });

TEST_F(CertificateTest, FromPemRefusesTwoBlocksAndTrailingText) {
  const std::string two = pki_.leaf.ToPem() + pki_.root.ToPem();
  EXPECT_THAT(Certificate::FromPem(two).status().message(), HasSubstr("expected one"));
  const std::string trailing = pki_.leaf.ToPem() + "trailing";
  absl::StatusOr<Certificate> parsed = Certificate::FromPem(trailing);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("unexpected text"));
}

TEST_F(CertificateTest, SpkiWalkerFindsTheSameKeyAsOpenSsl) {
  for (const Certificate* cert : {&pki_.leaf, &pki_.intermediate, &pki_.root}) {
    absl::StatusOr<absl::string_view> spki = CertificateSpkiDer(cert->der());
    ASSERT_TRUE(spki.ok()) << spki.status();
    EXPECT_EQ(*spki, cert->PublicKey()->spki_der());
  }
}

TEST_F(CertificateTest, SpkiWalkerRefusesMalformedStructure) {
  const std::string der = pki_.leaf.der();
  EXPECT_THAT(std::string(CertificateSpkiDer(der + "x").status().message()),
              HasSubstr("trailing bytes after the certificate"));
  EXPECT_THAT(std::string(CertificateSpkiDer(der.substr(0, 100)).status().message()),
              HasSubstr("truncated Certificate"));
  EXPECT_THAT(std::string(CertificateSpkiDer(std::string("\x31\x00", 2)).status().message()),
              HasSubstr("Certificate: unexpected tag 49"));
  EXPECT_EQ(CertificateSpkiDer("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CertificateRequestTest, CreateCarriesKeyAndSubjectAndVerifies) {
  absl::StatusOr<EcPrivateKey> key = EcPrivateKey::Generate(Curve::kP384);
  ASSERT_TRUE(key.ok());
  absl::StatusOr<CertificateRequest> csr =
      CertificateRequest::Create(*key, {"gateway-42", "Acme", "line-3"});
  ASSERT_TRUE(csr.ok()) << csr.status();
  EXPECT_TRUE(csr->VerifyProofOfPossession().ok());
  EXPECT_EQ(csr->Subject().common_name, "gateway-42");
  EXPECT_EQ(csr->Subject().organizational_unit, "line-3");
  absl::StatusOr<EcPublicKey> public_key = csr->PublicKey();
  ASSERT_TRUE(public_key.ok());
  EXPECT_TRUE(SameKey(*public_key, key->public_key()));

  absl::StatusOr<CertificateRequest> from_pem = CertificateRequest::FromPem(csr->ToPem());
  ASSERT_TRUE(from_pem.ok()) << from_pem.status();
  EXPECT_EQ(from_pem->der(), csr->der());
}

TEST(CertificateRequestTest, TamperedRequestFailsProofOfPossession) {
  absl::StatusOr<EcPrivateKey> key = EcPrivateKey::Generate(Curve::kP256);
  ASSERT_TRUE(key.ok());
  absl::StatusOr<CertificateRequest> csr = CertificateRequest::Create(*key, {"dev", "", ""});
  ASSERT_TRUE(csr.ok());
  // The subject's common name is signed: change one of its letters.
  std::string der = csr->der();
  const size_t at = der.find("dev");
  ASSERT_NE(at, std::string::npos);
  der[at] = 'x';
  absl::StatusOr<CertificateRequest> tampered = CertificateRequest::FromDer(der);
  ASSERT_TRUE(tampered.ok()) << tampered.status();
  const absl::Status status = tampered->VerifyProofOfPossession();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("CSR signature does not verify"));
}

TEST(CertificateRequestTest, BadSubjectsAreRefused) {
  absl::StatusOr<EcPrivateKey> key = EcPrivateKey::Generate(Curve::kP256);
  ASSERT_TRUE(key.ok());
  EXPECT_THAT(CertificateRequest::Create(*key, {"", "", ""}).status().message(),
              HasSubstr("common name is empty"));
  EXPECT_THAT(CertificateRequest::Create(*key, {std::string(65, 'a'), "", ""}).status().message(),
              HasSubstr("longer than 64"));
  EXPECT_THAT(CertificateRequest::Create(*key, {"a\nb", "", ""}).status().message(),
              HasSubstr("control character"));
}

TEST(CertificateRequestTest, MalformedDerIsRefused) {
  EXPECT_EQ(CertificateRequest::FromDer("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(CertificateRequest::FromDer("\x30\x03\x02\x01\x01").status().message(),
              HasSubstr("CSR is not valid DER"));
}

// The DER walk of the DI hot path agrees with OpenSSL on well-formed requests
// and refuses every truncation and tampering with a precise error.
TEST(RequestPartsTest, AgreesWithOpenSslOnBothCurves) {
  for (Curve curve : {Curve::kP256, Curve::kP384}) {
    const EcPrivateKey key = *EcPrivateKey::Generate(curve);
    const CertificateRequest csr = *CertificateRequest::Create(key, {"SN-7", "Acme", "gw-100"});
    absl::StatusOr<RequestParts> parts = ReadRequestParts(csr.der());
    ASSERT_TRUE(parts.ok()) << parts.status();
    EXPECT_EQ(parts->subject.common_name, "SN-7");
    EXPECT_EQ(parts->subject.organization, "Acme");
    EXPECT_EQ(parts->subject.organizational_unit, "gw-100");
    EXPECT_EQ(parts->hash, CurveHash(curve));
    absl::StatusOr<EcPublicKey> walked = EcPublicKey::FromSpkiDer(parts->spki_der);
    ASSERT_TRUE(walked.ok()) << walked.status();
    EXPECT_TRUE(SameKey(*walked, key.public_key()));
    EXPECT_TRUE(VerifyRequestSignature(*parts, *walked).ok());
  }
}

TEST(RequestPartsTest, TamperingAndTruncationAreRefused) {
  const EcPrivateKey key = *EcPrivateKey::Generate(Curve::kP256);
  const CertificateRequest csr = *CertificateRequest::Create(key, {"dev", "", ""});
  // A signed byte changed: parses, but the proof of possession fails.
  std::string tampered = csr.der();
  tampered[tampered.find("dev")] = 'x';
  absl::StatusOr<RequestParts> parts = ReadRequestParts(tampered);
  ASSERT_TRUE(parts.ok()) << parts.status();
  const EcPublicKey own = *EcPublicKey::FromSpkiDer(parts->spki_der);
  absl::Status status = VerifyRequestSignature(*parts, own);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(status.message()), HasSubstr("no proof of possession"));
  // Signed by one key, carrying another: the key it carries does not verify it.
  const EcPrivateKey other = *EcPrivateKey::Generate(Curve::kP256);
  parts = ReadRequestParts(csr.der());
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(VerifyRequestSignature(*parts, other.public_key()).code(),
            absl::StatusCode::kUnauthenticated);
  // A P-384 key with a SHA-256 signature algorithm is refused before verifying.
  const EcPrivateKey p384 = *EcPrivateKey::Generate(Curve::kP384);
  EXPECT_EQ(VerifyRequestSignature(*parts, p384.public_key()).code(),
            absl::StatusCode::kInvalidArgument);
  // Every truncation, and trailing bytes.
  for (size_t n = 0; n < csr.der().size(); ++n) {
    EXPECT_EQ(ReadRequestParts(csr.der().substr(0, n)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << n;
  }
  EXPECT_THAT(std::string(ReadRequestParts(csr.der() + "x").status().message()),
              HasSubstr("the CSR"));
  // Not a CSR at all, and too big.
  EXPECT_THAT(std::string(ReadRequestParts("not a CSR").status().message()),
              HasSubstr("CSR CertificationRequest: unexpected tag"));
  EXPECT_EQ(ReadRequestParts(std::string(kMaxCertificateDerSize + 1, '\x30')).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(RequestPartsTest, VersionAndSignatureAlgorithmAreChecked) {
  const EcPrivateKey key = *EcPrivateKey::Generate(Curve::kP256);
  const std::string der = CertificateRequest::Create(key, {"dev", "", ""})->der();
  // version INTEGER 0 is the first element of the CertificationRequestInfo.
  const std::string version("\x02\x01\x00", 3);
  std::string v2 = der;
  v2[v2.find(version) + 2] = '\x01';
  EXPECT_THAT(std::string(ReadRequestParts(v2).status().message()), HasSubstr("CSR version"));
  // ecdsa-with-SHA256 -> ecdsa-with-SHA512 (last OID byte 2 -> 4).
  const std::string sha256_oid("\x2a\x86\x48\xce\x3d\x04\x03\x02", 8);
  std::string sha512 = der;
  sha512[sha512.find(sha256_oid) + 7] = '\x04';
  EXPECT_THAT(std::string(ReadRequestParts(sha512).status().message()),
              HasSubstr("signature algorithm"));
}

}  // namespace
}  // namespace custody::crypto
