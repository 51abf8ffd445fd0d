// The owner's side of TO0, without transport (docs/rendezvous.md). The owner
// registers where the voucher's device should reach it, or removes that
// registration. Before anything is sent, the voucher is checked to have the
// owner's key as its current owner, so a wrong key fails here with the voucher's
// own check (voucher.owner), not at the service.
//
// Start() gives TO0.Hello; Handle() takes TO0.HelloAck and gives TO0.OwnerSign,
// then takes TO0.AcceptOwner and gives nothing (done()). Refusals:
// to0.unexpected_message, to0.session_over (FAILED_PRECONDITION), to0.nonce
// (INVALID_ARGUMENT, a nonce of the wrong size).
//
// Not thread-safe. The key must outlive the session.

#ifndef CUSTODY_CORE_PROTOCOL_TO0_CLIENT_H_
#define CUSTODY_CORE_PROTOCOL_TO0_CLIENT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/crypto/signer.h"
#include "custody/v1/rendezvous.pb.h"
#include "custody/v1/voucher.pb.h"

namespace custody::protocol {

struct To0Registration {
  v1::OwnershipVoucher voucher;
  // Registering: where the device should connect, 1..8 addresses, and for how
  // long. Removing: neither.
  std::vector<v1::OwnerAddress> addresses;
  absl::Duration lifetime = absl::ZeroDuration();
  bool remove = false;
};

class To0ClientSession {
 public:
  // Checks the request: the voucher verifies with `owner_key` as its current
  // owner (voucher.* checks), the addresses (to0.address_record) and lifetime
  // (to0.lifetime: 1 s .. 2^32-1 s when registering, zero when removing).
  static absl::StatusOr<To0ClientSession> New(To0Registration request,
                                              const crypto::Signer& owner_key);

  absl::StatusOr<v1::To0Request> Start();
  absl::StatusOr<std::optional<v1::To0Request>> Handle(const v1::To0Response& response);

  bool done() const { return state_ == State::kDone; }
  // Valid once done(): what the service granted (zero after a removal).
  const v1::To0AcceptOwner& accepted() const { return accepted_; }

 private:
  enum class State { kNew, kExpectHelloAck, kExpectAccept, kDone, kFailed };

  To0ClientSession(To0Registration request, const crypto::Signer& owner_key, std::string guid)
      : request_(std::move(request)), owner_key_(&owner_key), guid_(std::move(guid)) {}

  absl::StatusOr<v1::To0Request> OwnerSign(const std::string& nonce);

  To0Registration request_;
  const crypto::Signer* owner_key_;
  std::string guid_;
  std::string voucher_bytes_;
  State state_ = State::kNew;
  v1::To0AcceptOwner accepted_;
};

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_TO0_CLIENT_H_
