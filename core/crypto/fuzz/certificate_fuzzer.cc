// Fuzz target: X.509 certificates from untrusted bytes (DER, one PEM, a PEM chain).
// Every accessor of a parsed certificate must be safe to call.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/crypto/x509_certificate.h"

namespace {

void Exercise(const custody::crypto::Certificate& cert) {
  (void)cert.PublicKey();
  (void)cert.Subject();
  (void)cert.Issuer();
  (void)cert.NotBefore();
  (void)cert.NotAfter();
  (void)cert.SerialHex();
  (void)cert.IsCa();
  (void)cert.ToPem();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<custody::crypto::Certificate> der = custody::crypto::Certificate::FromDer(input);
  if (der.ok()) Exercise(*der);
  absl::StatusOr<std::vector<custody::crypto::Certificate>> list =
      custody::crypto::Certificate::ListFromPem(input, 8);
  if (list.ok()) {
    for (const custody::crypto::Certificate& cert : *list) Exercise(cert);
  }
  return 0;
}
