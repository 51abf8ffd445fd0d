#include "core/protocol/to2_server.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/hex.h"
#include "core/base/proto_parse.h"
#include "core/base/status.h"
#include "core/crypto/constant_time.h"
#include "core/crypto/signed_payload.h"
#include "core/crypto/x509_issue.h"
#include "core/protocol/owner_vouchers.h"
#include "core/protocol/support_declaration.h"
#include "core/voucher/voucher_build.h"
#include "core/voucher/voucher_format.h"

namespace custody::protocol {
namespace {

// The next owner key of a stored, import-verified voucher, without verifying the
// signatures again: the owner's own records are trusted, and the device verifies
// the whole voucher itself.
// Settings of the model overlaid by the device's, sorted by key.
absl::StatusOr<std::vector<v1::Setting>> MergedSettings(storage::Transaction& tx,
                                                        absl::string_view model,
                                                        absl::string_view guid) {
  std::map<std::string, std::string> merged;
  for (const std::string& scope : {ModelSettingsScope(model), DeviceSettingsScope(guid)}) {
    absl::StatusOr<std::string> stored = tx.settings().Get(scope);
    if (stored.status().code() == absl::StatusCode::kNotFound) continue;
    if (!stored.ok()) return stored.status();
    v1::GetSettingsResponse settings;
    if (!settings.ParseFromString(*stored)) {
      return absl::DataLossError(absl::StrCat("stored settings of ", scope, " do not parse"));
    }
    for (const v1::Setting& setting : settings.settings()) merged[setting.key()] = setting.value();
  }
  std::vector<v1::Setting> out;
  for (const auto& [key, value] : merged) {
    v1::Setting setting;
    setting.set_key(key);
    setting.set_value(value);
    out.push_back(std::move(setting));
  }
  return out;
}

// Printable ASCII without quotes and backslashes, so that it can be quoted in
// audit details as it is.
bool IsPlainText(absl::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

std::string ModelSettingsScope(absl::string_view model) { return absl::StrCat("model:", model); }

std::string DeviceSettingsScope(absl::string_view guid) {
  return absl::StrCat("device:", HexEncode(guid));
}

// Everything a session learns, from HelloDevice on.
struct To2ServerSession::Session {
  storage::OwnedDeviceRecord record;
  v1::OwnershipVoucher voucher;
  v1::VoucherHeader header;
  std::optional<crypto::EcPublicKey> device_key;
  std::optional<crypto::EcPublicKey> manufacturer_key;
  const crypto::Signer* owner_key = nullptr;
  SuiteParameters suite{};
  std::string hello_payload;
  std::string header_payload;
  std::string nonce_prove_device;
  std::string nonce_setup_device;
  std::optional<crypto::EcPrivateKey> ephemeral;
  std::optional<To2Channel> channel;
  uint32_t next_entry = 0;
  // Read with the device, for the enrolment.
  std::vector<v1::Setting> settings;
  std::optional<storage::SupportDeclarationRecord> stored_declaration;
  // Built along the sealed part.
  std::string replacement_guid;
  std::string replacement_header;
  v1::OwnershipVoucher replacement_voucher;
  v1::OwnedDevice enrolment;
};

To2ServerSession::To2ServerSession(const To2ServerDeps& deps) : deps_(deps) {}
To2ServerSession::~To2ServerSession() = default;

absl::StatusOr<v1::To2Response> To2ServerSession::Handle(const v1::To2Request& request) {
  absl::StatusOr<v1::To2Response> response;
  auto unexpected = [](absl::string_view expected) {
    return CheckFailed(absl::StatusCode::kFailedPrecondition, "to2.unexpected_message",
                       absl::StrCat("expected ", expected));
  };
  switch (state_) {
    case State::kDone:
    case State::kFailed:
      return CheckFailed(absl::StatusCode::kFailedPrecondition, "to2.session_over",
                         "the TO2 session has ended");
    case State::kExpectHello:
      response = request.has_hello_device() ? HandleHello(request.hello_device())
                                            : unexpected("TO2.HelloDevice");
      break;
    case State::kExpectEntryOrProof:
      if (request.has_get_ov_next_entry()) {
        response = HandleGetEntry(request.get_ov_next_entry());
      } else if (request.has_prove_device()) {
        response = session_->next_entry == static_cast<uint32_t>(session_->voucher.entries_size())
                       ? HandleProof(request.prove_device())
                       : unexpected("TO2.GetOVNextEntry (the device has not read every entry)");
      } else {
        response = unexpected("TO2.GetOVNextEntry or TO2.ProveDevice");
      }
      break;
    case State::kExpectServiceInfoReady:
    case State::kExpectServiceInfo:
    case State::kExpectDone:
      response =
          request.has_sealed() ? HandleSealed(request.sealed()) : unexpected("a sealed message");
      break;
  }
  if (!response.ok()) {
    state_ = State::kFailed;
    session_.reset();  // Drops the keys at once.
  }
  return response;
}

absl::StatusOr<v1::To2Response> To2ServerSession::HandleHello(const v1::To2HelloDevice& hello) {
  v1::To2HelloDevicePayload payload;
  absl::Status parsed = ParseStrict(hello.payload(), kMaxTo2HelloSize, "TO2.HelloDevice", &payload);
  if (!parsed.ok()) return To2Unparsed(parsed);
  if (payload.guid().value().size() != voucher::kGuidSize) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.guid",
                       absl::StrCat("a GUID is ", voucher::kGuidSize, " bytes"));
  }
  if (payload.nonce_prove_owner().size() != kTo2NonceSize) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.nonce",
                       absl::StrCat("NonceTO2ProveOV is ", kTo2NonceSize, " bytes"));
  }
  if (payload.suites().empty() || static_cast<size_t>(payload.suites_size()) > kMaxTo2Suites) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.suite",
                       absl::StrCat("the device offers 1..", kMaxTo2Suites, " suites"));
  }
  if (payload.max_message_bytes() != 0 && payload.max_message_bytes() < kMinTo2MessageSize) {
    return To2FormatError(absl::StrCat("maxDeviceMessageSize is at least ", kMinTo2MessageSize));
  }
  for (int i = 0; i < payload.suites_size(); ++i) {
    for (int j = 0; j < i; ++j) {
      if (payload.suites(i) == payload.suites(j)) {
        return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.suite",
                           "the device offers a suite twice");
      }
    }
  }
  if (deps_.keys->voucher_keys.empty() || deps_.keys->device_ca_key == nullptr ||
      deps_.keys->device_ca_chain.empty()) {
    return CheckFailed(absl::StatusCode::kFailedPrecondition, "to2.owner",
                       "the owner has no voucher key or no device CA configured");
  }
  auto session = std::make_unique<Session>();
  // The device's first suite that the owner takes (unknown values are skipped:
  // a newer device may offer suites this owner does not know).
  std::optional<v1::To2Suite> chosen;
  for (int suite : payload.suites()) {
    const auto offered = static_cast<v1::To2Suite>(suite);
    if (!ParametersOf(offered, "to2.suite").ok()) continue;
    if (std::find(deps_.policy->suites.begin(), deps_.policy->suites.end(), offered) !=
        deps_.policy->suites.end()) {
      chosen = offered;
      break;
    }
  }
  if (!chosen.has_value()) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.suite",
                       "the owner takes none of the device's suites");
  }
  CUSTODY_ASSIGN_OR_RETURN(session->suite, ParametersOf(*chosen, "to2.suite"));

  // One read: the device, its settings and the model's support declaration.
  absl::Status read = deps_.store->Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(session->record, tx.owned_devices().Get(payload.guid().value()));
    CUSTODY_ASSIGN_OR_RETURN(session->settings,
                             MergedSettings(tx, session->record.model, session->record.guid));
    absl::StatusOr<storage::SupportDeclarationRecord> declaration =
        tx.support().Current(session->record.model);
    if (declaration.ok()) {
      session->stored_declaration = *std::move(declaration);
    } else if (declaration.status().code() != absl::StatusCode::kNotFound) {
      return declaration.status();
    }
    return absl::OkStatus();
  });
  if (read.code() == absl::StatusCode::kNotFound && session->record.guid.empty()) {
    return CheckFailed(absl::StatusCode::kNotFound, "to2.unknown_guid",
                       "this owner holds no voucher for this GUID");
  }
  CUSTODY_RETURN_IF_ERROR(read);
  if (session->record.guid != payload.guid().value()) {
    return CheckFailed(absl::StatusCode::kFailedPrecondition, "to2.already_onboarded",
                       "the device is onboarded with this credential already");
  }
  CUSTODY_ASSIGN_OR_RETURN(session->voucher, voucher::ParseVoucher(session->record.voucher));
  if (!session->header.ParseFromString(session->voucher.header())) {
    return absl::DataLossError("a stored voucher's header does not parse");
  }
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPublicKey current_owner,
                           StoredCurrentOwner(session->voucher, session->header));
  for (const crypto::Signer* key : deps_.keys->voucher_keys) {
    if (crypto::SameKey(key->public_key(), current_owner)) session->owner_key = key;
  }
  if (session->owner_key == nullptr) {
    return CheckFailed(
        absl::StatusCode::kPermissionDenied, "to2.not_owner",
        absl::StrCat("the voucher's current owner (SHA256:", HexEncode(current_owner.Fingerprint()),
                     ") is not one of this owner's keys"));
  }
  CUSTODY_ASSIGN_OR_RETURN(session->manufacturer_key,
                           voucher::FromWireKey(session->header.manufacturer_key()));
  if (session->voucher.device_certificate_chain().empty()) {
    return absl::DataLossError("a stored voucher has no device certificate");
  }
  CUSTODY_ASSIGN_OR_RETURN(
      absl::string_view device_spki,
      crypto::CertificateSpkiDer(session->voucher.device_certificate_chain(0)));
  CUSTODY_ASSIGN_OR_RETURN(session->device_key, crypto::EcPublicKey::FromSpkiDer(device_spki));
  if (payload.attestation_algorithm() !=
      crypto::SignatureAlgorithmFor(session->device_key->curve())) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.attestation_algorithm",
                       "eASigInfo does not match the device key of the voucher");
  }

  CUSTODY_ASSIGN_OR_RETURN(session->ephemeral,
                           crypto::EcPrivateKey::Generate(session->suite.curve));
  CUSTODY_ASSIGN_OR_RETURN(session->nonce_prove_device, deps_.random->Bytes(kTo2NonceSize));
  session->hello_payload = hello.payload();

  v1::To2OwnerHeader header;
  header.set_voucher_header(session->voucher.header());
  header.set_entry_count(static_cast<uint32_t>(session->voucher.entries_size()));
  *header.mutable_header_hmac() = session->voucher.header_hmac();
  header.set_nonce_prove_owner(payload.nonce_prove_owner());
  *header.mutable_hello_device_hash() =
      voucher::MakeHash(session->suite.hash, session->hello_payload);
  header.set_suite(*chosen);
  header.set_owner_key_exchange(session->ephemeral->public_key().spki_der());
  header.set_nonce_prove_device(session->nonce_prove_device);
  *header.mutable_owner_key() = voucher::ToWireKey(session->owner_key->public_key());
  header.set_max_message_bytes(kMaxTo2MessageSize);
  session->header_payload = header.SerializeAsString();

  v1::To2Response response;
  v1::To2ProveOwnerHeader* prove = response.mutable_prove_owner_header();
  CUSTODY_ASSIGN_OR_RETURN(
      *prove->mutable_header(),
      crypto::SignPayload(*session->owner_key, kTo2OwnerHeaderType, session->header_payload));
  *prove->mutable_owner_key() = header.owner_key();
  guid_ = session->record.guid;
  session_ = std::move(session);
  state_ = State::kExpectEntryOrProof;
  return response;
}

