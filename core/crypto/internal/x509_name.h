// Building X509_NAME values from DistinguishedName. Internal to core/crypto.

#ifndef CUSTODY_CORE_CRYPTO_INTERNAL_X509_NAME_H_
#define CUSTODY_CORE_CRYPTO_INTERNAL_X509_NAME_H_

#include "absl/status/statusor.h"
#include "core/crypto/internal/openssl_util.h"
#include "core/crypto/x509_certificate.h"

namespace custody::crypto::internal {

// O, OU and CN from `dn` (empty fields omitted). INVALID_ARGUMENT for an empty
// common name, a field over kMaxNameFieldLength or one with control characters.
absl::StatusOr<X509NamePtr> BuildX509Name(const DistinguishedName& dn);

}  // namespace custody::crypto::internal

#endif  // CUSTODY_CORE_CRYPTO_INTERNAL_X509_NAME_H_
