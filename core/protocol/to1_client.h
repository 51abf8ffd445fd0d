// The device's side of TO1, without transport (docs/rendezvous.md): it names its
// GUID, signs the service's nonce with its attestation key, and receives the
// owner's address record with the registered voucher.
//
// Before it trusts the record, the device checks what only it can: that the
// voucher's header is exactly the one it HMACed at DI and carries its HMAC, that
// the voucher verifies from the header's manufacturer key to a current owner
// (and is signed by the manufacturer at all), and that the address record is
// signed by that owner for its GUID. A rendezvous service can therefore not point
// the device at anyone the voucher does not name.
//
// Refusals name the check: to1.unexpected_message, to1.session_over
// (FAILED_PRECONDITION); to1.nonce (INVALID_ARGUMENT); to1.voucher_header
// (UNAUTHENTICATED: a header that is not the device's); voucher.header_hmac
// and the other voucher.* checks; to1.address_record (INVALID_ARGUMENT),
// to1.owner_signature (UNAUTHENTICATED).
//
// Not thread-safe. The key and secret must outlive the session.

#ifndef CUSTODY_CORE_PROTOCOL_TO1_CLIENT_H_
#define CUSTODY_CORE_PROTOCOL_TO1_CLIENT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/signer.h"
#include "custody/v1/rendezvous.pb.h"
#include "custody/v1/voucher.pb.h"

namespace custody::protocol {

// What the device knows from DI.
struct To1DeviceIdentity {
  std::string guid;
  std::string header_bytes;  // The voucher header exactly as HMACed.
  const crypto::Signer* attestation_key = nullptr;
  const crypto::HmacKey* hmac_secret = nullptr;
};

// What TO1 found: where to connect, and who signed it.
struct OwnerLocation {
  v1::AddressRecord record;
  v1::SignedPayload signed_record;
  v1::OwnershipVoucher voucher;
  std::optional<crypto::EcPublicKey> owner_key;  // Set once done().
};

class To1ClientSession {
 public:
  explicit To1ClientSession(To1DeviceIdentity identity) : identity_(std::move(identity)) {}
  To1ClientSession(const To1ClientSession&) = delete;
  To1ClientSession& operator=(const To1ClientSession&) = delete;

  absl::StatusOr<v1::To1Request> Start();
  absl::StatusOr<std::optional<v1::To1Request>> Handle(const v1::To1Response& response);

  bool done() const { return state_ == State::kDone; }
  // Valid once done().
  const OwnerLocation& location() const { return location_; }

 private:
  enum class State { kNew, kExpectAck, kExpectRedirect, kDone, kFailed };

  absl::StatusOr<v1::To1Request> Prove(const std::string& nonce);
  absl::Status CheckRedirect(const v1::To1RvRedirect& redirect);

  To1DeviceIdentity identity_;
  State state_ = State::kNew;
  OwnerLocation location_;
};

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_TO1_CLIENT_H_
