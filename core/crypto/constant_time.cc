#include "core/crypto/constant_time.h"

#include <openssl/crypto.h>

namespace custody::crypto {

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool ConstantTimeEquals(const SecretBytes& a, const SecretBytes& b) {
  return ConstantTimeEquals(a.Reveal(), b.Reveal());
}

}  // namespace custody::crypto
