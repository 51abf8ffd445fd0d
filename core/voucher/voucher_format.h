// The ownership voucher's format rules: limits, the byte encodings that are hashed,
// and structural validation of the header. docs/voucher.md is the specification.

#ifndef CUSTODY_CORE_VOUCHER_VOUCHER_FORMAT_H_
#define CUSTODY_CORE_VOUCHER_VOUCHER_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/hash.h"
#include "custody/v1/common.pb.h"
#include "custody/v1/voucher.pb.h"

namespace custody::voucher {

// The voucher format version (OVProtVer / OVHProtVer; FDO 1.1 uses 101).
inline constexpr uint32_t kVoucherProtocolVersion = 1;
// The payload type of a signed voucher entry.
inline constexpr absl::string_view kEntryPayloadType = "custody.v1.VoucherEntryPayload";

// Limits (docs/voucher.md, "Limits").
inline constexpr size_t kMaxVoucherSize = 256 * 1024;
inline constexpr size_t kMaxHeaderSize = 8 * 1024;
inline constexpr size_t kMaxEntries = 64;
inline constexpr size_t kMaxEntrySize = 4 * 1024;
inline constexpr size_t kMaxExtraSize = 1024;
inline constexpr size_t kMaxDeviceChainLength = 8;
inline constexpr size_t kMaxRendezvousEndpoints = 16;
inline constexpr size_t kMaxHostLength = 253;
inline constexpr uint32_t kMaxRendezvousDelaySeconds = 24 * 60 * 60;
inline constexpr size_t kMaxModelLength = 64;
inline constexpr size_t kMaxSerialLength = 64;
inline constexpr size_t kMaxMudUrlLength = 255;
inline constexpr size_t kGuidSize = 16;

// Conversions between the wire and crypto hash algorithms. UNSPECIFIED is refused.
absl::StatusOr<crypto::HashAlgorithm> FromWireHash(v1::HashAlgorithm algorithm);
v1::HashAlgorithm ToWireHash(crypto::HashAlgorithm algorithm);
// A wire Hash of `data` with `algorithm`.
v1::Hash MakeHash(crypto::HashAlgorithm algorithm, absl::string_view data);
// The wire PublicKey of `key`.
v1::PublicKey ToWireKey(const crypto::EcPublicKey& key);
// Parses a wire PublicKey; INVALID_ARGUMENT when the key is malformed or its
// `curve` field disagrees with the key.
absl::StatusOr<crypto::EcPublicKey> FromWireKey(const v1::PublicKey& key);

// GUID || u16be(len) model || u16be(len) serial || u16be(len) mud_url: the bytes
// an entry's header_info_hash covers (FDO OVEHashHdrInfo over GUID || DeviceInfo).
std::string HeaderInfoBytes(absl::string_view guid, const v1::DeviceInfo& device_info);

// For each certificate: u32be(len) || DER. The bytes the header's
// device_certificate_chain_hash covers.
std::string DeviceChainBytes(const google::protobuf::RepeatedPtrField<std::string>& chain);

// header bytes || HMAC value: what entry 0's previous_entry_hash covers.
std::string FirstEntryPredecessorBytes(const v1::OwnershipVoucher& voucher);

// The device-info rules (model, serial, MUD URL), as ValidateHeader applies them
// ("voucher.header").
absl::Status ValidateDeviceInfo(const v1::DeviceInfo& info);

// Checks every field of a parsed header against the rules and limits, and parses
// its manufacturer key. Failures name the check ("voucher.protocol_version",
// "voucher.header", "voucher.manufacturer_key").
// INVALID_ARGUMENT ("voucher.header") unless the rendezvous info has 1..16
// endpoints, each with a host, a port, gRPC over TLS, a delay within bounds and at
// most one of device_only and owner_only.
absl::Status ValidateRendezvousInfo(const v1::RendezvousInfo& info);

absl::StatusOr<crypto::EcPublicKey> ValidateHeader(const v1::VoucherHeader& header);

// A GUID as text: 8-4-4-4-12 lower-case hex (other lengths: plain hex).
std::string FormatGuid(absl::string_view guid);
// Reads FormatGuid's form, with or without dashes. INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> ParseGuid(absl::string_view text);

// Parses a serialized voucher: bounded, no unknown fields, counts within limits.
// Failures name the check "voucher.format".
absl::StatusOr<v1::OwnershipVoucher> ParseVoucher(absl::string_view bytes);

}  // namespace custody::voucher

#endif  // CUSTODY_CORE_VOUCHER_VOUCHER_FORMAT_H_
