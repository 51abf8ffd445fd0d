// Fuzz target: certificate signing requests from untrusted bytes (what a device
// sends during DI and enrolment).

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "core/crypto/x509_certificate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<custody::crypto::CertificateRequest> csr =
      custody::crypto::CertificateRequest::FromDer(input);
  if (csr.ok()) {
    (void)csr->VerifyProofOfPossession();
    (void)csr->Subject();
    (void)csr->PublicKey();
  }
  (void)custody::crypto::CertificateRequest::FromPem(input);
  return 0;
}
