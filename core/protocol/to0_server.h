// The rendezvous service's side of TO0 (an owner registers where its device should
// reach it), without transport. Follows FDO TO0.Hello (20) -> TO0.HelloAck (21) ->
// TO0.OwnerSign (22) -> TO0.AcceptOwner (23); docs/rendezvous.md specifies it.
//
// Hello carries the voucher and the lifetime asked for. The manufacturer key in its
// header must be on the trust list (deny by default) before a nonce is spent.
// OwnerSign carries the To0Data bytes (voucher hash, nonce, lifetime) and the
// owner's signature: over an AddressRecord that binds the To0Data's hash
// (register), or over the To0Data itself (remove). The session verifies, in this
// order: the To0Data, the nonce, the voucher hash, the whole voucher from the
// trusted manufacturer key, the owner's signature with the voucher's current
// owner key; then, in one transaction, the owner's place against any registration
// of the GUID, the write, and its audit event.
//
// A registration of a GUID that is registered already is accepted from the same
// current owner (it replaces the old one) or from a later owner in the chain; an
// earlier owner is refused (to0.older_owner), and so is a chain that forks from
// the registered one (to0.owner_conflict). Removing follows the same rule.
//
// Refusals name the check: to0.unexpected_message, to0.session_over
// (FAILED_PRECONDITION); to0.format, to0.lifetime, to0.voucher_hash,
// to0.address_record (INVALID_ARGUMENT); to0.voucher_size (RESOURCE_EXHAUSTED);
// to0.untrusted_manufacturer, to0.older_owner, to0.owner_conflict
// (PERMISSION_DENIED); to0.nonce, to0.owner_signature (UNAUTHENTICATED);
// to0.not_registered (NOT_FOUND); and the voucher.* checks of VerifyVoucher.
// Nothing is written unless the registration is accepted.
//
// Not thread-safe: one session per stream. The dependencies must outlive it.

#ifndef CUSTODY_CORE_PROTOCOL_TO0_SERVER_H_
#define CUSTODY_CORE_PROTOCOL_TO0_SERVER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/protocol/message_type.h"
#include "core/storage/store.h"
#include "custody/v1/rendezvous.pb.h"
#include "custody/v1/voucher.pb.h"

namespace custody::protocol {

struct To0ServerDeps {
  storage::Store* store = nullptr;
  Clock* clock = nullptr;
  SecureRandom* random = nullptr;
  // The longest registration granted; a longer request is capped to it.
  absl::Duration max_lifetime = absl::Hours(24 * 7);
};

class To0ServerSession {
 public:
  // `peer` names the caller in audit events (its address).
  To0ServerSession(const To0ServerDeps& deps, std::string peer)
      : deps_(deps), peer_(std::move(peer)) {}
  To0ServerSession(const To0ServerSession&) = delete;
  To0ServerSession& operator=(const To0ServerSession&) = delete;

  absl::StatusOr<v1::To0Response> Handle(const v1::To0Request& request);

  bool done() const { return state_ == State::kDone; }
  // The kind of `request` in this session's state (a sealed TO2 message is
  // known only by the state it arrives in).
  MessageType RequestType(const v1::To0Request& request) const;

 private:
  enum class State { kExpectHello, kExpectOwnerSign, kDone, kFailed };

  absl::StatusOr<v1::To0Response> HandleHello(const v1::To0Hello& hello);
  absl::StatusOr<v1::To0Response> HandleOwnerSign(const v1::To0OwnerSign& owner_sign);

  To0ServerDeps deps_;
  std::string peer_;
  State state_ = State::kExpectHello;
  std::string voucher_bytes_;
  v1::OwnershipVoucher voucher_;
  v1::PublicKey manufacturer_key_;  // As the header names it.
  std::string manufacturer_fingerprint_;
  uint32_t lifetime_seconds_ = 0;
  bool remove_ = false;
  std::string nonce_;
};

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_TO0_SERVER_H_
