// The ownership voucher's text form: PEM armour around the serialized voucher, so
// that vouchers travel by e-mail, USB stick or API.
//
//   -----BEGIN CUSTODY OWNERSHIP VOUCHER-----
//   <base64 of the serialized OwnershipVoucher, 64 characters a line>
//   -----END CUSTODY OWNERSHIP VOUCHER-----
//
// Reading tolerates text around and between blocks (an e-mail body, other PEM
// blocks) and reads every voucher block in order. A block that is malformed
// (no END line, bad base64, a voucher that does not parse) is an error naming the
// block, never skipped. Reading checks structure only; use VerifyVoucher to check
// the voucher itself.

#ifndef CUSTODY_CORE_VOUCHER_VOUCHER_TEXT_H_
#define CUSTODY_CORE_VOUCHER_VOUCHER_TEXT_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "custody/v1/voucher.pb.h"

namespace custody::voucher {

inline constexpr absl::string_view kVoucherPemBegin = "-----BEGIN CUSTODY OWNERSHIP VOUCHER-----";
inline constexpr absl::string_view kVoucherPemEnd = "-----END CUSTODY OWNERSHIP VOUCHER-----";
// The largest text accepted in one read (a file of many vouchers).
inline constexpr size_t kMaxVoucherTextSize = 64 * 1024 * 1024;

std::string VoucherToText(const v1::OwnershipVoucher& voucher);

// Every voucher block in `text`, in order. INVALID_ARGUMENT when there is none or
// one is malformed ("voucher block N: ..."); RESOURCE_EXHAUSTED over
// kMaxVoucherTextSize, more than `max_count` blocks, or a block over a voucher
// limit.
absl::StatusOr<std::vector<v1::OwnershipVoucher>> VouchersFromText(absl::string_view text,
                                                                   size_t max_count);

// Exactly one voucher block (INVALID_ARGUMENT when there are several).
absl::StatusOr<v1::OwnershipVoucher> VoucherFromText(absl::string_view text);

}  // namespace custody::voucher

#endif  // CUSTODY_CORE_VOUCHER_VOUCHER_TEXT_H_
