// ECDSA signatures: ES256 (P-256 + SHA-256) and ES384 (P-384 + SHA-384).
//
// The hash always follows the key's curve, so suites cannot be mixed. Signatures
// are DER-encoded (X9.62 Ecdsa-Sig-Value), the form X.509 and CSRs use;
// docs/decisions/0004-signature-encoding.md records why and how this maps to the
// fixed-length r||s form of COSE/FDO. Verification accepts only strict DER.

#ifndef CUSTODY_CORE_CRYPTO_ECDSA_H_
#define CUSTODY_CORE_CRYPTO_ECDSA_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/signer.h"

namespace custody::crypto {

// Signs `data` (hashed with the curve's hash): key.Sign(data).
absl::StatusOr<std::string> EcdsaSign(const Signer& key, absl::string_view data);

// The DER form of a fixed-length r || s signature (PKCS#11 CKM_ECDSA, TPM2B
// pairs): INVALID_ARGUMENT unless `raw` is 2 field sizes long.
absl::StatusOr<std::string> EcdsaRawToDer(Curve curve, absl::string_view raw);

// OK when `signature` is a valid strict-DER signature of `data` by `key`.
// INVALID_ARGUMENT when the signature is empty or longer than any signature on the
// key's curve; UNAUTHENTICATED when it does not verify (including malformed DER).
absl::Status EcdsaVerify(const EcPublicKey& key, absl::string_view data,
                         absl::string_view signature);

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_ECDSA_H_
