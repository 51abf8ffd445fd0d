// Assembling a signed X.509 structure (Certificate, CertificationRequest) from its
// to-be-signed DER and a signature made by a Signer, so that a key OpenSSL cannot
// hold (a PKCS#11 token, a TPM) can sign certificates and requests:
//
//   SEQUENCE { tbs, AlgorithmIdentifier { ecdsa-with-SHA256|384 }, BIT STRING sig }
//
// The algorithm identifier has no parameters (RFC 5758 §3.2).

#ifndef CUSTODY_CORE_CRYPTO_INTERNAL_SIGNED_DER_H_
#define CUSTODY_CORE_CRYPTO_INTERNAL_SIGNED_DER_H_

#include <openssl/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/signer.h"

namespace custody::crypto::internal {

// The NID of the signature algorithm `signer` signs with (ecdsa-with-SHA256/384).
int SignatureNid(const Signer& signer);

// Sets the signature algorithm inside a certificate's TBSCertificate (which must
// equal the outer one) to the signer's.
absl::Status SetCertificateSignatureAlgorithm(X509* cert, const Signer& signer);

// Signs `tbs` with `signer` and returns the whole signed structure's DER.
absl::StatusOr<std::string> SignDer(absl::string_view tbs, const Signer& signer);

}  // namespace custody::crypto::internal

#endif  // CUSTODY_CORE_CRYPTO_INTERNAL_SIGNED_DER_H_
