#include "core/storage/support_rules.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace custody::storage {

absl::Status ValidateSupportRecord(const SupportDeclarationRecord& record) {
  if (record.model.empty()) return absl::InvalidArgumentError("support declaration has no model");
  if (record.sequence < 1) {
    return absl::InvalidArgumentError("support declaration sequence must be 1 or more");
  }
  if (record.model.size() > kMaxAuditFieldLength ||
      record.security_updates_until.size() > kMaxAuditFieldLength ||
      record.signed_declaration.size() > 4 * kMaxAuditFieldLength) {
    return absl::InvalidArgumentError("support declaration record is over the size limit");
  }
  return absl::OkStatus();
}

absl::Status SupportSequenceTaken(const SupportDeclarationRecord& record) {
  return absl::AlreadyExistsError(absl::StrCat("model \"", absl::CHexEscape(record.model),
                                               "\" already has support declaration ",
                                               record.sequence));
}

absl::Status NoSupportDeclaration(absl::string_view model) {
  return absl::NotFoundError(
      absl::StrCat("model \"", absl::CHexEscape(model), "\" has no support declaration"));
}

}  // namespace custody::storage
