// Ephemeral ECDH on P-256 and P-384 (the key exchange of the TO2 session).
//
// Generate an ephemeral key with EcPrivateKey::Generate, send its public key, and
// combine with the peer's validated public key. The raw shared secret (the
// x-coordinate) must go through HKDF before use as a key.

#ifndef CUSTODY_CORE_CRYPTO_ECDH_H_
#define CUSTODY_CORE_CRYPTO_ECDH_H_

#include "absl/status/statusor.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/ec_public_key.h"

namespace custody::crypto {

// The shared secret: 32 bytes on P-256, 48 on P-384. INVALID_ARGUMENT when the two
// keys are on different curves or the peer key is unusable.
absl::StatusOr<SecretBytes> EcdhSharedSecret(const EcPrivateKey& own, const EcPublicKey& peer);

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_ECDH_H_