absl::StatusOr<v1::To2Response> To2ServerSession::HandleGetEntry(const v1::To2GetOvNextEntry& get) {
  if (get.entry_number() != session_->next_entry ||
      get.entry_number() >= static_cast<uint32_t>(session_->voucher.entries_size())) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.entry_number",
                       absl::StrCat("expected a request for entry ", session_->next_entry, " of ",
                                    session_->voucher.entries_size()));
  }
  v1::To2Response response;
  response.mutable_ov_next_entry()->set_entry_number(get.entry_number());
  response.mutable_ov_next_entry()->set_entry(session_->voucher.entries(get.entry_number()));
  ++session_->next_entry;
  return response;
}

absl::StatusOr<v1::To2Response> To2ServerSession::HandleProof(const v1::To2ProveDevice& prove) {
  Session& s = *session_;
  absl::StatusOr<absl::string_view> payload =
      crypto::VerifySignedPayload(prove.proof(), kTo2DeviceProofType, *s.device_key);
  if (!payload.ok()) {
    if (payload.status().code() == absl::StatusCode::kUnauthenticated) {
      return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.device_signature",
                         "TO2.ProveDevice is not signed by the device key of the voucher");
    }
    return To2FormatError(payload.status().message());
  }
  v1::To2DeviceProof proof;
  absl::Status parsed = ParseStrict(*payload, kMaxTo2DeviceProofSize, "TO2 device proof", &proof);
  if (!parsed.ok()) return To2Unparsed(parsed);
  if (!crypto::ConstantTimeEquals(proof.nonce_prove_device(), s.nonce_prove_device)) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.nonce",
                       "TO2.ProveDevice does not carry this session's NonceTO2ProveDv");
  }
  if (proof.guid().value() != s.record.guid) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.guid",
                       "TO2.ProveDevice names another GUID than TO2.HelloDevice");
  }
  const std::string transcript = TranscriptHash(s.suite.hash, {s.hello_payload, s.header_payload});
  if (proof.transcript_hash().algorithm() != voucher::ToWireHash(s.suite.hash) ||
      !crypto::ConstantTimeEquals(proof.transcript_hash().value(), transcript)) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.transcript",
                       "the device saw another HelloDevice or owner header than this owner sent");
  }
  if (proof.nonce_setup_device().size() != kTo2NonceSize) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.nonce",
                       absl::StrCat("NonceTO2SetupDv is ", kTo2NonceSize, " bytes"));
  }
  absl::StatusOr<crypto::EcPublicKey> device_share =
      crypto::EcPublicKey::FromSpkiDer(proof.device_key_exchange());
  if (!device_share.ok() || device_share->curve() != s.suite.curve) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.key_exchange",
                       "xBKeyExchange is not a valid key on the suite's curve");
  }
  s.nonce_setup_device = proof.nonce_setup_device();
  CUSTODY_ASSIGN_OR_RETURN(
      s.channel, To2Channel::Establish(
                     To2Channel::Side::kOwner, s.suite, *s.ephemeral, *device_share,
                     TranscriptHash(s.suite.hash, {s.hello_payload, s.header_payload, *payload})));
  s.ephemeral.reset();

  // The replacement header: a new GUID (and rendezvous info if configured), the
  // replacement owner key in place of the manufacturer's, the rest unchanged.
  const crypto::Signer& replacement_key = *deps_.keys->voucher_keys.front();
  CUSTODY_ASSIGN_OR_RETURN(s.replacement_guid, deps_.random->Bytes(voucher::kGuidSize));
  v1::VoucherHeader replacement = s.header;
  replacement.mutable_guid()->set_value(s.replacement_guid);
  if (!deps_.policy->replacement_rendezvous_info.endpoints().empty()) {
    *replacement.mutable_rendezvous_info() = deps_.policy->replacement_rendezvous_info;
  }
  *replacement.mutable_manufacturer_key() = voucher::ToWireKey(replacement_key.public_key());
  std::vector<std::string> chain(s.voucher.device_certificate_chain().begin(),
                                 s.voucher.device_certificate_chain().end());
  *replacement.mutable_device_certificate_chain_hash() =
      voucher::DeviceChainHash(replacement_key.public_key(), chain);
  CUSTODY_ASSIGN_OR_RETURN(s.replacement_header, voucher::BuildHeaderBytes(replacement));

  v1::To2SetupDevicePayload setup;
  setup.set_replacement_header(s.replacement_header);
  setup.set_nonce_setup_device(s.nonce_setup_device);
  v1::To2OwnerMessage message;
  v1::To2SetupDevice* setup_device = message.mutable_setup_device();
  CUSTODY_ASSIGN_OR_RETURN(
      *setup_device->mutable_setup(),
      crypto::SignPayload(replacement_key, kTo2SetupDeviceType, setup.SerializeAsString()));
  *setup_device->mutable_replacement_owner_key() = voucher::ToWireKey(replacement_key.public_key());
  state_ = State::kExpectServiceInfoReady;
  return SealResponse(message);
}

