// The registration and trusted-key tables' rules and errors, shared by every
// backend so that they answer alike (store_conformance_test).

#ifndef CUSTODY_CORE_STORAGE_RENDEZVOUS_RULES_H_
#define CUSTODY_CORE_STORAGE_RENDEZVOUS_RULES_H_

#include "absl/status/status.h"
#include "core/storage/store.h"

namespace custody::storage {

// INVALID_ARGUMENT for an empty GUID, an expiry not after the registration time,
// or a field over its size limit.
absl::Status ValidateRegistration(const RegistrationRecord& record);
absl::Status NoRegistration();

// INVALID_ARGUMENT for a fingerprint that is not 32 bytes, an empty key or an
// over-long label.
absl::Status ValidateTrustedKey(const TrustedKeyRecord& record);
absl::Status TrustedKeyTaken();
absl::Status NoTrustedKey();
absl::Status TooManyTrustedKeys();

}  // namespace custody::storage

#endif  // CUSTODY_CORE_STORAGE_RENDEZVOUS_RULES_H_
