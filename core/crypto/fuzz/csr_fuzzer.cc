// Fuzz target: certificate signing requests from untrusted bytes (what a device
// sends during DI and enrolment), through both readers: OpenSSL's parse and the
// DER walk of the DI hot path. The walk is stricter: whatever it accepts and
// verifies, OpenSSL must accept and verify too, with the same key and subject.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/x509_certificate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using custody::crypto::CertificateRequest;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<CertificateRequest> csr = CertificateRequest::FromDer(input);
  if (csr.ok()) {
    (void)csr->VerifyProofOfPossession();
    (void)csr->Subject();
    (void)csr->PublicKey();
  }
  (void)CertificateRequest::FromPem(input);

  absl::StatusOr<custody::crypto::RequestParts> parts = custody::crypto::ReadRequestParts(input);
  if (!parts.ok()) return 0;
  absl::StatusOr<custody::crypto::EcPublicKey> key =
      custody::crypto::EcPublicKey::FromSpkiDer(parts->spki_der);
  if (!key.ok() || !custody::crypto::VerifyRequestSignature(*parts, *key).ok()) return 0;
  if (!csr.ok() || !csr->VerifyProofOfPossession().ok()) std::abort();
  absl::StatusOr<custody::crypto::EcPublicKey> openssl_key = csr->PublicKey();
  if (!openssl_key.ok() || openssl_key->spki_der() != key->spki_der()) std::abort();
  if (csr->Subject().common_name != parts->subject.common_name ||
      csr->Subject().organizational_unit != parts->subject.organizational_unit) {
    std::abort();
  }
  return 0;
}