absl::StatusOr<v1::To2Response> To2ServerSession::HandleSealed(const v1::To2Sealed& sealed) {
  CUSTODY_ASSIGN_OR_RETURN(std::string plaintext, session_->channel->Open(sealed.ciphertext()));
  v1::To2DeviceMessage message;
  absl::Status parsed = ParseStrict(plaintext, kMaxTo2MessageSize, "sealed TO2 message", &message);
  if (!parsed.ok()) return To2Unparsed(parsed);
  absl::StatusOr<v1::To2OwnerMessage> reply;
  auto unexpected = [](absl::string_view expected) {
    return CheckFailed(absl::StatusCode::kFailedPrecondition, "to2.unexpected_message",
                       absl::StrCat("expected ", expected));
  };
  switch (state_) {
    case State::kExpectServiceInfoReady:
      reply = message.has_service_info_ready()
                  ? HandleServiceInfoReady(message.service_info_ready())
                  : unexpected("TO2.DeviceServiceInfoReady");
      break;
    case State::kExpectServiceInfo:
      reply = message.has_service_info() ? HandleServiceInfo(message.service_info())
                                         : unexpected("TO2.DeviceServiceInfo");
      break;
    case State::kExpectDone:
      reply = message.has_done() ? HandleDone(message.done()) : unexpected("TO2.Done");
      break;
    default:
      reply = unexpected("no sealed message");
  }
  if (!reply.ok()) return reply.status();
  absl::StatusOr<v1::To2Response> response = SealResponse(*reply);
  if (state_ == State::kDone) session_.reset();  // Drops the keys at once.
  return response;
}

