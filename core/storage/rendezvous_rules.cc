#include "core/storage/rendezvous_rules.h"

#include "absl/strings/str_cat.h"

namespace custody::storage {
namespace {

// A voucher is at most a few tens of KiB (core/voucher limits); a registration
// row is refused well above that.
constexpr size_t kMaxRegistrationBlob = 1024 * 1024;

}  // namespace

absl::Status ValidateRegistration(const RegistrationRecord& record) {
  if (record.guid.empty()) return absl::InvalidArgumentError("registration has no GUID");
  if (record.expires_at <= record.registered_at) {
    return absl::InvalidArgumentError("registration expires before it was made");
  }
  if (record.guid.size() > kMaxAuditFieldLength || record.voucher.size() > kMaxRegistrationBlob ||
      record.device_key.size() > kMaxAuditFieldLength ||
      record.owner_chain.size() > kMaxRegistrationBlob ||
      record.address_record.size() > kMaxRegistrationBlob) {
    return absl::InvalidArgumentError("registration record is over the size limit");
  }
  return absl::OkStatus();
}

absl::Status NoRegistration() { return absl::NotFoundError("no registration for this GUID"); }

absl::Status ValidateTrustedKey(const TrustedKeyRecord& record) {
  if (record.fingerprint.size() != 32) {
    return absl::InvalidArgumentError("a trusted key's fingerprint is 32 bytes (SHA-256)");
  }
  if (record.spki_der.empty()) return absl::InvalidArgumentError("trusted key has no key");
  if (record.spki_der.size() > kMaxAuditFieldLength || record.label.size() > kMaxAuditFieldLength) {
    return absl::InvalidArgumentError("trusted key record is over the size limit");
  }
  return absl::OkStatus();
}

absl::Status TrustedKeyTaken() {
  return absl::AlreadyExistsError("this manufacturer key is already trusted");
}

absl::Status NoTrustedKey() { return absl::NotFoundError("this manufacturer key is not trusted"); }

absl::Status TooManyTrustedKeys() {
  return absl::ResourceExhaustedError(
      absl::StrCat("the trust list is full (", kMaxTrustedKeys, " keys)"));
}

}  // namespace custody::storage
