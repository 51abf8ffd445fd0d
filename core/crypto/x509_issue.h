// Issuing X.509 certificates: self-signed CAs and certificates from CSRs.
//
// The issuer decides everything that goes into a certificate (subject, validity,
// usage, names); a CSR contributes only its public key, after its proof of
// possession is checked. Certificates are v3 with basicConstraints and keyUsage
// (critical), extendedKeyUsage where it applies, subject and authority key
// identifiers, a 126-bit random serial from the injected SecureRandom, and the
// issuer curve's hash (ECDSA with SHA-256 or SHA-384).

#ifndef CUSTODY_CORE_CRYPTO_X509_ISSUE_H_
#define CUSTODY_CORE_CRYPTO_X509_ISSUE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/base/random.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/signer.h"
#include "core/crypto/x509_certificate.h"

namespace custody::crypto {

enum class CertificateUsage {
  kCertificateAuthority,  // CA:TRUE; keyCertSign, cRLSign.
  kServer,                // digitalSignature; serverAuth.
  kClient,                // digitalSignature; clientAuth.
  kServerAndClient,       // digitalSignature; serverAuth, clientAuth.
  kDeviceAttestation,     // digitalSignature, keyAgreement; no extendedKeyUsage.
};

struct CertificateProfile {
  DistinguishedName subject;
  absl::Time not_before;
  absl::Time not_after;
  CertificateUsage usage = CertificateUsage::kClient;
  // For kCertificateAuthority: the pathLenConstraint; negative means none.
  int path_length = 0;
  // subjectAltName entries (servers): host names and IPv4/IPv6 literals.
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
};

// A self-signed CA certificate for `key`. INVALID_ARGUMENT for a bad subject or
// not_before >= not_after.
absl::StatusOr<Certificate> CreateSelfSignedCa(const Signer& key, const DistinguishedName& subject,
                                               absl::Time not_before, absl::Time not_after,
                                               SecureRandom& random);

// Issues a certificate for `subject_key` signed by `issuer_key`.
// INVALID_ARGUMENT when the issuer certificate is not a CA, `issuer_key` does not
// match it, the validity is empty or lies outside the issuer's, or a name is bad.
absl::StatusOr<Certificate> IssueCertificate(const Certificate& issuer, const Signer& issuer_key,
                                             const EcPublicKey& subject_key,
                                             const CertificateProfile& profile,
                                             SecureRandom& random);

// A certificate as issued: its DER and serial number (hex), without the parsed
// object (parsing it back costs more than issuing it).
struct IssuedCertificate {
  std::string der;
  std::string serial_hex;
};

// As IssueCertificate, returning only the DER: for issuers that send the
// certificate on (device initialisation) and have no use for the parsed form.
absl::StatusOr<IssuedCertificate> IssueCertificateDer(const Certificate& issuer,
                                                      const Signer& issuer_key,
                                                      const EcPublicKey& subject_key,
                                                      const CertificateProfile& profile,
                                                      SecureRandom& random);

// As IssueCertificate for the CSR's key, after checking the CSR's proof of
// possession (UNAUTHENTICATED when it fails).
absl::StatusOr<Certificate> IssueCertificateFromRequest(const Certificate& issuer,
                                                        const Signer& issuer_key,
                                                        const CertificateRequest& request,
                                                        const CertificateProfile& profile,
                                                        SecureRandom& random);

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_X509_ISSUE_H_
