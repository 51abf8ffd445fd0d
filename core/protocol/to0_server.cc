#include "core/protocol/to0_server.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/hex.h"
#include "core/base/proto_parse.h"
#include "core/base/status.h"
#include "core/crypto/constant_time.h"
#include "core/crypto/hash.h"
#include "core/crypto/signed_payload.h"
#include "core/protocol/rendezvous_format.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_verify.h"

namespace custody::protocol {
namespace {

// May an owner with chain `incoming` replace (or remove) the registration made by
// `registered`? The same owner, or a later one in the same chain, may.
absl::Status CheckOwnerPlace(absl::string_view registered, absl::string_view incoming) {
  if (absl::StartsWith(incoming, registered)) return absl::OkStatus();
  if (absl::StartsWith(registered, incoming)) {
    return CheckFailed(absl::StatusCode::kPermissionDenied, "to0.older_owner",
                       "a later owner of this voucher holds the registration");
  }
  return CheckFailed(absl::StatusCode::kPermissionDenied, "to0.owner_conflict",
                     "the registration belongs to an owner chain that forks from this voucher's");
}

}  // namespace

absl::StatusOr<v1::To0Response> To0ServerSession::Handle(const v1::To0Request& request) {
  absl::StatusOr<v1::To0Response> response;
  switch (state_) {
    case State::kDone:
    case State::kFailed:
      return CheckFailed(absl::StatusCode::kFailedPrecondition, "to0.session_over",
                         "the TO0 session has ended");
    case State::kExpectHello:
      if (!request.has_hello()) {
        response = CheckFailed(absl::StatusCode::kFailedPrecondition, "to0.unexpected_message",
                               "expected TO0.Hello");
      } else {
        response = HandleHello(request.hello());
      }
      break;
    case State::kExpectOwnerSign:
      if (!request.has_owner_sign()) {
        response = CheckFailed(absl::StatusCode::kFailedPrecondition, "to0.unexpected_message",
                               "expected TO0.OwnerSign");
      } else {
        response = HandleOwnerSign(request.owner_sign());
      }
      break;
  }
  if (!response.ok()) state_ = State::kFailed;
  return response;
}

absl::StatusOr<v1::To0Response> To0ServerSession::HandleHello(const v1::To0Hello& hello) {
  if (hello.voucher().size() > kMaxRegisteredVoucherSize) {
    return CheckFailed(
        absl::StatusCode::kResourceExhausted, "to0.voucher_size",
        absl::StrCat("a registered voucher is at most ", kMaxRegisteredVoucherSize, " bytes"));
  }
  if (hello.remove() ? hello.lifetime_seconds() != 0 : hello.lifetime_seconds() == 0) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to0.lifetime",
                       hello.remove() ? "a removal asks for no lifetime"
                                      : "a registration asks for a lifetime of 1 second or more");
  }
  CUSTODY_ASSIGN_OR_RETURN(voucher_, voucher::ParseVoucher(hello.voucher()));
  // Only the header's manufacturer key is read here, to refuse an untrusted
  // manufacturer before any signature is checked; VerifyVoucher checks it all later.
  v1::VoucherHeader header;
  absl::Status parsed =
      ParseStrict(voucher_.header(), voucher::kMaxHeaderSize, "voucher header", &header);
  if (!parsed.ok()) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "voucher.header", parsed.message());
  }
  manufacturer_key_ = header.manufacturer_key();
  manufacturer_fingerprint_ = crypto::Sha256(manufacturer_key_.spki_der());
  CUSTODY_RETURN_IF_ERROR(deps_.store->Transact([&](storage::Transaction& tx) -> absl::Status {
    absl::Status trusted = tx.trusted_keys().Get(manufacturer_fingerprint_).status();
    if (trusted.code() == absl::StatusCode::kNotFound) {
      return CheckFailed(absl::StatusCode::kPermissionDenied, "to0.untrusted_manufacturer",
                         absl::StrCat("the voucher's manufacturer key SHA256:",
                                      HexEncode(manufacturer_fingerprint_),
                                      " is not on this service's trust list"));
    }
    return trusted;
  }));
  CUSTODY_ASSIGN_OR_RETURN(nonce_, deps_.random->Bytes(kRendezvousNonceSize));
  voucher_bytes_ = hello.voucher();
  lifetime_seconds_ = hello.lifetime_seconds();
  remove_ = hello.remove();
  state_ = State::kExpectOwnerSign;
  v1::To0Response response;
  response.mutable_hello_ack()->set_nonce(nonce_);
  return response;
}

