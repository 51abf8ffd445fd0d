// HKDF (RFC 5869) with SHA-256 or SHA-384: session keys from the ECDH secret.

#ifndef CUSTODY_CORE_CRYPTO_HKDF_H_
#define CUSTODY_CORE_CRYPTO_HKDF_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/hash.h"

namespace custody::crypto {

// Extract-then-expand. An empty `salt` means HashLen zero bytes (RFC 5869 2.2).
// INVALID_ARGUMENT when `ikm` is empty, `length` is zero, or `length` exceeds
// 255 * HashLen.
absl::StatusOr<SecretBytes> Hkdf(HashAlgorithm algorithm, const SecretBytes& ikm,
                                 absl::string_view salt, absl::string_view info, size_t length);

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_HKDF_H_
