// The owner's voucher import (docs/to2.md, "Importing vouchers"): every voucher is
// verified in full before anything is stored, and a batch is imported whole or
// not at all.
//
// A voucher is taken when its entries verify from the manufacturer key in its
// header (voucher.* checks; a voucher with no entries is unsigned and refused,
// voucher.unsigned) and its current owner is one of the owner's keys
// (owner.not_addressed, PERMISSION_DENIED, naming the key it is addressed to). A
// voucher imported again with the same bytes is left as it is; a different
// voucher for a GUID already held is refused (owner.duplicate, ALREADY_EXISTS).
// Each refusal names the voucher's place in the batch and its GUID.

#ifndef CUSTODY_CORE_PROTOCOL_OWNER_VOUCHERS_H_
#define CUSTODY_CORE_PROTOCOL_OWNER_VOUCHERS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/crypto/ec_public_key.h"
#include "core/storage/store.h"
#include "custody/v1/voucher.pb.h"

namespace custody::protocol {

// The most vouchers one import takes.
inline constexpr size_t kMaxImportVouchers = 100;

struct ImportResult {
  // One per voucher, in input order, as stored.
  std::vector<storage::OwnedDeviceRecord> devices;
  // How many were new.
  size_t imported = 0;
};

// Imports the vouchers in `text` (their text form) for an owner holding
// `owner_keys`. New devices are due for automatic TO0 at once, and each gets an
// "owner.voucher_import" audit event by `actor`, in the same transaction.
absl::StatusOr<ImportResult> ImportVouchers(storage::Store& store,
                                            const std::vector<crypto::EcPublicKey>& owner_keys,
                                            absl::string_view text, absl::Time now,
                                            absl::string_view actor);

// The current owner key of a voucher the owner stored after verifying it at
// import (or built at TO2): the last entry's next owner key, or the header's
// manufacturer key when it has no entries. Nothing is verified again; DATA_LOSS
// when the stored bytes do not parse.
absl::StatusOr<crypto::EcPublicKey> StoredCurrentOwner(const v1::OwnershipVoucher& voucher,
                                                       const v1::VoucherHeader& header);

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_OWNER_VOUCHERS_H_
