// Making and extending ownership vouchers (docs/voucher.md, "Life of a voucher").
//
// Manufacturer (DI): BuildHeaderBytes -> the device computes ComputeHeaderHmac
// over exactly those bytes -> CreateVoucher. Every later holder: ExtendVoucher.
// Device: VerifyHeaderHmac, the one check only the device can make.
//
// All functions are thread-safe and read no clock; signing uses OpenSSL's DRBG.

#ifndef CUSTODY_CORE_VOUCHER_VOUCHER_BUILD_H_
#define CUSTODY_CORE_VOUCHER_VOUCHER_BUILD_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/hash.h"
#include "core/crypto/signer.h"
#include "core/crypto/x509_certificate.h"
#include "custody/v1/voucher.pb.h"

namespace custody::voucher {

// Validates `header` (as VerifyVoucher would) and serializes it. These bytes are
// what the device HMACs and what the voucher carries, unchanged, for ever.
absl::StatusOr<std::string> BuildHeaderBytes(const v1::VoucherHeader& header);

// The header's hash of a device certificate chain, with the hash of the
// manufacturer key's curve.
v1::Hash DeviceChainHash(const crypto::EcPublicKey& manufacturer_key,
                         const std::vector<crypto::Certificate>& chain);
// The same over the certificates' DER.
v1::Hash DeviceChainHash(const crypto::EcPublicKey& manufacturer_key,
                         const std::vector<std::string>& chain_der);

// HMAC of `header_bytes` under the device secret, with the hash of the device
// attestation key's curve (device side, during DI).
absl::StatusOr<v1::Hash> ComputeHeaderHmac(absl::string_view header_bytes,
                                           const crypto::HmacKey& device_secret,
                                           crypto::HashAlgorithm algorithm);

// Device side: OK when the voucher's header HMAC is the HMAC of its header bytes
// under `device_secret` with `algorithm`. UNAUTHENTICATED ("voucher.header_hmac")
// otherwise: the voucher was not made for this device.
absl::Status VerifyHeaderHmac(const v1::OwnershipVoucher& voucher,
                              const crypto::HmacKey& device_secret,
                              crypto::HashAlgorithm algorithm);

// A voucher with no entries (current owner: the manufacturer), after checking it as
// VerifyVoucher does. `device_chain` is leaf first.
absl::StatusOr<v1::OwnershipVoucher> CreateVoucher(
    std::string header_bytes, v1::Hash header_hmac,
    const std::vector<crypto::Certificate>& device_chain);
// The same over the certificates' DER.
absl::StatusOr<v1::OwnershipVoucher> CreateVoucher(
    std::string header_bytes, v1::Hash header_hmac,
    const std::vector<std::string>& device_chain_der);

struct ExtendOptions {
  // Free bytes for the signer (OVEExtra), at most kMaxExtraSize.
  std::string extra;
  // Signing entry 0 vouches for the header. With no entries the header is unsigned
  // (voucher.unsigned), so the manufacturer must only sign a voucher from its own
  // records, and says so here.
  bool trust_unsigned_header = false;
};

// Appends an entry that hands the voucher from its current owner to `next_owner`.
// The voucher is verified first; PERMISSION_DENIED ("voucher.owner") when
// `current_owner` is not its current owner; UNAUTHENTICATED ("voucher.unsigned")
// for a voucher with no entries unless options.trust_unsigned_header;
// RESOURCE_EXHAUSTED when it already has kMaxEntries entries or `extra` is over
// kMaxExtraSize. The input is not changed.
absl::StatusOr<v1::OwnershipVoucher> ExtendVoucher(const v1::OwnershipVoucher& voucher,
                                                   const crypto::Signer& current_owner,
                                                   const crypto::EcPublicKey& next_owner,
                                                   const ExtendOptions& options = {});

}  // namespace custody::voucher

#endif  // CUSTODY_CORE_VOUCHER_VOUCHER_BUILD_H_
