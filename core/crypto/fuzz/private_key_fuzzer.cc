// Fuzz target: private keys from untrusted bytes (PKCS#8 DER and PEM), as read from
// key files. A key that parses must sign, and its signature must verify.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/ecdsa.h"

namespace {

void Exercise(const custody::crypto::EcPrivateKey& key) {
  absl::StatusOr<std::string> signature = custody::crypto::EcdsaSign(key, "fuzz");
  if (!signature.ok() || !custody::crypto::EcdsaVerify(key.public_key(), "fuzz", *signature).ok()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<custody::crypto::EcPrivateKey> der =
      custody::crypto::EcPrivateKey::FromPkcs8Der(input);
  if (der.ok()) Exercise(*der);
  absl::StatusOr<custody::crypto::EcPrivateKey> pem =
      custody::crypto::EcPrivateKey::FromPkcs8Pem(input);
  if (pem.ok()) Exercise(*pem);
  return 0;
}