absl::StatusOr<v1::To0Response> To0ServerSession::HandleOwnerSign(
    const v1::To0OwnerSign& owner_sign) {
  v1::To0Data data;
  absl::Status parsed = ParseStrict(owner_sign.to0_data(), kMaxTo0DataSize, "To0Data", &data);
  if (!parsed.ok()) {
    return CheckFailed(parsed.code() == absl::StatusCode::kResourceExhausted
                           ? absl::StatusCode::kResourceExhausted
                           : absl::StatusCode::kInvalidArgument,
                       "to0.format", parsed.message());
  }
  if (!crypto::ConstantTimeEquals(data.nonce(), nonce_)) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to0.nonce",
                       "the To0Data does not carry this session's nonce");
  }
  if (data.voucher_hash().algorithm() != v1::HASH_ALGORITHM_SHA256 ||
      !crypto::ConstantTimeEquals(data.voucher_hash().value(), crypto::Sha256(voucher_bytes_))) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to0.voucher_hash",
                       "the To0Data's voucher hash is not the SHA-256 of the voucher sent");
  }
  if (data.lifetime_seconds() != lifetime_seconds_ || data.remove() != remove_) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to0.lifetime",
                       "the To0Data's lifetime or removal flag differs from TO0.Hello's");
  }

  // The whole voucher, from the trusted manufacturer key to its current owner.
  voucher::VerifyOptions options;
  CUSTODY_ASSIGN_OR_RETURN(options.expected_manufacturer, voucher::FromWireKey(manufacturer_key_));
  CUSTODY_ASSIGN_OR_RETURN(voucher::VerifiedVoucher verified,
                           voucher::VerifyVoucher(voucher_, options));
  const crypto::EcPublicKey& owner = verified.current_owner();

  std::string address_record;
  if (remove_) {
    absl::StatusOr<absl::string_view> signed_data =
        crypto::VerifySignedPayload(owner_sign.signature(), kTo0DataType, owner);
    if (!signed_data.ok() && signed_data.status().code() != absl::StatusCode::kUnauthenticated) {
      return CheckFailed(absl::StatusCode::kInvalidArgument, "to0.format",
                         signed_data.status().message());
    }
    if (!signed_data.ok() || *signed_data != owner_sign.to0_data()) {
      return CheckFailed(absl::StatusCode::kUnauthenticated, "to0.owner_signature",
                         "the removal is not signed by the voucher's current owner");
    }
  } else {
    absl::StatusOr<v1::AddressRecord> record =
        VerifyAddressRecord(owner_sign.signature(), owner, verified.guid(), "to0");
    if (!record.ok()) return record.status();
    if (!crypto::ConstantTimeEquals(record->to0_data_hash().value(),
                                    crypto::Sha256(owner_sign.to0_data()))) {
      return CheckFailed(absl::StatusCode::kInvalidArgument, "to0.address_record",
                         "the address record's to0_data_hash is not the SHA-256 of the To0Data");
    }
    address_record = owner_sign.signature().SerializeAsString();
  }

  const absl::Time now = deps_.clock->Now();
  const absl::Duration granted = std::min(absl::Seconds(lifetime_seconds_), deps_.max_lifetime);
  const std::string chain = OwnerChain(verified);
  const std::string owner_fingerprint = owner.Fingerprint();
  CUSTODY_RETURN_IF_ERROR(deps_.store->Transact([&](storage::Transaction& tx) -> absl::Status {
    // The trust list may have changed since Hello.
    absl::Status trusted = tx.trusted_keys().Get(manufacturer_fingerprint_).status();
    if (trusted.code() == absl::StatusCode::kNotFound) {
      return CheckFailed(absl::StatusCode::kPermissionDenied, "to0.untrusted_manufacturer",
                         "the voucher's manufacturer key was removed from the trust list");
    }
    CUSTODY_RETURN_IF_ERROR(trusted);
    absl::StatusOr<storage::RegistrationRecord> existing = tx.registrations().Get(verified.guid());
    if (!existing.ok() && existing.status().code() != absl::StatusCode::kNotFound) {
      return existing.status();
    }
    if (existing.ok()) CUSTODY_RETURN_IF_ERROR(CheckOwnerPlace(existing->owner_chain, chain));
    storage::AuditEvent event;
    event.time = now;
    event.actor = absl::StrCat("owner:SHA256:", HexEncode(owner_fingerprint));
    event.target = HexEncode(verified.guid());
    if (remove_) {
      if (!existing.ok()) {
        return CheckFailed(absl::StatusCode::kNotFound, "to0.not_registered",
                           "this voucher's device has no registration to remove");
      }
      CUSTODY_RETURN_IF_ERROR(tx.registrations().Delete(verified.guid()));
      event.action = "to0.remove";
      event.details = absl::StrCat("from ", peer_);
    } else {
      storage::RegistrationRecord record;
      record.guid = verified.guid();
      record.voucher = voucher_bytes_;
      record.device_key = verified.device_key.spki_der();
      record.owner_chain = chain;
      record.address_record = address_record;
      record.registered_at = now;
      record.expires_at = now + granted;
      CUSTODY_RETURN_IF_ERROR(tx.registrations().Put(record));
      event.action = "to0.register";
      event.details = absl::StrCat(
          "until ", absl::FormatTime(absl::RFC3339_sec, record.expires_at, absl::UTCTimeZone()),
          ", ", verified.owner_keys.size(), " entries, from ", peer_,
          existing.ok() ? ", replacing the previous registration" : "");
    }
    return tx.audit().Append(event).status();
  }));
  state_ = State::kDone;
  v1::To0Response response;
  v1::To0AcceptOwner* accept = response.mutable_accept_owner();
  if (!remove_) {
    accept->set_granted_lifetime_seconds(static_cast<uint32_t>(absl::ToInt64Seconds(granted)));
    accept->set_expires_at_unix(absl::ToUnixSeconds(now + granted));
  }
  return response;
}

MessageType To0ServerSession::RequestType(const v1::To0Request& request) const {
  if (request.has_hello()) return MessageType::kTo0Hello;
  if (request.has_owner_sign()) return MessageType::kTo0OwnerSign;
  return MessageType::kNone;
}

}  // namespace custody::protocol
