// Verifying an ownership voucher (docs/voucher.md, "Verification").
//
// VerifyVoucher runs every check, in this order, and stops at the first failure,
// whose status names the check (FailedCheck(status) returns it):
//
//   voucher.format             counts within limits                   RESOURCE_EXHAUSTED
//   voucher.protocol_version   supported format version               INVALID_ARGUMENT
//   voucher.header             header parses (size: RESOURCE_EXHAUSTED) INVALID_ARGUMENT
//   voucher.manufacturer_key   the manufacturer key is valid          INVALID_ARGUMENT
//   voucher.header             the chain hash uses the key's hash     INVALID_ARGUMENT
//   voucher.device_chain       present; the leaf's subject key is a valid EC key;
//                              with trusted roots, every certificate parses and the
//                              leaf key agrees                        INVALID_ARGUMENT
//   voucher.header_hmac        HMAC algorithm follows the device key  INVALID_ARGUMENT
//   voucher.device_chain_hash  the chain matches the header's hash    UNAUTHENTICATED
//   voucher.device_chain_trust chain verifies to a trusted root       UNAUTHENTICATED
//   voucher.manufacturer       the manufacturer key is the expected one PERMISSION_DENIED
//   voucher.entry              an entry parses, types and sizes right INVALID_ARGUMENT
//   voucher.entry_signature    signed by the previous key             UNAUTHENTICATED
//   voucher.entry_previous_hash hash of the previous entry (or header) UNAUTHENTICATED
//   voucher.entry_header_info  hash of GUID and device info           UNAUTHENTICATED
//   voucher.entry_owner_key    the next owner key is valid            INVALID_ARGUMENT
//   voucher.owner              the current owner is the expected one  PERMISSION_DENIED
//   voucher.unsigned           no entries, yet an expected owner or manufacturer was
//                              named (and allow_unsigned is false)   UNAUTHENTICATED
//
// A voucher with no entries carries no signature: its header names the
// manufacturer's public key, which anyone can copy, and only the device can check
// the HMAC that binds it. Such a voucher is only self-consistent; it is attributed
// to a manufacturer (or owner) only when the caller made it or took it from its own
// records, which it says with allow_unsigned.
//
// Without trusted roots the device certificates are bound by the signed chain hash
// but are not parsed beyond the leaf's subject key (a full X.509 parse costs more
// than an ECDSA verify in OpenSSL 3.0); with roots they are parsed and verified.
// The header HMAC itself can only be checked by the device (VerifyHeaderHmac).
// Pure function: no clock, no randomness, thread-safe.

#ifndef CUSTODY_CORE_VOUCHER_VOUCHER_VERIFY_H_
#define CUSTODY_CORE_VOUCHER_VOUCHER_VERIFY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/x509_certificate.h"
#include "custody/v1/voucher.pb.h"

namespace custody::voucher {

struct VerifyOptions {
  // When set, the current owner (last entry's key; the manufacturer key for a
  // voucher with no entries) must be this key.
  std::optional<crypto::EcPublicKey> expected_owner;
  // When set, the header's manufacturer key must be this key.
  std::optional<crypto::EcPublicKey> expected_manufacturer;
  // When not empty, the device certificate chain must verify to one of these
  // roots at `now`.
  std::vector<crypto::Certificate> trusted_roots;
  absl::Time now = absl::InfinitePast();
  // Accept a voucher with no entries although expected_owner or
  // expected_manufacturer is set: only for a voucher from the caller's own records
  // (the manufacturer's database), never for one received from elsewhere.
  bool allow_unsigned = false;
};

// What a verified voucher says. Everything here comes from checked bytes.
struct VerifiedVoucher {
  v1::VoucherHeader header;
  crypto::EcPublicKey manufacturer_key;
  // The subject key of the device certificate (the device attestation key).
  crypto::EcPublicKey device_key;
  // next_owner_key of each entry, in order.
  std::vector<crypto::EcPublicKey> owner_keys;

  const std::string& guid() const { return header.guid().value(); }
  // True when at least one entry exists: entry 0 is the manufacturer's signature
  // over the header. False means nothing in the voucher is signed.
  bool signed_by_manufacturer() const { return !owner_keys.empty(); }
  // The key that may extend the voucher now.
  const crypto::EcPublicKey& current_owner() const {
    return owner_keys.empty() ? manufacturer_key : owner_keys.back();
  }
};

absl::StatusOr<VerifiedVoucher> VerifyVoucher(const v1::OwnershipVoucher& voucher,
                                              const VerifyOptions& options);

}  // namespace custody::voucher

#endif  // CUSTODY_CORE_VOUCHER_VOUCHER_VERIFY_H_
