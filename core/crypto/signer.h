// The interfaces every private key is used through: Signer (ECDSA), KeyAgreement
// (ECDH) and HmacKey. Protocol cores, the voucher code, the certificate issuer and
// the services take these and never a concrete key type, so a key can live in a
// file, a PKCS#11 token or a TPM (core/keys) without the code that uses it knowing.
//
// Implementations are thread-safe for concurrent use. Every error from a key names
// it by its URI (uri()), which is never secret, and never carries key material.

#ifndef CUSTODY_CORE_CRYPTO_SIGNER_H_
#define CUSTODY_CORE_CRYPTO_SIGNER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/curve.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/hash.h"

namespace custody::crypto {

// ECDSA with the hash of the key's curve: the FDO 1.1 suites, never mixed.
enum class SignatureAlgorithm { kEs256, kEs384 };

SignatureAlgorithm SignatureAlgorithmOfCurve(Curve curve);
// "ES256" or "ES384".
absl::string_view SignatureAlgorithmName(SignatureAlgorithm algorithm);

class Signer {
 public:
  virtual ~Signer() = default;

  virtual const EcPublicKey& public_key() const = 0;

  // A DER ECDSA signature (X9.62 Ecdsa-Sig-Value) over `data`, hashed with the
  // curve's hash. UNAVAILABLE when the key's backend cannot be reached now (a
  // token removed, a TPM that does not answer): the caller may try again later;
  // PERMISSION_DENIED when the backend refuses the key (logged out, wrong
  // authorisation); INTERNAL otherwise.
  virtual absl::StatusOr<std::string> Sign(absl::string_view data) const = 0;

  // Where the key lives, as a key URI ("file:/var/lib/custody/owner/owner.key",
  // "pkcs11:token=...;object=...", "tpm:..."): for messages and `custodyctl key`.
  virtual std::string uri() const = 0;

  Curve curve() const { return public_key().curve(); }
  SignatureAlgorithm algorithm() const { return SignatureAlgorithmOfCurve(curve()); }
};

class KeyAgreement {
 public:
  virtual ~KeyAgreement() = default;

  virtual const EcPublicKey& public_key() const = 0;

  // The ECDH shared secret with `peer` (the x-coordinate: 32 bytes on P-256, 48
  // on P-384), to go through a KDF before use. INVALID_ARGUMENT when `peer` is on
  // another curve; errors of the backend as for Signer::Sign.
  virtual absl::StatusOr<SecretBytes> SharedSecret(const EcPublicKey& peer) const = 0;
};

class HmacKey {
 public:
  virtual ~HmacKey() = default;

  // The full-length HMAC of `data` (32 or 48 bytes). FAILED_PRECONDITION when the
  // key is bound to another hash (a TPM HMAC key is created for one); backend
  // errors as for Signer::Sign.
  virtual absl::StatusOr<std::string> Compute(HashAlgorithm algorithm,
                                              absl::string_view data) const = 0;

  virtual std::string uri() const = 0;

  // OK when `tag` is the full-length HMAC of `data`, compared in constant time.
  // INVALID_ARGUMENT for a tag of the wrong length (truncated tags are never
  // accepted); UNAUTHENTICATED when it does not match.
  absl::Status Verify(HashAlgorithm algorithm, absl::string_view data, absl::string_view tag) const;
};

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_SIGNER_H_
