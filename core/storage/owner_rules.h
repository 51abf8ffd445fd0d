// The owned-device and settings tables' rules and errors, shared by every backend
// so that they answer alike (store_conformance_test).

#ifndef CUSTODY_CORE_STORAGE_OWNER_RULES_H_
#define CUSTODY_CORE_STORAGE_OWNER_RULES_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/storage/store.h"

namespace custody::storage {

// INVALID_ARGUMENT for a GUID that is not 16 bytes, a replacement GUID that is
// neither empty nor 16 bytes, or a field over its size limit.
absl::Status ValidateOwnedDevice(const OwnedDeviceRecord& record);
absl::Status NoOwnedDevice();
absl::Status OwnedDeviceTaken();
absl::Status ReplacementGuidTaken();
absl::Status OwnedDeviceChanged(int64_t stored, int64_t expected);

// INVALID_ARGUMENT for an empty or over-long scope or an over-long value.
absl::Status ValidateSettings(absl::string_view scope, absl::string_view value);
absl::Status NoSettings(absl::string_view scope);

}  // namespace custody::storage

#endif  // CUSTODY_CORE_STORAGE_OWNER_RULES_H_
