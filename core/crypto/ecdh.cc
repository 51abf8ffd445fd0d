#include "core/crypto/ecdh.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "core/crypto/internal/openssl_util.h"

namespace custody::crypto {

using internal::EvpPkeyCtxPtr;
using internal::OpenSslError;

absl::StatusOr<SecretBytes> EcdhSharedSecret(const EcPrivateKey& own, const EcPublicKey& peer) {
  if (own.curve() != peer.curve()) {
    return absl::InvalidArgumentError(absl::StrCat("ECDH peer key is on ", CurveName(peer.curve()),
                                                   ", own key on ", CurveName(own.curve())));
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own.evp_pkey(), nullptr));
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "ECDH init failed");
  }
  // validate_peer = 0: an EcPublicKey is a valid point of its curve by
  // construction (canonical encoding, loaded and checked on the curve), and
  // P-256/P-384 have cofactor 1, so OpenSSL's full re-check (an extra scalar
  // multiplication, a third of the cost) would add nothing.
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.evp_pkey(), 0) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "ECDH peer key rejected");
  }
  size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1 || len != CurveFieldSize(own.curve())) {
    return OpenSslError(absl::StatusCode::kInternal, "ECDH size query failed");
  }
  SecretBytes secret(len);
  if (EVP_PKEY_derive(ctx.get(), secret.mutable_data(), &len) != 1 || len != secret.size()) {
    return OpenSslError(absl::StatusCode::kInternal, "ECDH derivation failed");
  }
  return secret;
}

}  // namespace custody::crypto
