#include "core/crypto/x509_issue.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/crypto/internal/openssl_util.h"
#include "core/crypto/internal/signed_der.h"
#include "core/crypto/internal/x509_name.h"

namespace custody::crypto {

using internal::Asn1IntegerPtr;
using internal::BignumPtr;
using internal::OpenSslError;
using internal::X509ExtensionPtr;
using internal::X509NamePtr;
using internal::X509Ptr;

namespace {

constexpr size_t kSerialBytes = 16;

// X.509 times have whole seconds: compare and encode what will be stored.
absl::Time WholeSeconds(absl::Time t) { return absl::FromUnixSeconds(absl::ToUnixSeconds(t)); }
constexpr size_t kMaxDnsNameLength = 253;
constexpr size_t kMaxSubjectAltNames = 32;

absl::Status CheckDnsName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxDnsNameLength) {
    return absl::InvalidArgumentError(absl::StrCat("DNS name \"", name, "\" has a bad length"));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '*') {
      return absl::InvalidArgumentError(
          absl::StrCat("DNS name \"", name, "\" has a bad character"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckIpAddress(const std::string& ip) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) != 1 && inet_pton(AF_INET6, ip.c_str(), buf) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("\"", ip, "\" is not an IP address"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Asn1IntegerPtr> RandomSerial(SecureRandom& random) {
  CUSTODY_ASSIGN_OR_RETURN(std::string bytes, random.Bytes(kSerialBytes));
  // Positive, and of fixed length: 126 random bits.
  bytes[0] = static_cast<char>((static_cast<unsigned char>(bytes[0]) & 0x3f) | 0x40);
  BignumPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
  Asn1IntegerPtr serial(bn == nullptr ? nullptr : BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (serial == nullptr) return OpenSslError(absl::StatusCode::kInternal, "serial number failed");
  return serial;
}

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(absl::StatusCode::kInternal,
                        absl::StrCat("adding extension ", OBJ_nid2sn(nid)));
  }
  return absl::OkStatus();
}

struct UsageExtensions {
  std::string basic_constraints;
  std::string key_usage;
  std::string extended_key_usage;  // Empty: none.
};

UsageExtensions ExtensionsFor(const CertificateProfile& profile) {
  switch (profile.usage) {
    case CertificateUsage::kCertificateAuthority:
      return {profile.path_length >= 0
                  ? absl::StrCat("critical,CA:TRUE,pathlen:", profile.path_length)
                  : "critical,CA:TRUE",
              "critical,keyCertSign,cRLSign", ""};
    case CertificateUsage::kServer:
      return {"critical,CA:FALSE", "critical,digitalSignature", "serverAuth"};
    case CertificateUsage::kClient:
      return {"critical,CA:FALSE", "critical,digitalSignature", "clientAuth"};
    case CertificateUsage::kServerAndClient:
      return {"critical,CA:FALSE", "critical,digitalSignature", "serverAuth,clientAuth"};
    case CertificateUsage::kDeviceAttestation:
      return {"critical,CA:FALSE", "critical,digitalSignature,keyAgreement", ""};
  }
  return {};
}

// Writes the subject key's algorithm, curve and point into the certificate's
// SubjectPublicKeyInfo fields. Equivalent to X509_set_pubkey, whose OpenSSL 3.0
// implementation encodes the key and decodes it back through the provider
// framework (most of the cost of issuing a certificate).
absl::Status SetSubjectPublicKey(X509* cert, const EcPublicKey& key) {
  const absl::string_view point = key.UncompressedPoint();
  unsigned char* encoded = static_cast<unsigned char*>(OPENSSL_memdup(point.data(), point.size()));
  if (encoded == nullptr) return absl::ResourceExhaustedError("out of memory");
  const int curve_nid = key.curve() == Curve::kP256 ? NID_X9_62_prime256v1 : NID_secp384r1;
  if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
                             V_ASN1_OBJECT, OBJ_nid2obj(curve_nid), encoded,
                             static_cast<int>(point.size())) != 1) {
    OPENSSL_free(encoded);
    return OpenSslError(absl::StatusCode::kInternal, "setting the certificate's public key failed");
  }
  return absl::OkStatus();
}

// Builds and signs a certificate. `issuer_cert` is null for a self-signed one.
absl::StatusOr<IssuedCertificate> BuildAndSign(const Certificate* issuer_cert,
                                               const Signer& issuer_key,
                                               const EcPublicKey& subject_key,
                                               const CertificateProfile& profile,
                                               SecureRandom& random) {
  if (WholeSeconds(profile.not_before) >= WholeSeconds(profile.not_after)) {
    return absl::InvalidArgumentError("certificate validity is empty (not_before >= not_after)");
  }
  if (profile.dns_names.size() + profile.ip_addresses.size() > kMaxSubjectAltNames) {
    return absl::InvalidArgumentError("too many subject alternative names");
  }
  std::vector<std::string> alt_names;
  for (const std::string& dns : profile.dns_names) {
    CUSTODY_RETURN_IF_ERROR(CheckDnsName(dns));
    alt_names.push_back("DNS:" + dns);
  }
  for (const std::string& ip : profile.ip_addresses) {
    CUSTODY_RETURN_IF_ERROR(CheckIpAddress(ip));
    alt_names.push_back("IP:" + ip);
  }
  CUSTODY_ASSIGN_OR_RETURN(X509NamePtr subject, internal::BuildX509Name(profile.subject));
  CUSTODY_ASSIGN_OR_RETURN(Asn1IntegerPtr serial, RandomSerial(random));

  X509Ptr cert(X509_new());
  if (cert == nullptr) return OpenSslError(absl::StatusCode::kInternal, "X509_new failed");
  const X509_NAME* issuer_name =
      issuer_cert != nullptr ? X509_get_subject_name(issuer_cert->x509()) : subject.get();
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(cert.get(), serial.get()) != 1 ||
      X509_set_subject_name(cert.get(), subject.get()) != 1 ||
      X509_set_issuer_name(cert.get(), issuer_name) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(profile.not_before)) ==
          nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(profile.not_after)) == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "filling the certificate failed");
  }
  CUSTODY_RETURN_IF_ERROR(SetSubjectPublicKey(cert.get(), subject_key));

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert != nullptr ? issuer_cert->x509() : cert.get(), cert.get(),
                 nullptr, nullptr, 0);
  const UsageExtensions usage = ExtensionsFor(profile);
  CUSTODY_RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_basic_constraints, usage.basic_constraints));
  CUSTODY_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, usage.key_usage));
  if (!usage.extended_key_usage.empty()) {
    CUSTODY_RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_ext_key_usage, usage.extended_key_usage));
  }
  // The subject key identifier first: a self-signed certificate's authority key
  // identifier is taken from it.
  CUSTODY_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  CUSTODY_RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!alt_names.empty()) {
    CUSTODY_RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_subject_alt_name, absl::StrJoin(alt_names, ",")));
  }

  CUSTODY_RETURN_IF_ERROR(internal::SetCertificateSignatureAlgorithm(cert.get(), issuer_key));
  unsigned char* tbs = nullptr;
  const int tbs_length = i2d_re_X509_tbs(cert.get(), &tbs);
  if (tbs_length <= 0) {
    return OpenSslError(absl::StatusCode::kInternal, "encoding the certificate failed");
  }
  absl::StatusOr<std::string> der = internal::SignDer(
      absl::string_view(reinterpret_cast<const char*>(tbs), static_cast<size_t>(tbs_length)),
      issuer_key);
  OPENSSL_free(tbs);
  if (!der.ok()) return Annotate(der.status(), "signing the certificate");
  IssuedCertificate issued;
  issued.der = *std::move(der);
  issued.serial_hex = HexEncode(
      absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial.get())),
                        static_cast<size_t>(ASN1_STRING_length(serial.get()))));
  return issued;
}

}  // namespace

