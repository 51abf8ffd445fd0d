#include "core/crypto/ecdh.h"

namespace custody::crypto {

absl::StatusOr<SecretBytes> EcdhSharedSecret(const EcPrivateKey& own, const EcPublicKey& peer) {
  return own.SharedSecret(peer);
}

}  // namespace custody::crypto
