// X.509 certificates and certificate signing requests (PKCS#10), EC keys only.
//
// Custody's device certificate chain (FDO DeviceCertChain), operational
// certificates, TLS certificates and admin client certificates all use these types.
// Parsing is bounded (kMaxCertificateDerSize), consumes the whole input, and only
// EC P-256/P-384 subject keys are usable (PublicKey() refuses others).
//
// Certificate and CertificateRequest are copyable (copies share the immutable
// OpenSSL object) and thread-safe for concurrent const use.

#ifndef CUSTODY_CORE_CRYPTO_X509_CERTIFICATE_H_
#define CUSTODY_CORE_CRYPTO_X509_CERTIFICATE_H_

#include <openssl/types.h>

// OpenSSL declares X509_REQ only in <openssl/x509.h>; this header stays light.
struct X509_req_st;
typedef struct X509_req_st X509_REQ;

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/hash.h"
#include "core/crypto/signer.h"

namespace custody::crypto {

inline constexpr size_t kMaxCertificateDerSize = 16 * 1024;
inline constexpr size_t kMaxCertificatePemSize = 64 * 1024;
// Upper bound of X.520 ub-common-name and ub-organization-name.
inline constexpr size_t kMaxNameFieldLength = 64;

// The subject or issuer fields Custody sets and reads. Empty fields are absent.
struct DistinguishedName {
  std::string common_name;
  std::string organization;
  std::string organizational_unit;
};

class Certificate {
 public:
  // INVALID_ARGUMENT for malformed DER or trailing bytes; RESOURCE_EXHAUSTED over
  // kMaxCertificateDerSize.
  static absl::StatusOr<Certificate> FromDer(absl::string_view der);
  // Exactly one "CERTIFICATE" PEM block, white space around it only.
  static absl::StatusOr<Certificate> FromPem(absl::string_view pem);
  // One or more "CERTIFICATE" blocks (a chain or a trust bundle), at most
  // `max_count` (RESOURCE_EXHAUSTED beyond). Only white space may sit between and
  // around the blocks.
  static absl::StatusOr<std::vector<Certificate>> ListFromPem(absl::string_view pem,
                                                              size_t max_count);
  // Takes ownership of `x509` (for other core/crypto code).
  static absl::StatusOr<Certificate> FromOwnedX509(X509* x509);

  const std::string& der() const { return *der_; }
  std::string ToPem() const;
  // SHA-256 of the DER (32 bytes).
  std::string Fingerprint() const;

  // The subject key; INVALID_ARGUMENT if it is not a P-256/P-384 EC key.
  absl::StatusOr<EcPublicKey> PublicKey() const;
  DistinguishedName Subject() const;
  DistinguishedName Issuer() const;
  absl::Time NotBefore() const;
  absl::Time NotAfter() const;
  // Lower-case hex of the serial number.
  std::string SerialHex() const;
  // True when basicConstraints says CA:TRUE.
  bool IsCa() const;
  // subjectAltName entries as "DNS:<name>" and "IP:<address>" (addresses in the
  // canonical text form of inet_ntop), in certificate order; other kinds omitted.
  std::vector<std::string> SubjectAltNames() const;

  // The OpenSSL object, for core/crypto internals only; owned by this object.
  X509* x509() const { return x509_.get(); }

 private:
  Certificate(std::shared_ptr<X509> x509, std::string der);

  std::shared_ptr<X509> x509_;
  std::shared_ptr<const std::string> der_;
};

// The SubjectPublicKeyInfo DER inside `certificate_der`, found by walking the
// TBSCertificate structure with the bounded ByteReader, without a full X.509 parse
// (about 115 us in OpenSSL 3.0): for hot paths that need only the subject key and
// have verified the certificate's bytes by other means (a signed hash). The whole
// input must be one DER SEQUENCE. INVALID_ARGUMENT naming the field otherwise;
// RESOURCE_EXHAUSTED over kMaxCertificateDerSize.
absl::StatusOr<absl::string_view> CertificateSpkiDer(absl::string_view certificate_der);

// A PKCS#10 request's parts, read by a bounded DER walk without OpenSSL's parse
// (d2i_X509_REQ decodes the key through the provider framework, about 100 us in
// OpenSSL 3.0): for the DI hot path. Views into the input.
struct RequestParts {
  absl::string_view signed_bytes;               // The CertificationRequestInfo, as signed.
  absl::string_view spki_der;                   // Parse with EcPublicKey::FromSpkiDer.
  DistinguishedName subject;                    // CN, O, OU (each at most once).
  HashAlgorithm hash = HashAlgorithm::kSha256;  // Of ecdsa-with-SHA256/384.
  absl::string_view signature_der;              // ECDSA, DER.
};
// INVALID_ARGUMENT naming the field for anything but version 1 with an
// ecdsa-with-SHA256/384 signature; RESOURCE_EXHAUSTED over kMaxCertificateDerSize.
absl::StatusOr<RequestParts> ReadRequestParts(absl::string_view der);
// Proof of possession: OK when `parts` is signed by `key` (the request's own key,
// parsed from parts.spki_der) with the hash of its curve. INVALID_ARGUMENT for
// another hash; UNAUTHENTICATED when the signature does not verify.
absl::Status VerifyRequestSignature(const RequestParts& parts, const EcPublicKey& key);

// Concatenated PEM of `certificates`, in order.
std::string CertificatesToPem(const std::vector<Certificate>& certificates);

class CertificateRequest {
 public:
  // A CSR for `key`'s public key, signed by `key` (proof of possession).
  // INVALID_ARGUMENT for an empty common name or an over-long field.
  static absl::StatusOr<CertificateRequest> Create(const Signer& key,
                                                   const DistinguishedName& subject);
  static absl::StatusOr<CertificateRequest> FromDer(absl::string_view der);
  static absl::StatusOr<CertificateRequest> FromPem(absl::string_view pem);

  const std::string& der() const { return *der_; }
  std::string ToPem() const;
  absl::StatusOr<EcPublicKey> PublicKey() const;
  DistinguishedName Subject() const;

  // OK when the CSR is signed by the key it carries. UNAUTHENTICATED otherwise;
  // INVALID_ARGUMENT when its key is not a P-256/P-384 EC key.
  absl::Status VerifyProofOfPossession() const;

  // The OpenSSL object, for core/crypto internals only; owned by this object.
  X509_REQ* x509_req() const { return req_.get(); }

 private:
  CertificateRequest(std::shared_ptr<X509_REQ> req, std::string der);

  std::shared_ptr<X509_REQ> req_;
  std::shared_ptr<const std::string> der_;
};

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_X509_CERTIFICATE_H_
