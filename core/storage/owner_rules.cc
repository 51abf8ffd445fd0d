#include "core/storage/owner_rules.h"

#include "absl/strings/str_cat.h"

namespace custody::storage {
namespace {

constexpr size_t kGuidSize = 16;
// A voucher is at most a few tens of KiB (core/voucher limits).
constexpr size_t kMaxOwnedDeviceBlob = 1024 * 1024;

}  // namespace

absl::Status ValidateOwnedDevice(const OwnedDeviceRecord& record) {
  if (record.guid.size() != kGuidSize) {
    return absl::InvalidArgumentError("an owned device's GUID is 16 bytes");
  }
  if (!record.replacement_guid.empty() && record.replacement_guid.size() != kGuidSize) {
    return absl::InvalidArgumentError("a replacement GUID is 16 bytes");
  }
  if (record.model.size() > kMaxAuditFieldLength || record.serial.size() > kMaxAuditFieldLength ||
      record.last_error.size() > kMaxAuditFieldLength ||
      record.voucher.size() > kMaxOwnedDeviceBlob ||
      record.replacement_voucher.size() > kMaxOwnedDeviceBlob ||
      record.enrolment.size() > kMaxOwnedDeviceBlob) {
    return absl::InvalidArgumentError("owned device record is over the size limit");
  }
  return absl::OkStatus();
}

absl::Status NoOwnedDevice() { return absl::NotFoundError("no device with this GUID"); }

absl::Status OwnedDeviceTaken() {
  return absl::AlreadyExistsError("a device with this GUID is already stored");
}

absl::Status ReplacementGuidTaken() {
  return absl::AlreadyExistsError("this replacement GUID is already taken");
}

absl::Status OwnedDeviceChanged(int64_t stored, int64_t expected) {
  return absl::AbortedError(absl::StrCat("device changed concurrently (revision ", stored,
                                         ", expected ", expected, "); re-read and retry"));
}

absl::Status ValidateSettings(absl::string_view scope, absl::string_view value) {
  if (scope.empty() || scope.size() > kMaxScopeLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("a settings scope is 1..", kMaxScopeLength, " bytes"));
  }
  if (value.size() > kMaxSettingsValueSize) {
    return absl::InvalidArgumentError("settings are over the size limit");
  }
  return absl::OkStatus();
}

absl::Status NoSettings(absl::string_view scope) {
  return absl::NotFoundError(absl::StrCat("no settings for ", scope));
}

}  // namespace custody::storage
