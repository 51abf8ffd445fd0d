// Fuzz target: a serialized ownership voucher from untrusted bytes (an imported
// voucher, a TO0 request). Parsing and full verification must return a status for
// any input, never crash; a voucher that verifies must survive the text form.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_text.h"
#include "core/voucher/voucher_verify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<custody::v1::OwnershipVoucher> voucher = custody::voucher::ParseVoucher(input);
  if (!voucher.ok()) return 0;
  absl::StatusOr<custody::voucher::VerifiedVoucher> verified =
      custody::voucher::VerifyVoucher(*voucher, custody::voucher::VerifyOptions{});
  if (verified.ok()) {
    absl::StatusOr<custody::v1::OwnershipVoucher> again =
        custody::voucher::VoucherFromText(custody::voucher::VoucherToText(*voucher));
    if (!again.ok() || !custody::voucher::VerifyVoucher(*again, {}).ok()) std::abort();
  }
  return 0;
}
