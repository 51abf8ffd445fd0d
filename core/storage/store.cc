#include "core/storage/store.h"

#include "absl/strings/str_cat.h"

namespace custody::storage {

absl::string_view VoucherStateName(VoucherState state) {
  switch (state) {
    case VoucherState::kManufactured:
      return "manufactured";
    case VoucherState::kTransferred:
      return "transferred";
  }
  return "unknown";
}

absl::StatusOr<VoucherState> ParseVoucherState(absl::string_view name) {
  for (VoucherState state : {VoucherState::kManufactured, VoucherState::kTransferred}) {
    if (VoucherStateName(state) == name) return state;
  }
  return absl::DataLossError(absl::StrCat("unknown voucher state \"", name, "\" in the store"));
}

absl::string_view OwnedDeviceStateName(OwnedDeviceState state) {
  switch (state) {
    case OwnedDeviceState::kImported:
      return "imported";
    case OwnedDeviceState::kRegistered:
      return "registered";
    case OwnedDeviceState::kOnboarded:
      return "onboarded";
  }
  return "unknown";
}

absl::StatusOr<OwnedDeviceState> ParseOwnedDeviceState(absl::string_view name) {
  for (OwnedDeviceState state :
       {OwnedDeviceState::kImported, OwnedDeviceState::kRegistered, OwnedDeviceState::kOnboarded}) {
    if (OwnedDeviceStateName(state) == name) return state;
  }
  return absl::DataLossError(absl::StrCat("unknown device state \"", name, "\" in the store"));
}

}  // namespace custody::storage
