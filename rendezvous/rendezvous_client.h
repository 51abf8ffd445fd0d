// The rendezvous service as its clients reach it over gRPC: an owner registers
// (TO0) or removes its registration, and a device finds its owner (TO1). The
// sessions are core/protocol's; this runs them over one stream each, with a
// deadline for the whole exchange.
//
// Errors keep the check name of whichever side refused (FailedCheck): a refusal by
// the service (to0.untrusted_manufacturer, to1.unknown_guid, ...) or by the
// client's own checks of the service's reply (to1.owner_signature, ...).

#ifndef CUSTODY_RENDEZVOUS_RENDEZVOUS_CLIENT_H_
#define CUSTODY_RENDEZVOUS_RENDEZVOUS_CLIENT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/crypto/signer.h"
#include "core/protocol/to0_client.h"
#include "core/protocol/to1_client.h"
#include "custody/v1/rendezvous.pb.h"
#include "grpcpp/channel.h"

namespace custody::rendezvous {

inline constexpr absl::Duration kDefaultExchangeDeadline = absl::Seconds(30);

// Registers `registration` (or removes it, when registration.remove) with the
// owner key. The request is checked locally first (To0ClientSession::New), so a
// wrong key fails before anything is sent. Returns what the service granted.
absl::StatusOr<v1::To0AcceptOwner> RegisterOwner(
    const std::shared_ptr<grpc::Channel>& channel, protocol::To0Registration registration,
    const crypto::Signer& owner_key, absl::Duration deadline = kDefaultExchangeDeadline);

// Runs TO1 for the device; returns the owner's location only after the device
// has verified the voucher and the owner's signature (To1ClientSession).
absl::StatusOr<protocol::OwnerLocation> FindOwner(
    const std::shared_ptr<grpc::Channel>& channel, const protocol::To1DeviceIdentity& identity,
    absl::Duration deadline = kDefaultExchangeDeadline);

}  // namespace custody::rendezvous

#endif  // CUSTODY_RENDEZVOUS_RENDEZVOUS_CLIENT_H_
