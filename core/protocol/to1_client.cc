#include "core/protocol/to1_client.h"

#include <utility>

#include "core/base/status.h"
#include "core/crypto/curve.h"
#include "core/crypto/signed_payload.h"
#include "core/protocol/rendezvous_format.h"
#include "core/voucher/voucher_build.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_verify.h"

namespace custody::protocol {

absl::StatusOr<v1::To1Request> To1ClientSession::Start() {
  if (state_ != State::kNew) {
    return CheckFailed(absl::StatusCode::kFailedPrecondition, "to1.session_over",
                       "the TO1 session has already started");
  }
  state_ = State::kExpectAck;
  v1::To1Request message;
  message.mutable_hello_rv()->mutable_guid()->set_value(identity_.guid);
  return message;
}

absl::StatusOr<std::optional<v1::To1Request>> To1ClientSession::Handle(
    const v1::To1Response& response) {
  switch (state_) {
    case State::kExpectAck: {
      if (!response.has_hello_rv_ack()) break;
      absl::StatusOr<v1::To1Request> prove = Prove(response.hello_rv_ack().nonce());
      if (!prove.ok()) {
        state_ = State::kFailed;
        return prove.status();
      }
      state_ = State::kExpectRedirect;
      return std::optional<v1::To1Request>(*std::move(prove));
    }
    case State::kExpectRedirect: {
      if (!response.has_rv_redirect()) break;
      absl::Status checked = CheckRedirect(response.rv_redirect());
      if (!checked.ok()) {
        state_ = State::kFailed;
        return checked;
      }
      state_ = State::kDone;
      return std::optional<v1::To1Request>();
    }
    case State::kNew:
    case State::kDone:
    case State::kFailed:
      return CheckFailed(absl::StatusCode::kFailedPrecondition, "to1.session_over",
                         "the TO1 session is not expecting a message");
  }
  state_ = State::kFailed;
  return CheckFailed(absl::StatusCode::kFailedPrecondition, "to1.unexpected_message",
                     "the rendezvous service sent a message out of order");
}

absl::StatusOr<v1::To1Request> To1ClientSession::Prove(const std::string& nonce) {
  if (nonce.size() != kRendezvousNonceSize) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to1.nonce",
                       "the rendezvous service's nonce is not 16 bytes");
  }
  v1::To1Proof proof;
  proof.set_nonce(nonce);
  proof.mutable_guid()->set_value(identity_.guid);
  v1::To1Request message;
  CUSTODY_ASSIGN_OR_RETURN(
      *message.mutable_prove_to_rv()->mutable_proof(),
      crypto::SignPayload(*identity_.attestation_key, kTo1ProofType, proof.SerializeAsString()));
  return message;
}

absl::Status To1ClientSession::CheckRedirect(const v1::To1RvRedirect& redirect) {
  CUSTODY_ASSIGN_OR_RETURN(v1::OwnershipVoucher voucher, voucher::ParseVoucher(redirect.voucher()));
  if (voucher.header() != identity_.header_bytes) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to1.voucher_header",
                       "the registered voucher's header is not this device's");
  }
  CUSTODY_RETURN_IF_ERROR(voucher::VerifyHeaderHmac(
      voucher, *identity_.hmac_secret, crypto::CurveHash(identity_.attestation_key->curve())));
  // The header is the device's own, so its manufacturer key is the one the device
  // was initialised with; the chain must start there, with a signature.
  v1::VoucherHeader header;
  if (!header.ParseFromString(identity_.header_bytes)) {
    return absl::DataLossError("the device's stored voucher header does not parse");
  }
  voucher::VerifyOptions options;
  CUSTODY_ASSIGN_OR_RETURN(options.expected_manufacturer,
                           voucher::FromWireKey(header.manufacturer_key()));
  CUSTODY_ASSIGN_OR_RETURN(voucher::VerifiedVoucher verified,
                           voucher::VerifyVoucher(voucher, options));
  CUSTODY_ASSIGN_OR_RETURN(location_.record,
                           VerifyAddressRecord(redirect.address_record(), verified.current_owner(),
                                               identity_.guid, "to1"));
  location_.signed_record = redirect.address_record();
  location_.voucher = std::move(voucher);
  location_.owner_key = verified.current_owner();
  return absl::OkStatus();
}

}  // namespace custody::protocol
