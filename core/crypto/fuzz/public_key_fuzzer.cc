// Fuzz target: public keys from untrusted bytes (SPKI DER and PEM). Whatever the
// input, parsing must return a status without crashing, and a key that parses must
// re-encode to exactly the bytes it came from.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "core/crypto/ec_public_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<custody::crypto::EcPublicKey> der =
      custody::crypto::EcPublicKey::FromSpkiDer(input);
  if (der.ok() && der->spki_der() != input) std::abort();
  absl::StatusOr<custody::crypto::EcPublicKey> pem =
      custody::crypto::EcPublicKey::FromSpkiPem(input);
  if (pem.ok()) {
    absl::StatusOr<custody::crypto::EcPublicKey> again =
        custody::crypto::EcPublicKey::FromSpkiPem(pem->ToSpkiPem());
    if (!again.ok() || !custody::crypto::SameKey(*again, *pem)) std::abort();
  }
  return 0;
}
