#include "core/protocol/owner_vouchers.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_text.h"
#include "core/voucher/voucher_verify.h"

namespace custody::protocol {
namespace {

absl::Status InBatch(const absl::Status& status, size_t index, absl::string_view guid) {
  const std::string where =
      guid.empty() ? absl::StrCat("voucher ", index + 1)
                   : absl::StrCat("voucher ", index + 1, " (GUID ", voucher::FormatGuid(guid), ")");
  return AttachCheck(Annotate(status, where), FailedCheck(status));
}

}  // namespace

absl::StatusOr<crypto::EcPublicKey> StoredCurrentOwner(const v1::OwnershipVoucher& voucher,
                                                       const v1::VoucherHeader& header) {
  if (voucher.entries().empty()) return voucher::FromWireKey(header.manufacturer_key());
  v1::SignedPayload entry;
  v1::VoucherEntryPayload payload;
  if (!entry.ParseFromString(voucher.entries(voucher.entries_size() - 1)) ||
      !payload.ParseFromString(entry.payload())) {
    return absl::DataLossError("a stored voucher's last entry does not parse");
  }
  return voucher::FromWireKey(payload.next_owner_key());
}

absl::StatusOr<ImportResult> ImportVouchers(storage::Store& store,
                                            const std::vector<crypto::EcPublicKey>& owner_keys,
                                            absl::string_view text, absl::Time now,
                                            absl::string_view actor) {
  CUSTODY_ASSIGN_OR_RETURN(std::vector<v1::OwnershipVoucher> vouchers,
                           voucher::VouchersFromText(text, kMaxImportVouchers));
  // Everything is verified before the store is touched.
  std::vector<storage::OwnedDeviceRecord> records;
  std::vector<std::string> owner_fingerprints;
  for (size_t i = 0; i < vouchers.size(); ++i) {
    absl::StatusOr<voucher::VerifiedVoucher> verified =
        voucher::VerifyVoucher(vouchers[i], voucher::VerifyOptions());
    if (!verified.ok()) return InBatch(verified.status(), i, "");
    if (!verified->signed_by_manufacturer()) {
      return InBatch(CheckFailed(absl::StatusCode::kUnauthenticated, "voucher.unsigned",
                                 "the voucher has no entries, so nothing in it is signed; ask "
                                 "the seller to extend it to this owner's key"),
                     i, verified->guid());
    }
    bool addressed = false;
    for (const crypto::EcPublicKey& key : owner_keys) {
      addressed = addressed || crypto::SameKey(key, verified->current_owner());
    }
    if (!addressed) {
      return InBatch(CheckFailed(absl::StatusCode::kPermissionDenied, "owner.not_addressed",
                                 absl::StrCat("the voucher is addressed to SHA256:",
                                              HexEncode(verified->current_owner().Fingerprint()),
                                              ", which is not one of this owner's keys")),
                     i, verified->guid());
    }
    storage::OwnedDeviceRecord record;
    record.guid = verified->guid();
    record.model = verified->header.device_info().model();
    record.serial = verified->header.device_info().serial();
    record.voucher = vouchers[i].SerializeAsString();
    record.imported_at = now;
    record.updated_at = now;
    record.next_registration_at = now;
    records.push_back(std::move(record));
    owner_fingerprints.push_back(verified->current_owner().Fingerprint());
  }
  ImportResult result;
  absl::Status stored = store.Transact([&](storage::Transaction& tx) -> absl::Status {
    result = ImportResult();
    for (size_t i = 0; i < records.size(); ++i) {
      absl::StatusOr<storage::OwnedDeviceRecord> existing = tx.owned_devices().Get(records[i].guid);
      if (existing.ok()) {
        if (existing->voucher != records[i].voucher) {
          return InBatch(
              CheckFailed(absl::StatusCode::kAlreadyExists, "owner.duplicate",
                          existing->guid == records[i].guid
                              ? "another voucher for this GUID is already imported"
                              : "this GUID is the replacement GUID of an onboarded device"),
              i, records[i].guid);
        }
        result.devices.push_back(*std::move(existing));
        continue;
      }
      if (existing.status().code() != absl::StatusCode::kNotFound) return existing.status();
      CUSTODY_RETURN_IF_ERROR(tx.owned_devices().Insert(records[i]));
      storage::AuditEvent event;
      event.time = now;
      event.actor = std::string(actor);
      event.action = "owner.voucher_import";
      event.target = voucher::FormatGuid(records[i].guid);
      event.details = absl::StrCat("model \"", records[i].model, "\" serial \"", records[i].serial,
                                   "\", owner key SHA256:", HexEncode(owner_fingerprints[i]));
      CUSTODY_RETURN_IF_ERROR(tx.audit().Append(event).status());
      CUSTODY_ASSIGN_OR_RETURN(storage::OwnedDeviceRecord inserted,
                               tx.owned_devices().Get(records[i].guid));
      result.devices.push_back(std::move(inserted));
      ++result.imported;
    }
    return absl::OkStatus();
  });
  CUSTODY_RETURN_IF_ERROR(stored);
  return result;
}

}  // namespace custody::protocol
