// EcPublicKey: a validated ECDSA/ECDH public key on P-256 or P-384.
//
// Keys travel as X.509 SubjectPublicKeyInfo DER (FDO 1.1 PublicKey with pkEnc
// X509). Parsing is strict: the whole input is consumed, the curve is a named
// P-256 or P-384 curve (explicit parameters are refused), the point is uncompressed,
// on the curve and not the point at infinity, and the encoding is canonical, so a
// key has exactly one byte form and hashes of keys (voucher entries, fingerprints)
// are well defined.
//
// Parsing never runs OpenSSL's generic decoder on the accepted path: a canonical
// SPKI is a fixed per-curve prefix followed by the point, so the prefix is compared
// and the point is loaded into a copy of a per-curve template key (which checks
// that it lies on the curve). This is the check that makes keys canonical, and it
// is about 35 times faster than decoding and re-encoding (docs/performance.md).
//
// Copyable and movable; copies share the immutable OpenSSL key. Thread-safe for
// concurrent const use.

#ifndef CUSTODY_CORE_CRYPTO_EC_PUBLIC_KEY_H_
#define CUSTODY_CORE_CRYPTO_EC_PUBLIC_KEY_H_

#include <openssl/types.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/curve.h"

namespace custody::crypto {

// Upper bound on an encoded public key accepted from outside (SPKI DER of P-384
// is 120 bytes; PEM about 215).
inline constexpr size_t kMaxPublicKeyDerSize = 512;
inline constexpr size_t kMaxPublicKeyPemSize = 1024;

class EcPublicKey {
 public:
  // INVALID_ARGUMENT for anything but a canonical SPKI DER P-256/P-384 key,
  // naming the failed check; RESOURCE_EXHAUSTED when over kMaxPublicKeyDerSize.
  static absl::StatusOr<EcPublicKey> FromSpkiDer(absl::string_view der);
  // One "PUBLIC KEY" PEM block; only white space may surround it.
  static absl::StatusOr<EcPublicKey> FromSpkiPem(absl::string_view pem);
  // An uncompressed point (0x04 || X || Y) on `curve`, as hardware returns it
  // (PKCS#11 CKA_EC_POINT, a TPM's public area), validated as FromSpkiDer does.
  static absl::StatusOr<EcPublicKey> FromUncompressedPoint(Curve curve, absl::string_view point);
  // The public part of an OpenSSL key (for other core/crypto code: certificates,
  // private keys), validated as FromSpkiDer does. Does not take ownership.
  static absl::StatusOr<EcPublicKey> FromEvpPkey(const EVP_PKEY* pkey);

  Curve curve() const { return curve_; }
  // The canonical SubjectPublicKeyInfo DER.
  const std::string& spki_der() const { return *spki_der_; }
  // The point, uncompressed (0x04 || X || Y): the tail of the canonical SPKI.
  absl::string_view UncompressedPoint() const;
  std::string ToSpkiPem() const;
  // SHA-256 of the SPKI DER: the key's stable identifier (32 bytes).
  std::string Fingerprint() const;

  // The OpenSSL key, for core/crypto internals only; owned by this object.
  EVP_PKEY* evp_pkey() const { return pkey_.get(); }

 private:
  EcPublicKey(std::shared_ptr<EVP_PKEY> pkey, Curve curve, std::string spki_der);

  std::shared_ptr<EVP_PKEY> pkey_;
  Curve curve_;
  std::shared_ptr<const std::string> spki_der_;
};

// True when both keys have the same canonical encoding.
bool SameKey(const EcPublicKey& a, const EcPublicKey& b);

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_EC_PUBLIC_KEY_H_
