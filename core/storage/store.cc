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

}  // namespace custody::storage
