// What TO0 and TO1 share (docs/rendezvous.md): limits, the payload types, and the
// address record that an owner signs and a device checks.

#ifndef CUSTODY_CORE_PROTOCOL_RENDEZVOUS_FORMAT_H_
#define CUSTODY_CORE_PROTOCOL_RENDEZVOUS_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/ec_public_key.h"
#include "core/voucher/voucher_verify.h"
#include "custody/v1/common.pb.h"
#include "custody/v1/rendezvous.pb.h"

namespace custody::protocol {

inline constexpr char kAddressRecordType[] = "custody.v1.AddressRecord";
inline constexpr char kTo0DataType[] = "custody.v1.To0Data";
inline constexpr char kTo1ProofType[] = "custody.v1.To1Proof";

// Nonces of TO0 and TO1: random, single-use, this many bytes.
inline constexpr size_t kRendezvousNonceSize = 16;
// The largest voucher TO0 takes (64 entries of a few hundred bytes and a device
// chain fit well inside).
inline constexpr size_t kMaxRegisteredVoucherSize = 48 * 1024;
// The largest TO0 or TO1 message; a To0Hello is the voucher and a few bytes.
inline constexpr size_t kMaxRendezvousMessageSize = kMaxRegisteredVoucherSize + 1024;
// The largest TO1 message: a GUID, or a signed proof of a 16-byte nonce and GUID.
inline constexpr size_t kMaxTo1MessageSize = 1024;
inline constexpr size_t kMaxOwnerAddresses = 8;
// The largest signed address record and To0Data.
inline constexpr size_t kMaxAddressRecordSize = 4 * 1024;
inline constexpr size_t kMaxTo0DataSize = 256;

// An owner address reached by gRPC over TLS (the one transport there is).
v1::OwnerAddress GrpcTlsAddress(absl::string_view host, uint32_t port);

// Parses "HOST:PORT" or "[IPV6]:PORT" into a gRPC-over-TLS address;
// INVALID_ARGUMENT naming `what` (the flag or field it came from).
absl::StatusOr<v1::OwnerAddress> ParseOwnerAddress(absl::string_view text, absl::string_view what);

// The gRPC target of a host and port ("[host]:port" for an IPv6 literal).
std::string GrpcTarget(absl::string_view host, uint32_t port);

// INVALID_ARGUMENT (check `check`) unless every address has a host of 1..253
// bytes of printable ASCII without spaces, a port of 1..65535 and a known
// transport, and there are 1..kMaxOwnerAddresses of them.
absl::Status ValidateOwnerAddresses(
    const google::protobuf::RepeatedPtrField<v1::OwnerAddress>& addresses, absl::string_view check);

// The SHA-256 fingerprints of a verified voucher's owner keys, entry 0 first,
// concatenated: a registration's place in the chain of owners.
std::string OwnerChain(const voucher::VerifiedVoucher& verified);

// Checks a signed address record: its type, its signature by `owner_key`, that it
// parses strictly within limits, that its GUID is `guid`, that its addresses are
// valid and that it carries a SHA-256 to0_data_hash. Returns the record. Checks
// named `<prefix>.address_record` (INVALID_ARGUMENT) and
// `<prefix>.owner_signature` (UNAUTHENTICATED).
absl::StatusOr<v1::AddressRecord> VerifyAddressRecord(const v1::SignedPayload& signed_record,
                                                      const crypto::EcPublicKey& owner_key,
                                                      absl::string_view guid,
                                                      absl::string_view prefix);

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_RENDEZVOUS_FORMAT_H_