absl::StatusOr<v1::To2Response> To2ServerSession::SealResponse(const v1::To2OwnerMessage& message) {
  v1::To2Response response;
  CUSTODY_ASSIGN_OR_RETURN(*response.mutable_sealed()->mutable_ciphertext(),
                           session_->channel->Seal(message.SerializeAsString()));
  return response;
}

absl::StatusOr<v1::To2OwnerMessage> To2ServerSession::HandleServiceInfoReady(
    const v1::To2DeviceServiceInfoReady& ready) {
  Session& s = *session_;
  const crypto::HashAlgorithm hmac_hash = crypto::CurveHash(s.device_key->curve());
  if (ready.replacement_hmac().algorithm() != voucher::ToWireHash(hmac_hash) ||
      ready.replacement_hmac().value().size() != crypto::DigestSize(hmac_hash)) {
    return CheckFailed(
        absl::StatusCode::kInvalidArgument, "to2.replacement_hmac",
        absl::StrCat("the replacement HMAC must be HMAC-", crypto::HashName(hmac_hash),
                     ", as the device key's curve fixes"));
  }
  if (ready.max_owner_service_info_bytes() != 0 &&
      ready.max_owner_service_info_bytes() < kMinTo2MessageSize) {
    return To2FormatError(absl::StrCat("maxOwnerServiceInfoSz is at least ", kMinTo2MessageSize));
  }
  std::vector<std::string> chain(s.voucher.device_certificate_chain().begin(),
                                 s.voucher.device_certificate_chain().end());
  CUSTODY_ASSIGN_OR_RETURN(
      s.replacement_voucher,
      voucher::CreateVoucher(s.replacement_header, ready.replacement_hmac(), chain));
  state_ = State::kExpectServiceInfo;
  v1::To2OwnerMessage message;
  message.mutable_service_info_ready()->set_max_device_service_info_bytes(kMaxTo2MessageSize);
  return message;
}