absl::StatusOr<Certificate> CreateSelfSignedCa(const Signer& key, const DistinguishedName& subject,
                                               absl::Time not_before, absl::Time not_after,
                                               SecureRandom& random) {
  CertificateProfile profile;
  profile.subject = subject;
  profile.not_before = not_before;
  profile.not_after = not_after;
  profile.usage = CertificateUsage::kCertificateAuthority;
  profile.path_length = -1;
  CUSTODY_ASSIGN_OR_RETURN(IssuedCertificate issued,
                           BuildAndSign(nullptr, key, key.public_key(), profile, random));
  return Certificate::FromDer(issued.der);
}

absl::StatusOr<Certificate> IssueCertificate(const Certificate& issuer, const Signer& issuer_key,
                                             const EcPublicKey& subject_key,
                                             const CertificateProfile& profile,
                                             SecureRandom& random) {
  CUSTODY_ASSIGN_OR_RETURN(IssuedCertificate issued,
                           IssueCertificateDer(issuer, issuer_key, subject_key, profile, random));
  return Certificate::FromDer(issued.der);
}

absl::StatusOr<IssuedCertificate> IssueCertificateDer(const Certificate& issuer,
                                                      const Signer& issuer_key,
                                                      const EcPublicKey& subject_key,
                                                      const CertificateProfile& profile,
                                                      SecureRandom& random) {
  if (!issuer.IsCa()) {
    return absl::InvalidArgumentError("issuer certificate is not a certificate authority");
  }
  CUSTODY_ASSIGN_OR_RETURN(EcPublicKey issuer_public, issuer.PublicKey());
  if (!SameKey(issuer_public, issuer_key.public_key())) {
    return absl::InvalidArgumentError("issuer key does not match the issuer certificate");
  }
  if (WholeSeconds(profile.not_before) < issuer.NotBefore() ||
      WholeSeconds(profile.not_after) > issuer.NotAfter()) {
    return absl::InvalidArgumentError("certificate validity lies outside the issuer's validity");
  }
  return BuildAndSign(&issuer, issuer_key, subject_key, profile, random);
}

absl::StatusOr<Certificate> IssueCertificateFromRequest(const Certificate& issuer,
                                                        const Signer& issuer_key,
                                                        const CertificateRequest& request,
                                                        const CertificateProfile& profile,
                                                        SecureRandom& random) {
  CUSTODY_RETURN_IF_ERROR(request.VerifyProofOfPossession());
  CUSTODY_ASSIGN_OR_RETURN(EcPublicKey subject_key, request.PublicKey());
  return IssueCertificate(issuer, issuer_key, subject_key, profile, random);
}

}  // namespace custody::crypto
