#include "core/voucher/voucher_text.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/base64.h"
#include "core/base/status.h"
#include "core/voucher/voucher_format.h"

namespace custody::voucher {
namespace {

// Splits off the next line (without its '\n'); `rest` moves past it.
absl::string_view NextLine(absl::string_view& rest) {
  const size_t newline = rest.find('\n');
  absl::string_view line = rest.substr(0, newline);
  rest = newline == absl::string_view::npos ? absl::string_view() : rest.substr(newline + 1);
  return line;
}

absl::Status BlockError(size_t block, absl::string_view detail,
                        absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  return CheckFailed(code, "voucher.text", absl::StrCat("voucher block ", block, ": ", detail));
}

// Reads up to `max_count` blocks; with `exactly_one`, a second block is an
// INVALID_ARGUMENT instead of a limit.
absl::StatusOr<std::vector<v1::OwnershipVoucher>> ReadBlocks(absl::string_view text,
                                                             size_t max_count, bool exactly_one) {
  if (text.size() > kMaxVoucherTextSize) {
    return CheckFailed(
        absl::StatusCode::kResourceExhausted, "voucher.text",
        absl::StrCat("text of ", text.size(), " bytes exceeds the limit of ", kMaxVoucherTextSize));
  }
  std::vector<v1::OwnershipVoucher> vouchers;
  absl::string_view rest = text;
  while (!rest.empty()) {
    if (absl::StripAsciiWhitespace(NextLine(rest)) != kVoucherPemBegin) continue;
    const size_t block = vouchers.size() + 1;
    if (vouchers.size() == max_count) {
      if (exactly_one) {
        return CheckFailed(absl::StatusCode::kInvalidArgument, "voucher.text",
                           "expected one voucher block, found several");
      }
      return CheckFailed(absl::StatusCode::kResourceExhausted, "voucher.text",
                         absl::StrCat("more than ", max_count, " voucher blocks"));
    }
    // The body: base64 lines up to the END line.
    std::string body;
    bool ended = false;
    while (!rest.empty()) {
      const absl::string_view line = absl::StripAsciiWhitespace(NextLine(rest));
      if (line == kVoucherPemEnd) {
        ended = true;
        break;
      }
      if (line == kVoucherPemBegin) return BlockError(block, "BEGIN line inside the block");
      body.append(line.data(), line.size());
    }
    if (!ended) return BlockError(block, "no END line");
    absl::StatusOr<std::string> bytes = Base64Decode(body, kMaxVoucherSize);
    if (!bytes.ok()) return BlockError(block, bytes.status().message(), bytes.status().code());
    absl::StatusOr<v1::OwnershipVoucher> voucher = ParseVoucher(*bytes);
    if (!voucher.ok()) {
      return BlockError(block, voucher.status().message(), voucher.status().code());
    }
    vouchers.push_back(*std::move(voucher));
  }
  if (vouchers.empty()) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "voucher.text",
                       absl::StrCat("no \"", kVoucherPemBegin, "\" block found"));
  }
  return vouchers;
}

}  // namespace

std::string VoucherToText(const v1::OwnershipVoucher& voucher) {
  return absl::StrCat(kVoucherPemBegin, "\n", Base64Encode(voucher.SerializeAsString(), 64),
                      kVoucherPemEnd, "\n");
}

absl::StatusOr<std::vector<v1::OwnershipVoucher>> VouchersFromText(absl::string_view text,
                                                                   size_t max_count) {
  return ReadBlocks(text, max_count, /*exactly_one=*/false);
}

absl::StatusOr<v1::OwnershipVoucher> VoucherFromText(absl::string_view text) {
  CUSTODY_ASSIGN_OR_RETURN(std::vector<v1::OwnershipVoucher> vouchers,
                           ReadBlocks(text, 1, /*exactly_one=*/true));
  return std::move(vouchers[0]);
}

}  // namespace custody::voucher
