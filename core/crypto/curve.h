// The elliptic curves Custody supports and what follows from each: the hash used
// for signatures and HMACs, and sizes. Follows FDO 1.1 crypto suites
// (SECP256R1 with SHA-256, SECP384R1 with SHA-384); no mixing across suites.

#ifndef CUSTODY_CORE_CRYPTO_CURVE_H_
#define CUSTODY_CORE_CRYPTO_CURVE_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/hash.h"

namespace custody::crypto {

enum class Curve { kP256, kP384 };

// "P-256" or "P-384".
absl::string_view CurveName(Curve curve);
// OpenSSL's group name: "prime256v1" or "secp384r1".
absl::string_view CurveGroupName(Curve curve);
// SHA-256 for P-256, SHA-384 for P-384.
HashAlgorithm CurveHash(Curve curve);
// Bytes in a field element or scalar: 32 or 48.
size_t CurveFieldSize(Curve curve);
// The longest DER ECDSA signature on this curve: 72 or 104 bytes.
size_t MaxDerSignatureSize(Curve curve);

// Parses "p256"/"P-256"/"prime256v1"/"secp256r1" and the P-384 equivalents.
// INVALID_ARGUMENT names the accepted values otherwise.
absl::StatusOr<Curve> ParseCurve(absl::string_view name);

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_CURVE_H_
