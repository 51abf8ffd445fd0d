// Fuzz target: the voucher text form (PEM armour) from untrusted text, as received
// by e-mail or upload. Reading must return a status for any input, never crash.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/voucher/voucher_text.h"
#include "core/voucher/voucher_verify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<custody::v1::OwnershipVoucher>> vouchers =
      custody::voucher::VouchersFromText(input, 16);
  if (!vouchers.ok()) return 0;
  for (const custody::v1::OwnershipVoucher& voucher : *vouchers) {
    (void)custody::voucher::VerifyVoucher(voucher, custody::voucher::VerifyOptions{});
  }
  return 0;
}
