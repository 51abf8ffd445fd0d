// Constant-time comparison for MACs, hashes, nonces and secrets.

#ifndef CUSTODY_CORE_CRYPTO_CONSTANT_TIME_H_
#define CUSTODY_CORE_CRYPTO_CONSTANT_TIME_H_

#include "absl/strings/string_view.h"
#include "core/base/secret_bytes.h"

namespace custody::crypto {

// True when `a` and `b` hold the same bytes. Lengths are compared first (they are
// public); the contents are compared with CRYPTO_memcmp, whose running time does
// not depend on where they differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);
bool ConstantTimeEquals(const SecretBytes& a, const SecretBytes& b);

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_CONSTANT_TIME_H_
