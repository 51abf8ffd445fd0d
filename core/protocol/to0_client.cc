#include "core/protocol/to0_client.h"

#include <cstdint>
#include <limits>
#include <utility>

#include "core/base/status.h"
#include "core/crypto/hash.h"
#include "core/crypto/signed_payload.h"
#include "core/protocol/rendezvous_format.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_verify.h"

namespace custody::protocol {

absl::StatusOr<To0ClientSession> To0ClientSession::New(To0Registration request,
                                                       const crypto::Signer& owner_key) {
  voucher::VerifyOptions options;
  options.expected_owner = owner_key.public_key();
  CUSTODY_ASSIGN_OR_RETURN(voucher::VerifiedVoucher verified,
                           voucher::VerifyVoucher(request.voucher, options));
  if (request.remove) {
    if (request.lifetime != absl::ZeroDuration() || !request.addresses.empty()) {
      return CheckFailed(absl::StatusCode::kInvalidArgument, "to0.lifetime",
                         "a removal has no addresses and no lifetime");
    }
  } else {
    if (request.lifetime < absl::Seconds(1) ||
        request.lifetime > absl::Seconds(std::numeric_limits<uint32_t>::max())) {
      return CheckFailed(absl::StatusCode::kInvalidArgument, "to0.lifetime",
                         "the lifetime must be 1 second to 136 years");
    }
    google::protobuf::RepeatedPtrField<v1::OwnerAddress> addresses(request.addresses.begin(),
                                                                   request.addresses.end());
    CUSTODY_RETURN_IF_ERROR(ValidateOwnerAddresses(addresses, "to0.address_record"));
  }
  std::string guid = verified.guid();
  To0ClientSession session(std::move(request), owner_key, std::move(guid));
  session.voucher_bytes_ = session.request_.voucher.SerializeAsString();
  if (session.voucher_bytes_.size() > kMaxRegisteredVoucherSize) {
    return CheckFailed(absl::StatusCode::kResourceExhausted, "to0.voucher_size",
                       "the voucher is larger than a rendezvous service accepts");
  }
  return session;
}

absl::StatusOr<v1::To0Request> To0ClientSession::Start() {
  if (state_ != State::kNew) {
    return CheckFailed(absl::StatusCode::kFailedPrecondition, "to0.session_over",
                       "the TO0 session has already started");
  }
  state_ = State::kExpectHelloAck;
  v1::To0Request message;
  v1::To0Hello* hello = message.mutable_hello();
  hello->set_voucher(voucher_bytes_);
  hello->set_lifetime_seconds(static_cast<uint32_t>(absl::ToInt64Seconds(request_.lifetime)));
  hello->set_remove(request_.remove);
  return message;
}

absl::StatusOr<std::optional<v1::To0Request>> To0ClientSession::Handle(
    const v1::To0Response& response) {
  switch (state_) {
    case State::kExpectHelloAck: {
      if (!response.has_hello_ack()) break;
      absl::StatusOr<v1::To0Request> sign = OwnerSign(response.hello_ack().nonce());
      if (!sign.ok()) {
        state_ = State::kFailed;
        return sign.status();
      }
      state_ = State::kExpectAccept;
      return std::optional<v1::To0Request>(*std::move(sign));
    }
    case State::kExpectAccept:
      if (!response.has_accept_owner()) break;
      accepted_ = response.accept_owner();
      state_ = State::kDone;
      return std::optional<v1::To0Request>();
    case State::kNew:
    case State::kDone:
    case State::kFailed:
      return CheckFailed(absl::StatusCode::kFailedPrecondition, "to0.session_over",
                         "the TO0 session is not expecting a message");
  }
  state_ = State::kFailed;
  return CheckFailed(absl::StatusCode::kFailedPrecondition, "to0.unexpected_message",
                     "the rendezvous service sent a message out of order");
}

absl::StatusOr<v1::To0Request> To0ClientSession::OwnerSign(const std::string& nonce) {
  if (nonce.size() != kRendezvousNonceSize) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to0.nonce",
                       "the rendezvous service's nonce is not 16 bytes");
  }
  v1::To0Data data;
  data.mutable_voucher_hash()->set_algorithm(v1::HASH_ALGORITHM_SHA256);
  data.mutable_voucher_hash()->set_value(crypto::Sha256(voucher_bytes_));
  data.set_nonce(nonce);
  data.set_lifetime_seconds(static_cast<uint32_t>(absl::ToInt64Seconds(request_.lifetime)));
  data.set_remove(request_.remove);
  const std::string data_bytes = data.SerializeAsString();

  v1::To0Request message;
  v1::To0OwnerSign* sign = message.mutable_owner_sign();
  sign->set_to0_data(data_bytes);
  if (request_.remove) {
    CUSTODY_ASSIGN_OR_RETURN(*sign->mutable_signature(),
                             crypto::SignPayload(*owner_key_, kTo0DataType, data_bytes));
  } else {
    v1::AddressRecord record;
    record.mutable_guid()->set_value(guid_);
    for (const v1::OwnerAddress& address : request_.addresses) *record.add_addresses() = address;
    record.mutable_to0_data_hash()->set_algorithm(v1::HASH_ALGORITHM_SHA256);
    record.mutable_to0_data_hash()->set_value(crypto::Sha256(data_bytes));
    CUSTODY_ASSIGN_OR_RETURN(
        *sign->mutable_signature(),
        crypto::SignPayload(*owner_key_, kAddressRecordType, record.SerializeAsString()));
  }
  return message;
}

}  // namespace custody::protocol
