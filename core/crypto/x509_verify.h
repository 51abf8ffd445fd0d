// Verifying an X.509 chain against trusted roots at a given time.

#ifndef CUSTODY_CORE_CRYPTO_X509_VERIFY_H_
#define CUSTODY_CORE_CRYPTO_X509_VERIFY_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/crypto/x509_certificate.h"

namespace custody::crypto {

// The most intermediates a chain may carry.
inline constexpr size_t kMaxChainIntermediates = 8;

// OK when `leaf` chains through `intermediates` (any order) to one of
// `trusted_roots` (self-signed), every certificate valid at `at`, under RFC 5280
// strict checking. The time is a parameter: nothing here reads a clock.
// INVALID_ARGUMENT when no root is given; RESOURCE_EXHAUSTED for more than
// kMaxChainIntermediates; UNAUTHENTICATED when the chain does not verify, with
// OpenSSL's reason and the depth of the failing certificate (0 = leaf).
absl::Status VerifyCertificateChain(const Certificate& leaf,
                                    absl::Span<const Certificate> intermediates,
                                    absl::Span<const Certificate> trusted_roots, absl::Time at);

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_X509_VERIFY_H_
