// The rendezvous service's side of TO1 (a device asks where its owner is),
// without transport. Follows FDO TO1.HelloRV (30) -> TO1.HelloRVAck (31) ->
// TO1.ProveToRV (32) -> TO1.RVRedirect (33); docs/rendezvous.md specifies it.
//
// HelloRV names the GUID; the registration must exist and not have expired. The
// device then signs {nonce, GUID} with its attestation key, which is checked
// against the device key of the registered voucher (kept with the registration,
// so TO1 parses no voucher). RVRedirect returns the owner-signed address record
// and the registered voucher. TO1 reads the store once and writes nothing.
//
// Refusals name the check: to1.unexpected_message, to1.session_over
// (FAILED_PRECONDITION); to1.format, to1.guid (INVALID_ARGUMENT);
// to1.unknown_guid, to1.expired (NOT_FOUND); to1.device_signature, to1.nonce
// (UNAUTHENTICATED).
//
// Not thread-safe: one session per stream. The dependencies must outlive it.

#ifndef CUSTODY_CORE_PROTOCOL_TO1_SERVER_H_
#define CUSTODY_CORE_PROTOCOL_TO1_SERVER_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/protocol/message_type.h"
#include "core/storage/store.h"
#include "custody/v1/rendezvous.pb.h"

namespace custody::protocol {

struct To1ServerDeps {
  storage::Store* store = nullptr;
  Clock* clock = nullptr;
  SecureRandom* random = nullptr;
};

class To1ServerSession {
 public:
  explicit To1ServerSession(const To1ServerDeps& deps) : deps_(deps) {}
  To1ServerSession(const To1ServerSession&) = delete;
  To1ServerSession& operator=(const To1ServerSession&) = delete;

  absl::StatusOr<v1::To1Response> Handle(const v1::To1Request& request);

  bool done() const { return state_ == State::kDone; }
  // The kind of `request` in this session's state (a sealed TO2 message is
  // known only by the state it arrives in).
  MessageType RequestType(const v1::To1Request& request) const;

 private:
  enum class State { kExpectHello, kExpectProof, kDone, kFailed };

  absl::StatusOr<v1::To1Response> HandleHello(const v1::To1HelloRv& hello);
  absl::StatusOr<v1::To1Response> HandleProof(const v1::To1ProveToRv& prove);

  To1ServerDeps deps_;
  State state_ = State::kExpectHello;
  storage::RegistrationRecord registration_;
  std::string nonce_;
};

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_TO1_SERVER_H_
