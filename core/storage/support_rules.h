// The support table's rules and errors, shared by every backend so that they
// answer alike (store_conformance_test).

#ifndef CUSTODY_CORE_STORAGE_SUPPORT_RULES_H_
#define CUSTODY_CORE_STORAGE_SUPPORT_RULES_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/storage/store.h"

namespace custody::storage {

// INVALID_ARGUMENT for an empty model, a sequence below 1, or a field over
// kMaxAuditFieldLength.
absl::Status ValidateSupportRecord(const SupportDeclarationRecord& record);
// ALREADY_EXISTS naming the model and sequence.
absl::Status SupportSequenceTaken(const SupportDeclarationRecord& record);
// NOT_FOUND naming the model.
absl::Status NoSupportDeclaration(absl::string_view model);

}  // namespace custody::storage

#endif  // CUSTODY_CORE_STORAGE_SUPPORT_RULES_H_
