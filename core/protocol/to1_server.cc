#include "core/protocol/to1_server.h"

#include "absl/strings/str_cat.h"
#include "core/base/proto_parse.h"
#include "core/base/status.h"
#include "core/crypto/constant_time.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/signed_payload.h"
#include "core/protocol/rendezvous_format.h"
#include "core/voucher/voucher_format.h"

namespace custody::protocol {
namespace {

// A To1Proof is a 16-byte nonce and a 16-byte GUID with their tags.
constexpr size_t kMaxProofSize = 256;

absl::Status Expired() {
  return CheckFailed(absl::StatusCode::kNotFound, "to1.expired",
                     "the registration for this GUID has expired");
}

}  // namespace

absl::StatusOr<v1::To1Response> To1ServerSession::Handle(const v1::To1Request& request) {
  absl::StatusOr<v1::To1Response> response;
  switch (state_) {
    case State::kDone:
    case State::kFailed:
      return CheckFailed(absl::StatusCode::kFailedPrecondition, "to1.session_over",
                         "the TO1 session has ended");
    case State::kExpectHello:
      response = request.has_hello_rv()
                     ? HandleHello(request.hello_rv())
                     : CheckFailed(absl::StatusCode::kFailedPrecondition, "to1.unexpected_message",
                                   "expected TO1.HelloRV");
      break;
    case State::kExpectProof:
      response = request.has_prove_to_rv()
                     ? HandleProof(request.prove_to_rv())
                     : CheckFailed(absl::StatusCode::kFailedPrecondition, "to1.unexpected_message",
                                   "expected TO1.ProveToRV");
      break;
  }
  if (!response.ok()) state_ = State::kFailed;
  return response;
}

absl::StatusOr<v1::To1Response> To1ServerSession::HandleHello(const v1::To1HelloRv& hello) {
  if (hello.guid().value().size() != voucher::kGuidSize) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to1.guid",
                       absl::StrCat("a GUID is ", voucher::kGuidSize, " bytes"));
  }
  absl::Status read = deps_.store->Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(registration_, tx.registrations().Get(hello.guid().value()));
    return absl::OkStatus();
  });
  if (read.code() == absl::StatusCode::kNotFound) {
    return CheckFailed(absl::StatusCode::kNotFound, "to1.unknown_guid",
                       "no owner has registered this GUID");
  }
  CUSTODY_RETURN_IF_ERROR(read);
  if (registration_.expires_at <= deps_.clock->Now()) return Expired();
  CUSTODY_ASSIGN_OR_RETURN(nonce_, deps_.random->Bytes(kRendezvousNonceSize));
  state_ = State::kExpectProof;
  v1::To1Response response;
  response.mutable_hello_rv_ack()->set_nonce(nonce_);
  return response;
}

absl::StatusOr<v1::To1Response> To1ServerSession::HandleProof(const v1::To1ProveToRv& prove) {
  if (prove.proof().payload().size() > kMaxProofSize) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to1.format",
                       absl::StrCat("a TO1 proof is at most ", kMaxProofSize, " bytes"));
  }
  absl::StatusOr<crypto::EcPublicKey> device_key =
      crypto::EcPublicKey::FromSpkiDer(registration_.device_key);
  if (!device_key.ok()) {
    return absl::DataLossError("the registration's device key does not parse");
  }
  absl::StatusOr<absl::string_view> payload =
      crypto::VerifySignedPayload(prove.proof(), kTo1ProofType, *device_key);
  if (!payload.ok()) {
    if (payload.status().code() == absl::StatusCode::kUnauthenticated) {
      return CheckFailed(absl::StatusCode::kUnauthenticated, "to1.device_signature",
                         "the proof is not signed by the device key of the registered voucher");
    }
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to1.format",
                       payload.status().message());
  }
  v1::To1Proof proof;
  absl::Status parsed = ParseStrict(*payload, kMaxProofSize, "TO1 proof", &proof);
  if (!parsed.ok()) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to1.format", parsed.message());
  }
  if (!crypto::ConstantTimeEquals(proof.nonce(), nonce_)) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to1.nonce",
                       "the proof does not carry this session's nonce");
  }
  if (proof.guid().value() != registration_.guid) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to1.guid",
                       "the proof names another GUID than TO1.HelloRV");
  }
  // The registration may have expired while the device was signing.
  if (registration_.expires_at <= deps_.clock->Now()) return Expired();
  v1::To1Response response;
  v1::To1RvRedirect* redirect = response.mutable_rv_redirect();
  if (!redirect->mutable_address_record()->ParseFromString(registration_.address_record)) {
    return absl::DataLossError("the registration's address record does not parse");
  }
  redirect->set_voucher(registration_.voucher);
  state_ = State::kDone;
  return response;
}

MessageType To1ServerSession::RequestType(const v1::To1Request& request) const {
  if (request.has_hello_rv()) return MessageType::kTo1HelloRv;
  if (request.has_prove_to_rv()) return MessageType::kTo1ProveToRv;
  return MessageType::kNone;
}

}  // namespace custody::protocol
