#include "core/protocol/di_server.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/crypto/constant_time.h"
#include "core/crypto/x509_issue.h"
#include "core/voucher/voucher_build.h"
#include "core/voucher/voucher_format.h"

namespace custody::protocol {
namespace {

absl::Status Fail(absl::StatusCode code, absl::string_view check, absl::string_view detail) {
  return CheckFailed(code, check, detail);
}

// Storage failures reach the device without internals (paths, SQL messages); the
// manufacturer's operators see the detail in the service log.
absl::Status StoreUnavailable(const absl::Status& status) {
  return Fail(absl::StatusCode::kUnavailable, "di.store",
              "the manufacturer could not record the device; retry later");
}

absl::string_view MessageName(const v1::DiRequest& request) {
  switch (request.message_case()) {
    case v1::DiRequest::kAppStart:
      return "DI.AppStart";
    case v1::DiRequest::kSetHmac:
      return "DI.SetHMAC";
    default:
      return "an empty message";
  }
}

}  // namespace

absl::StatusOr<v1::DiResponse> DiServerSession::Handle(const v1::DiRequest& request) {
  if (state_ == State::kDone || state_ == State::kFailed) {
    return Fail(absl::StatusCode::kFailedPrecondition, "di.session_over",
                absl::StrCat("the DI session is over; got ", MessageName(request)));
  }
  const bool expected = (state_ == State::kExpectAppStart && request.has_app_start()) ||
                        (state_ == State::kExpectHmac && request.has_set_hmac());
  absl::StatusOr<v1::DiResponse> response;
  if (!expected) {
    response = Fail(
        absl::StatusCode::kFailedPrecondition, "di.unexpected_message",
        absl::StrCat("expected ", state_ == State::kExpectAppStart ? "DI.AppStart" : "DI.SetHMAC",
                     ", got ", MessageName(request)));
  } else if (request.has_app_start()) {
    response = HandleAppStart(request.app_start());
  } else {
    response = HandleSetHmac(request.set_hmac());
  }
  if (!response.ok()) state_ = State::kFailed;
  return response;
}

storage::AuditEvent DiServerSession::DeviceEvent(absl::string_view action,
                                                 absl::string_view details) const {
  storage::AuditEvent event;
  event.time = deps_.clock->Now();
  event.actor = absl::StrCat("device:", device_info_.model(), "/", device_info_.serial());
  event.action = std::string(action);
  event.target = HexEncode(guid_);
  event.details = std::string(details);
  return event;
}

absl::Status DiServerSession::Audit(absl::string_view action, absl::string_view details) {
  const storage::AuditEvent event = DeviceEvent(action, details);
  absl::Status stored = deps_.store->Transact(
      [&](storage::Transaction& tx) { return tx.audit().Append(event).status(); });
  return stored.ok() ? stored : StoreUnavailable(stored);
}

absl::StatusOr<v1::DiResponse> DiServerSession::HandleAppStart(const v1::DiAppStart& app_start) {
  if (deps_.keys->device_ca_chain.empty()) {
    return Fail(absl::StatusCode::kInternal, "di.manufacturer", "no device CA is configured");
  }
  const v1::DeviceInfo& info = app_start.device_info();
  // The voucher header's rules, checked before any work is done for the device.
  absl::Status info_valid = voucher::ValidateDeviceInfo(info);
  if (!info_valid.ok()) {
    return Fail(info_valid.code(), "di.device_info",
                absl::StrCat("DI.AppStart device info: ", info_valid.message()));
  }
  absl::StatusOr<ModelProfile> profile = deps_.models->Lookup(info.model());
  if (!profile.ok()) return Fail(profile.status().code(), "di.model", profile.status().message());

  // The CSR by a bounded DER walk (no OpenSSL decoder on the hot path).
  absl::StatusOr<crypto::RequestParts> csr = crypto::ReadRequestParts(app_start.csr());
  if (!csr.ok()) return Fail(csr.status().code(), "di.csr", csr.status().message());
  absl::StatusOr<crypto::EcPublicKey> device_key = crypto::EcPublicKey::FromSpkiDer(csr->spki_der);
  if (!device_key.ok()) {
    return Fail(device_key.status().code(), "di.device_key",
                absl::StrCat("CSR key: ", device_key.status().message()));
  }
  absl::Status possession = crypto::VerifyRequestSignature(*csr, *device_key);
  if (!possession.ok()) {
    return Fail(possession.code(), "di.csr_signature", possession.message());
  }
  // The CSR must name the device it claims to be: a CSR seen elsewhere cannot be
  // reused for another serial.
  const crypto::DistinguishedName& subject = csr->subject;
  if (subject.common_name != info.serial() || subject.organizational_unit != info.model()) {
    return Fail(absl::StatusCode::kInvalidArgument, "di.csr",
                "the CSR's subject (CN, OU) is not the device's serial and model");
  }
  device_info_ = info;

  // The device certificate: the manufacturer decides every field; the CSR gives
  // only the key. Made before the store is consulted, so that one write
  // transaction covers the serial check, the declaration read and the audit event;
  // when the serial turns out to be taken, the certificate is dropped unsent.
  const absl::Time now = deps_.clock->Now();
  const crypto::Certificate& ca = deps_.keys->device_ca_chain.front();
  crypto::CertificateProfile certificate;
  certificate.subject = {info.serial(), ca.Subject().organization, info.model()};
  certificate.not_before = std::max(now - absl::Hours(1), ca.NotBefore());
  certificate.not_after = std::min(now + profile->device_certificate_validity, ca.NotAfter());
  certificate.usage = crypto::CertificateUsage::kDeviceAttestation;
  absl::StatusOr<crypto::IssuedCertificate> device_certificate = crypto::IssueCertificateDer(
      ca, *deps_.keys->device_ca_key, *device_key, certificate, *deps_.random);
  if (!device_certificate.ok()) {
    return Fail(absl::StatusCode::kFailedPrecondition, "di.manufacturer",
                absl::StrCat("the manufacturer cannot issue the device certificate (is the "
                             "device CA valid?): ",
                             device_certificate.status().message()));
  }
  std::vector<std::string> chain = {device_certificate->der};
  for (const crypto::Certificate& cert : deps_.keys->device_ca_chain) chain.push_back(cert.der());

  CUSTODY_ASSIGN_OR_RETURN(std::string guid, deps_.random->Bytes(voucher::kGuidSize));
  v1::VoucherHeader header;
  header.set_protocol_version(voucher::kVoucherProtocolVersion);
  header.mutable_guid()->set_value(guid);
  *header.mutable_rendezvous_info() = profile->rendezvous_info;
  *header.mutable_device_info() = info;
  *header.mutable_manufacturer_key() = voucher::ToWireKey(deps_.keys->voucher_key->public_key());
  *header.mutable_device_certificate_chain_hash() =
      voucher::DeviceChainHash(deps_.keys->voucher_key->public_key(), chain);
  CUSTODY_ASSIGN_OR_RETURN(std::string header_bytes, voucher::BuildHeaderBytes(header));

  // One transaction: a serial already initialised is resumed (same device) or
  // refused; otherwise the certificate is recorded before it leaves, so that an
  // abandoned session still shows.
  guid_ = guid;
  const storage::AuditEvent issued = DeviceEvent(
      "di.certificate_issued", absl::StrCat("serial number ", device_certificate->serial_hex,
                                            ", key SHA256:", HexEncode(device_key->Fingerprint())));
  std::optional<storage::VoucherRecord> existing;
  std::optional<v1::SignedPayload> declaration;
  absl::Status stored = deps_.store->Transact([&](storage::Transaction& tx) -> absl::Status {
    existing.reset();
    declaration.reset();
    absl::StatusOr<storage::SupportDeclarationRecord> current = tx.support().Current(info.model());
    if (current.ok()) {
      v1::SignedPayload signed_declaration;
      if (!signed_declaration.ParseFromString(current->signed_declaration)) {
        return absl::DataLossError("a stored support declaration does not parse");
      }
      declaration = std::move(signed_declaration);
    } else if (current.status().code() != absl::StatusCode::kNotFound) {
      return current.status();
    }
    absl::StatusOr<storage::VoucherRecord> record =
        tx.vouchers().GetBySerial(info.model(), info.serial());
    if (record.ok()) {
      existing = *std::move(record);
      return absl::OkStatus();
    }
    if (record.status().code() != absl::StatusCode::kNotFound) return record.status();
    return tx.audit().Append(issued).status();
  });
  if (!stored.ok()) {
    guid_.clear();
    return StoreUnavailable(stored);
  }
  if (existing.has_value()) return Resume(app_start, *device_key, *existing, declaration);

  v1::DiResponse response;
  v1::DiSetCredentials* credentials = response.mutable_set_credentials();
  credentials->set_header(header_bytes);
  for (const std::string& der : chain) credentials->add_device_certificate_chain(der);
  if (declaration.has_value()) *credentials->mutable_support_declaration() = *declaration;
  header_bytes_ = std::move(header_bytes);
  chain_ = std::move(chain);
  state_ = State::kExpectHmac;
  return response;
}

absl::StatusOr<v1::DiResponse> DiServerSession::Resume(
    const v1::DiAppStart& app_start, const crypto::EcPublicKey& device_key,
    const storage::VoucherRecord& stored, const std::optional<v1::SignedPayload>& declaration) {
  absl::StatusOr<v1::OwnershipVoucher> voucher = voucher::ParseVoucher(stored.voucher);
  absl::StatusOr<absl::string_view> spki =
      voucher.ok() && voucher->device_certificate_chain_size() > 0
          ? crypto::CertificateSpkiDer(voucher->device_certificate_chain(0))
          : absl::StatusOr<absl::string_view>(absl::DataLossError("stored voucher unreadable"));
  if (!spki.ok() || *spki != device_key.spki_der()) {
    return Fail(absl::StatusCode::kAlreadyExists, "di.serial",
                "a device with this model and serial was already initialised");
  }
  // The same device, whose DI.Done was lost: give it the same credentials again.
  guid_ = stored.guid;
  header_bytes_ = voucher->header();
  stored_hmac_ = voucher->header_hmac();
  v1::DiResponse response;
  v1::DiSetCredentials* credentials = response.mutable_set_credentials();
  credentials->set_header(voucher->header());
  *credentials->mutable_device_certificate_chain() = voucher->device_certificate_chain();
  if (declaration.has_value()) *credentials->mutable_support_declaration() = *declaration;
  state_ = State::kExpectHmac;
  return response;
}

absl::StatusOr<v1::DiResponse> DiServerSession::HandleSetHmac(const v1::DiSetHmac& set_hmac) {
  if (stored_hmac_.has_value()) {
    // Resuming: the device must prove the HMAC already stored.
    if (set_hmac.header_hmac().algorithm() != stored_hmac_->algorithm() ||
        !crypto::ConstantTimeEquals(set_hmac.header_hmac().value(), stored_hmac_->value())) {
      return Fail(absl::StatusCode::kUnauthenticated, "di.serial",
                  "the resumed device's HMAC differs from the stored voucher's");
    }
    CUSTODY_RETURN_IF_ERROR(Audit("di.resumed", "DI.Done sent again for the stored voucher"));
    state_ = State::kDone;
    v1::DiResponse response;
    response.mutable_done();
    return response;
  }
  // CreateVoucher checks the HMAC's algorithm and length against the device key.
  CUSTODY_ASSIGN_OR_RETURN(v1::OwnershipVoucher voucher,
                           voucher::CreateVoucher(header_bytes_, set_hmac.header_hmac(), chain_));
  const absl::Time now = deps_.clock->Now();
  storage::VoucherRecord record;
  record.guid = guid_;
  record.model = device_info_.model();
  record.serial = device_info_.serial();
  record.voucher = voucher.SerializeAsString();
  record.state = storage::VoucherState::kManufactured;
  record.created_at = now;
  record.updated_at = now;
  const storage::AuditEvent event = DeviceEvent("di.complete", "voucher created");
  absl::Status stored = deps_.store->Transact([&](storage::Transaction& tx) -> absl::Status {
    absl::Status inserted = tx.vouchers().Insert(record);
    if (!inserted.ok()) {
      if (inserted.code() != absl::StatusCode::kAlreadyExists) return inserted;
      return absl::StrContains(inserted.message(), "GUID")
                 ? Fail(absl::StatusCode::kAlreadyExists, "di.guid",
                        "the assigned GUID is already taken; start DI again")
                 : Fail(absl::StatusCode::kAlreadyExists, "di.serial",
                        "a device with this model and serial was already initialised");
    }
    return tx.audit().Append(event).status();
  });
  if (!stored.ok()) {
    return stored.code() == absl::StatusCode::kAlreadyExists ? stored : StoreUnavailable(stored);
  }
  state_ = State::kDone;
  v1::DiResponse response;
  response.mutable_done();
  return response;
}

MessageType DiServerSession::RequestType(const v1::DiRequest& request) const {
  if (request.has_app_start()) return MessageType::kDiAppStart;
  if (request.has_set_hmac()) return MessageType::kDiSetHmac;
  return MessageType::kNone;
}

}  // namespace custody::protocol