absl::StatusOr<v1::To2OwnerMessage> To2ServerSession::HandleServiceInfo(
    const v1::To2DeviceServiceInfo& info) {
  Session& s = *session_;
  const v1::DeviceReport& report = info.report();
  if (!SameDeviceInfo(s.header.device_info(), report)) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.device_report",
                       "the device reports another model, serial or MUD URL than its voucher");
  }
  if (report.software_version().size() > kMaxSoftwareVersionLength ||
      !IsPlainText(report.software_version())) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.device_report",
                       absl::StrCat("a software version is at most ", kMaxSoftwareVersionLength,
                                    " bytes of printable ASCII without quotes or backslashes"));
  }
  absl::StatusOr<crypto::RequestParts> csr = crypto::ReadRequestParts(info.operational_csr());
  if (!csr.ok()) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.csr", csr.status().message());
  }
  absl::StatusOr<crypto::EcPublicKey> operational_key =
      crypto::EcPublicKey::FromSpkiDer(csr->spki_der);
  if (!operational_key.ok()) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.csr",
                       absl::StrCat("CSR key: ", operational_key.status().message()));
  }
  absl::Status possession = crypto::VerifyRequestSignature(*csr, *operational_key);
  if (!possession.ok()) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.csr_signature",
                       possession.message());
  }
  if (crypto::SameKey(*operational_key, *s.device_key)) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.csr",
                       "the operational key must not be the attestation key");
  }

  // The newest declaration that the voucher's manufacturer signed: the owner's
  // for the model, or the device's own. One that does not verify with this
  // voucher's header key (another manufacturer's model of the same name; a
  // resold device, whose header names its previous owner) is not sent: the
  // device keeps what it has. The device's declaration is never stored, so no
  // device can change what others receive.
  std::optional<v1::SignedPayload> declaration;
  std::string security_updates_until;
  uint64_t best_sequence = 0;
  auto consider = [&](const v1::SignedPayload& candidate) {
    absl::StatusOr<v1::SupportDeclaration> verified =
        VerifySupportDeclaration(candidate, *s.manufacturer_key, s.header.device_info().model());
    if (!verified.ok() || verified->sequence() <= best_sequence) return;
    best_sequence = verified->sequence();
    declaration = candidate;
    security_updates_until = verified->security_updates_until();
  };
  if (s.stored_declaration.has_value()) {
    v1::SignedPayload stored;
    if (!stored.ParseFromString(s.stored_declaration->signed_declaration)) {
      return absl::DataLossError("a stored support declaration does not parse");
    }
    consider(stored);
  }
  if (info.has_support_declaration()) consider(info.support_declaration());

  const absl::Time now = deps_.clock->Now();
  const crypto::Certificate& ca = deps_.keys->device_ca_chain.front();
  crypto::CertificateProfile profile;
  profile.subject = {voucher::FormatGuid(s.replacement_guid), deps_.policy->organization,
                     s.header.device_info().model()};
  profile.not_before = std::max(now - absl::Minutes(5), ca.NotBefore());
  profile.not_after = std::min(now + deps_.policy->operational_certificate_validity, ca.NotAfter());
  profile.usage = crypto::CertificateUsage::kClient;
  absl::StatusOr<crypto::IssuedCertificate> certificate = crypto::IssueCertificateDer(
      ca, *deps_.keys->device_ca_key, *operational_key, profile, *deps_.random);
  if (!certificate.ok()) {
    return CheckFailed(absl::StatusCode::kFailedPrecondition, "to2.owner",
                       absl::StrCat("the owner cannot issue the operational certificate (is its "
                                    "device CA valid?): ",
                                    certificate.status().message()));
  }

  v1::To2OwnerMessage message;
  v1::FleetEnrolment* enrolment = message.mutable_service_info()->mutable_enrolment();
  enrolment->set_operational_certificate(certificate->der);
  for (const crypto::Certificate& cert : deps_.keys->device_ca_chain) {
    enrolment->add_operational_ca_chain(cert.der());
  }
  enrolment->set_fleet_endpoint(deps_.policy->fleet_endpoint);
  for (const std::string& anchor : deps_.policy->trust_anchors_der) {
    enrolment->add_trust_anchors(anchor);
  }
  if (declaration.has_value()) *enrolment->mutable_support_declaration() = *declaration;
  for (const v1::Setting& setting : s.settings) *enrolment->add_settings() = setting;
  absl::Status settings_valid = ValidateSettings(enrolment->settings(), "to2.owner");
  if (!settings_valid.ok()) {
    return CheckFailed(
        absl::StatusCode::kFailedPrecondition, "to2.owner",
        absl::StrCat("the settings of the model and the device together are not valid ",
                     "(fix them with custodyctl): ", settings_valid.message()));
  }
  enrolment->set_check_in_interval_seconds(deps_.policy->check_in_interval_seconds);

  *s.enrolment.mutable_report() = report;
  s.enrolment.set_operational_certificate_serial(certificate->serial_hex);
  s.enrolment.set_operational_certificate_not_after_unix(absl::ToUnixSeconds(profile.not_after));
  s.enrolment.set_security_updates_until(security_updates_until);
  state_ = State::kExpectDone;
  return message;
}

absl::StatusOr<v1::To2OwnerMessage> To2ServerSession::HandleDone(const v1::To2Done& done) {
  Session& s = *session_;
  if (!crypto::ConstantTimeEquals(done.nonce_prove_device(), s.nonce_prove_device)) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.nonce",
                       "TO2.Done does not echo this session's NonceTO2ProveDv");
  }
  // The replacement voucher is kept before Done2 leaves: whatever happens next,
  // the owner can onboard the device with either credential.
  const absl::Time now = deps_.clock->Now();
  storage::OwnedDeviceRecord updated = s.record;
  updated.state = storage::OwnedDeviceState::kOnboarded;
  updated.updated_at = now;
  updated.onboarded_at = now;
  updated.replacement_guid = s.replacement_guid;
  updated.replacement_voucher = s.replacement_voucher.SerializeAsString();
  updated.enrolment = s.enrolment.SerializeAsString();
  // An onboarded device is not registered again: its TO0 trouble is over.
  updated.registration_failures = 0;
  updated.last_error.clear();
  storage::AuditEvent event;
  event.time = now;
  event.actor = absl::StrCat("device:", voucher::FormatGuid(s.record.guid));
  event.action = "to2.onboarded";
  event.target = voucher::FormatGuid(s.record.guid);
  event.details = absl::StrCat(
      "replacement GUID ", voucher::FormatGuid(s.replacement_guid),
      ", operational certificate serial ", s.enrolment.operational_certificate_serial(),
      ", software version \"", s.enrolment.report().software_version(), "\"");
  absl::Status committed = deps_.store->Transact([&](storage::Transaction& tx) -> absl::Status {
    absl::StatusOr<int64_t> revision = tx.owned_devices().Update(updated);
    if (revision.status().code() == absl::StatusCode::kAborted) {
      // Automatic TO0 may have renewed the registration meanwhile, which changes
      // only its schedule: the session's outcome stands, over the new revision.
      // Another session that onboarded the device changed its replacement.
      CUSTODY_ASSIGN_OR_RETURN(storage::OwnedDeviceRecord current,
                               tx.owned_devices().Get(s.record.guid));
      if (current.replacement_guid != s.record.replacement_guid ||
          current.onboarded_at != s.record.onboarded_at) {
        return CheckFailed(absl::StatusCode::kAborted, "to2.concurrent",
                           "another session onboarded the device meanwhile; start again");
      }
      updated.registered_until = current.registered_until;
      updated.next_registration_at = current.next_registration_at;
      updated.revision = current.revision;
      revision = tx.owned_devices().Update(updated);
    }
    if (revision.status().code() == absl::StatusCode::kAlreadyExists) {
      return CheckFailed(absl::StatusCode::kAborted, "to2.concurrent",
                         "the replacement GUID is taken; start again");
    }
    CUSTODY_RETURN_IF_ERROR(revision.status());
    return tx.audit().Append(event).status();
  });
  CUSTODY_RETURN_IF_ERROR(committed);
  replacement_guid_ = s.replacement_guid;
  state_ = State::kDone;
  v1::To2OwnerMessage message;
  message.mutable_done2()->set_nonce_setup_device(s.nonce_setup_device);
  return message;
}

MessageType To2ServerSession::RequestType(const v1::To2Request& request) const {
  switch (request.message_case()) {
    case v1::To2Request::kHelloDevice:
      return MessageType::kTo2HelloDevice;
    case v1::To2Request::kGetOvNextEntry:
      return MessageType::kTo2GetOvNextEntry;
    case v1::To2Request::kProveDevice:
      return MessageType::kTo2ProveDevice;
    case v1::To2Request::kSealed:
      // Sealed messages come in a fixed order; the state says which is due.
      switch (state_) {
        case State::kExpectServiceInfoReady:
          return MessageType::kTo2DeviceServiceInfoReady;
        case State::kExpectServiceInfo:
          return MessageType::kTo2DeviceServiceInfo;
        case State::kExpectDone:
          return MessageType::kTo2Done;
        default:
          return MessageType::kNone;
      }
    default:
      return MessageType::kNone;
  }
}

}  // namespace custody::protocol
