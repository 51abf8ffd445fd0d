#include "core/protocol/to2_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/proto_parse.h"
#include "core/base/status.h"
#include "core/crypto/constant_time.h"
#include "core/crypto/curve.h"
#include "core/crypto/hmac.h"
#include "core/crypto/signed_payload.h"
#include "core/crypto/x509_certificate.h"
#include "core/crypto/x509_verify.h"
#include "core/protocol/support_declaration.h"
#include "core/voucher/voucher_build.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_verify.h"

namespace custody::protocol {

struct To2ClientSession::Session {
  v1::VoucherHeader own_header;
  std::string nonce_prove_owner;
  std::string hello_payload;
  std::string header_payload;
  v1::To2OwnerHeader owner_header;
  std::optional<crypto::EcPublicKey> owner_key;
  std::optional<crypto::EcPublicKey> owner_share;
  SuiteParameters suite{};
  std::vector<std::string> entries;
  std::string nonce_setup_device;
  std::optional<To2Channel> channel;
  std::string replacement_guid;
};

To2ClientSession::To2ClientSession(To2DeviceInputs inputs) : inputs_(std::move(inputs)) {}
To2ClientSession::~To2ClientSession() = default;

absl::StatusOr<v1::To2Request> To2ClientSession::Start() {
  if (state_ != State::kNew) {
    return CheckFailed(absl::StatusCode::kFailedPrecondition, "to2.session_over",
                       "the TO2 session has already started");
  }
  state_ = State::kFailed;
  auto session = std::make_unique<Session>();
  if (!session->own_header.ParseFromString(inputs_.header_bytes)) {
    return absl::DataLossError("the device's stored voucher header does not parse");
  }
  const crypto::Curve curve = inputs_.attestation_key->curve();
  if (inputs_.suites.empty()) inputs_.suites = DefaultSuites(curve);
  CUSTODY_ASSIGN_OR_RETURN(session->nonce_prove_owner, inputs_.random->Bytes(kTo2NonceSize));
  v1::To2HelloDevicePayload hello;
  hello.mutable_guid()->set_value(inputs_.guid);
  hello.set_nonce_prove_owner(session->nonce_prove_owner);
  for (v1::To2Suite suite : inputs_.suites) hello.add_suites(suite);
  hello.set_attestation_algorithm(crypto::SignatureAlgorithmFor(curve));
  hello.set_max_message_bytes(kMaxTo2MessageSize);
  session->hello_payload = hello.SerializeAsString();
  v1::To2Request request;
  request.mutable_hello_device()->set_payload(session->hello_payload);
  session_ = std::move(session);
  state_ = State::kExpectHeader;
  return request;
}

absl::StatusOr<std::optional<v1::To2Request>> To2ClientSession::Handle(
    const v1::To2Response& response) {
  absl::StatusOr<std::optional<v1::To2Request>> next =
      CheckFailed(absl::StatusCode::kFailedPrecondition, "to2.unexpected_message",
                  "the owner sent a message out of order");
  auto wrap =
      [](absl::StatusOr<v1::To2Request> request) -> absl::StatusOr<std::optional<v1::To2Request>> {
    if (!request.ok()) return request.status();
    return std::optional<v1::To2Request>(*std::move(request));
  };
  switch (state_) {
    case State::kNew:
    case State::kDone:
    case State::kFailed:
      return CheckFailed(absl::StatusCode::kFailedPrecondition, "to2.session_over",
                         "the TO2 session is not expecting a message");
    case State::kExpectHeader:
      if (response.has_prove_owner_header())
        next = wrap(HandleHeader(response.prove_owner_header()));
      break;
    case State::kExpectEntry:
      if (response.has_ov_next_entry()) next = wrap(HandleEntry(response.ov_next_entry()));
      break;
    case State::kExpectSetup:
    case State::kExpectServiceInfoReady:
    case State::kExpectServiceInfo:
    case State::kExpectDone2:
      if (response.has_sealed()) next = HandleSealed(response.sealed());
      break;
  }
  if (!next.ok()) {
    state_ = State::kFailed;
    session_.reset();
  }
  return next;
}

absl::StatusOr<v1::To2Request> To2ClientSession::HandleHeader(
    const v1::To2ProveOwnerHeader& prove) {
  Session& s = *session_;
  absl::StatusOr<crypto::EcPublicKey> owner_key = voucher::FromWireKey(prove.owner_key());
  if (!owner_key.ok()) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.format",
                       absl::StrCat("the owner key: ", owner_key.status().message()));
  }
  absl::StatusOr<absl::string_view> payload =
      crypto::VerifySignedPayload(prove.header(), kTo2OwnerHeaderType, *owner_key);
  if (!payload.ok()) {
    if (payload.status().code() == absl::StatusCode::kUnauthenticated) {
      return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.owner_signature",
                         "the owner's header is not signed by the key it names");
    }
    return To2FormatError(payload.status().message());
  }
  absl::Status parsed =
      ParseStrict(*payload, kMaxTo2OwnerHeaderSize, "TO2 owner header", &s.owner_header);
  if (!parsed.ok()) return To2Unparsed(parsed);
  const v1::To2OwnerHeader& header = s.owner_header;
  if (header.owner_key().spki_der() != owner_key->spki_der()) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.owner_signature",
                       "the owner's header names another key than the one that signed it");
  }
  if (!crypto::ConstantTimeEquals(header.nonce_prove_owner(), s.nonce_prove_owner)) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.nonce",
                       "the owner's header does not carry this session's NonceTO2ProveOV");
  }
  if (std::find(inputs_.suites.begin(), inputs_.suites.end(), header.suite()) ==
      inputs_.suites.end()) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.suite",
                       "the owner chose a suite the device did not offer");
  }
  CUSTODY_ASSIGN_OR_RETURN(s.suite, ParametersOf(header.suite(), "to2.suite"));
  if (header.hello_device_hash().algorithm() != voucher::ToWireHash(s.suite.hash) ||
      !crypto::ConstantTimeEquals(header.hello_device_hash().value(),
                                  crypto::ComputeHash(s.suite.hash, s.hello_payload))) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.hello_hash",
                       "the owner signed another TO2.HelloDevice than the device sent");
  }
  if (header.voucher_header() != inputs_.header_bytes) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.voucher_header",
                       "the owner's voucher header is not this device's");
  }
  const crypto::HashAlgorithm hmac_hash = crypto::CurveHash(inputs_.attestation_key->curve());
  const absl::Status hmac_status =
      header.header_hmac().algorithm() != voucher::ToWireHash(hmac_hash)
          ? absl::UnauthenticatedError("another HMAC algorithm")
          : inputs_.hmac_secret->Verify(hmac_hash, inputs_.header_bytes,
                                        header.header_hmac().value());
  if (hmac_status.code() == absl::StatusCode::kUnauthenticated ||
      hmac_status.code() == absl::StatusCode::kInvalidArgument) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.header_hmac",
                       "the owner's voucher does not carry this device's header HMAC");
  }
  // The device's own key did not answer (a TPM, a token): not the owner's fault.
  if (!hmac_status.ok()) return Annotate(hmac_status, "device HMAC key");
  absl::StatusOr<crypto::EcPublicKey> share =
      crypto::EcPublicKey::FromSpkiDer(header.owner_key_exchange());
  if (!share.ok() || share->curve() != s.suite.curve) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.key_exchange",
                       "xAKeyExchange is not a valid key on the suite's curve");
  }
  if (header.nonce_prove_device().size() != kTo2NonceSize) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.nonce",
                       absl::StrCat("NonceTO2ProveDv is ", kTo2NonceSize, " bytes"));
  }
  if (header.entry_count() > voucher::kMaxEntries) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.entry_count",
                       absl::StrCat("a voucher has at most ", voucher::kMaxEntries, " entries"));
  }
  if (header.max_message_bytes() != 0 && header.max_message_bytes() < kMinTo2MessageSize) {
    return To2FormatError(absl::StrCat("maxOwnerMessageSize is at least ", kMinTo2MessageSize));
  }
  s.owner_key = *owner_key;
  s.owner_share = *share;
  s.header_payload = std::string(*payload);
  if (header.entry_count() == 0) {
    // No entries: the owner must be the key of the device's own header (a
    // credential an earlier TO2 set up, or a manufacturer onboarding directly).
    CUSTODY_ASSIGN_OR_RETURN(crypto::EcPublicKey header_key,
                             voucher::FromWireKey(s.own_header.manufacturer_key()));
    if (!crypto::SameKey(header_key, *owner_key)) {
      return CheckFailed(absl::StatusCode::kPermissionDenied, "voucher.owner",
                         "a voucher without entries can only be presented by its header's key");
    }
    return ProveDevice();
  }
  state_ = State::kExpectEntry;
  v1::To2Request request;
  request.mutable_get_ov_next_entry()->set_entry_number(0);
  return request;
}

absl::StatusOr<v1::To2Request> To2ClientSession::HandleEntry(const v1::To2OvNextEntry& entry) {
  Session& s = *session_;
  if (entry.entry_number() != s.entries.size()) {
    return CheckFailed(
        absl::StatusCode::kInvalidArgument, "to2.entry_number",
        absl::StrCat("asked for entry ", s.entries.size(), ", got ", entry.entry_number()));
  }
  if (entry.entry().size() > voucher::kMaxEntrySize) {
    return CheckFailed(
        absl::StatusCode::kResourceExhausted, "voucher.format",
        absl::StrCat("a voucher entry is at most ", voucher::kMaxEntrySize, " bytes"));
  }
  s.entries.push_back(entry.entry());
  if (s.entries.size() < s.owner_header.entry_count()) {
    v1::To2Request request;
    request.mutable_get_ov_next_entry()->set_entry_number(static_cast<uint32_t>(s.entries.size()));
    return request;
  }
  // Every entry is here: the whole voucher must verify from the manufacturer key
  // of the device's own header to the owner key that signed the header.
  v1::OwnershipVoucher voucher;
  voucher.set_protocol_version(voucher::kVoucherProtocolVersion);
  voucher.set_header(inputs_.header_bytes);
  *voucher.mutable_header_hmac() = s.owner_header.header_hmac();
  for (const std::string& der : inputs_.device_certificate_chain) {
    voucher.add_device_certificate_chain(der);
  }
  for (std::string& bytes : s.entries) voucher.add_entries(std::move(bytes));
  s.entries.clear();
  voucher::VerifyOptions options;
  CUSTODY_ASSIGN_OR_RETURN(options.expected_manufacturer,
                           voucher::FromWireKey(s.own_header.manufacturer_key()));
  options.expected_owner = *s.owner_key;
  CUSTODY_RETURN_IF_ERROR(voucher::VerifyVoucher(voucher, options).status());
  return ProveDevice();
}

absl::StatusOr<v1::To2Request> To2ClientSession::ProveDevice() {
  Session& s = *session_;
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey ephemeral,
                           crypto::EcPrivateKey::Generate(s.suite.curve));
  CUSTODY_ASSIGN_OR_RETURN(s.nonce_setup_device, inputs_.random->Bytes(kTo2NonceSize));
  v1::To2DeviceProof proof;
  proof.set_nonce_prove_device(s.owner_header.nonce_prove_device());
  proof.mutable_guid()->set_value(inputs_.guid);
  proof.set_device_key_exchange(ephemeral.public_key().spki_der());
  proof.set_nonce_setup_device(s.nonce_setup_device);
  *proof.mutable_transcript_hash() = voucher::MakeHash(s.suite.hash, "");
  proof.mutable_transcript_hash()->set_value(
      TranscriptHash(s.suite.hash, {s.hello_payload, s.header_payload}));
  const std::string proof_payload = proof.SerializeAsString();
  v1::To2Request request;
  CUSTODY_ASSIGN_OR_RETURN(
      *request.mutable_prove_device()->mutable_proof(),
      crypto::SignPayload(*inputs_.attestation_key, kTo2DeviceProofType, proof_payload));
  CUSTODY_ASSIGN_OR_RETURN(
      s.channel,
      To2Channel::Establish(
          To2Channel::Side::kDevice, s.suite, ephemeral, *s.owner_share,
          TranscriptHash(s.suite.hash, {s.hello_payload, s.header_payload, proof_payload})));
  state_ = State::kExpectSetup;
  return request;
}

absl::StatusOr<std::optional<v1::To2Request>> To2ClientSession::HandleSealed(
    const v1::To2Sealed& sealed) {
  CUSTODY_ASSIGN_OR_RETURN(std::string plaintext, session_->channel->Open(sealed.ciphertext()));
  v1::To2OwnerMessage message;
  absl::Status parsed = ParseStrict(plaintext, kMaxTo2MessageSize, "sealed TO2 message", &message);
  if (!parsed.ok()) return To2Unparsed(parsed);
  auto unexpected = [](absl::string_view expected) {
    return CheckFailed(absl::StatusCode::kFailedPrecondition, "to2.unexpected_message",
                       absl::StrCat("expected ", expected));
  };
  absl::StatusOr<v1::To2DeviceMessage> reply;
  switch (state_) {
    case State::kExpectSetup:
      reply = message.has_setup_device() ? HandleSetup(message.setup_device())
                                         : unexpected("TO2.SetupDevice");
      break;
    case State::kExpectServiceInfoReady:
      reply = message.has_service_info_ready()
                  ? HandleServiceInfoReady(message.service_info_ready())
                  : unexpected("TO2.OwnerServiceInfoReady");
      break;
    case State::kExpectServiceInfo:
      reply = message.has_service_info() ? HandleServiceInfo(message.service_info())
                                         : unexpected("TO2.OwnerServiceInfo");
      break;
    case State::kExpectDone2: {
      if (!message.has_done2()) return unexpected("TO2.Done2");
      CUSTODY_RETURN_IF_ERROR(HandleDone2(message.done2()));
      return std::optional<v1::To2Request>();
    }
    default:
      return unexpected("no sealed message");
  }
  if (!reply.ok()) return reply.status();
  CUSTODY_ASSIGN_OR_RETURN(v1::To2Request request, SealRequest(*reply));
  return std::optional<v1::To2Request>(std::move(request));
}

absl::StatusOr<v1::To2Request> To2ClientSession::SealRequest(const v1::To2DeviceMessage& message) {
  v1::To2Request request;
  CUSTODY_ASSIGN_OR_RETURN(*request.mutable_sealed()->mutable_ciphertext(),
                           session_->channel->Seal(message.SerializeAsString()));
  return request;
}

absl::StatusOr<v1::To2DeviceMessage> To2ClientSession::HandleSetup(
    const v1::To2SetupDevice& setup) {
  Session& s = *session_;
  absl::StatusOr<crypto::EcPublicKey> replacement_key =
      voucher::FromWireKey(setup.replacement_owner_key());
  if (!replacement_key.ok()) {
    return CheckFailed(
        absl::StatusCode::kInvalidArgument, "to2.replacement_header",
        absl::StrCat("the replacement owner key: ", replacement_key.status().message()));
  }
  absl::StatusOr<absl::string_view> payload =
      crypto::VerifySignedPayload(setup.setup(), kTo2SetupDeviceType, *replacement_key);
  if (!payload.ok()) {
    if (payload.status().code() == absl::StatusCode::kUnauthenticated) {
      return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.setup_signature",
                         "TO2.SetupDevice is not signed by the replacement owner key");
    }
    return To2FormatError(payload.status().message());
  }
  v1::To2SetupDevicePayload body;
  absl::Status parsed = ParseStrict(*payload, kMaxTo2SetupSize, "TO2.SetupDevice", &body);
  if (!parsed.ok()) return To2Unparsed(parsed);
  if (!crypto::ConstantTimeEquals(body.nonce_setup_device(), s.nonce_setup_device)) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.nonce",
                       "TO2.SetupDevice does not carry this session's NonceTO2SetupDv");
  }
  v1::VoucherHeader header;
  absl::Status header_parsed = ParseStrict(body.replacement_header(), voucher::kMaxHeaderSize,
                                           "replacement header", &header);
  auto bad_header = [](absl::string_view detail) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.replacement_header", detail);
  };
  if (!header_parsed.ok()) return bad_header(header_parsed.message());
  absl::StatusOr<crypto::EcPublicKey> header_key = voucher::ValidateHeader(header);
  if (!header_key.ok()) return bad_header(header_key.status().message());
  if (!crypto::SameKey(*header_key, *replacement_key)) {
    return bad_header("the replacement header names another key than the one that signed it");
  }
  if (!SameDeviceInfo(header.device_info(), s.own_header.device_info())) {
    return bad_header("the replacement header changes the device info");
  }
  const v1::Hash chain_hash =
      voucher::DeviceChainHash(*header_key, inputs_.device_certificate_chain);
  if (header.device_certificate_chain_hash().algorithm() != chain_hash.algorithm() ||
      header.device_certificate_chain_hash().value() != chain_hash.value()) {
    return bad_header("the replacement header does not hash this device's certificate chain");
  }
  if (header.guid().value().size() != voucher::kGuidSize) {
    return bad_header(absl::StrCat("a GUID is ", voucher::kGuidSize, " bytes"));
  }
  if (header.guid().value() == inputs_.guid) {
    return bad_header(
        "the replacement header keeps the device's GUID (credential reuse is not "
        "offered)");
  }

  // A new secret for the new credential; the old one stays in use until Done2.
  const crypto::HashAlgorithm hmac_hash = crypto::CurveHash(inputs_.attestation_key->curve());
  SecretBytes secret(crypto::DigestSize(hmac_hash));
  CUSTODY_RETURN_IF_ERROR(
      inputs_.random->Fill(absl::MakeSpan(secret.mutable_data(), secret.size())));
  crypto::SoftwareHmacKey fresh(std::move(secret));
  CUSTODY_ASSIGN_OR_RETURN(v1::Hash hmac,
                           voucher::ComputeHeaderHmac(body.replacement_header(), fresh, hmac_hash));
  result_.replacement_header = body.replacement_header();
  result_.header = std::move(header);
  result_.new_hmac_secret = std::move(fresh);
  result_.owner_key = *s.owner_key;
  s.replacement_guid = result_.header.guid().value();
  state_ = State::kExpectServiceInfoReady;
  v1::To2DeviceMessage message;
  *message.mutable_service_info_ready()->mutable_replacement_hmac() = std::move(hmac);
  message.mutable_service_info_ready()->set_max_owner_service_info_bytes(kMaxTo2MessageSize);
  return message;
}

absl::StatusOr<v1::To2DeviceMessage> To2ClientSession::HandleServiceInfoReady(
    const v1::To2OwnerServiceInfoReady& ready) {
  Session& s = *session_;
  if (ready.max_device_service_info_bytes() != 0 &&
      ready.max_device_service_info_bytes() < kMinTo2MessageSize) {
    return To2FormatError(absl::StrCat("maxDeviceServiceInfoSz is at least ", kMinTo2MessageSize));
  }
  CUSTODY_ASSIGN_OR_RETURN(result_.operational_key,
                           crypto::EcPrivateKey::Generate(inputs_.attestation_key->curve()));
  crypto::DistinguishedName subject;
  subject.common_name = voucher::FormatGuid(s.replacement_guid);
  subject.organizational_unit = s.own_header.device_info().model();
  CUSTODY_ASSIGN_OR_RETURN(crypto::CertificateRequest csr,
                           crypto::CertificateRequest::Create(*result_.operational_key, subject));
  v1::To2DeviceMessage message;
  v1::To2DeviceServiceInfo* info = message.mutable_service_info();
  v1::DeviceReport* report = info->mutable_report();
  report->set_model(s.own_header.device_info().model());
  report->set_serial(s.own_header.device_info().serial());
  report->set_mud_url(s.own_header.device_info().mud_url());
  report->set_software_version(inputs_.software_version);
  info->set_operational_csr(csr.der());
  if (inputs_.support_declaration.has_value()) {
    *info->mutable_support_declaration() = *inputs_.support_declaration;
  }
  state_ = State::kExpectServiceInfo;
  return message;
}

absl::StatusOr<v1::To2DeviceMessage> To2ClientSession::HandleServiceInfo(
    const v1::To2OwnerServiceInfo& info) {
  Session& s = *session_;
  const v1::FleetEnrolment& enrolment = info.enrolment();
  auto bad = [](absl::string_view detail) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.enrolment", detail);
  };
  if (enrolment.operational_ca_chain().empty() ||
      static_cast<size_t>(enrolment.operational_ca_chain_size()) > kMaxOperationalChainLength) {
    return bad(absl::StrCat("the operational CA chain has 1..", kMaxOperationalChainLength,
                            " certificates"));
  }
  absl::StatusOr<crypto::Certificate> certificate =
      crypto::Certificate::FromDer(enrolment.operational_certificate());
  if (!certificate.ok()) {
    return bad(absl::StrCat("operational certificate: ", certificate.status().message()));
  }
  std::vector<crypto::Certificate> chain;
  for (const std::string& der : enrolment.operational_ca_chain()) {
    absl::StatusOr<crypto::Certificate> cert = crypto::Certificate::FromDer(der);
    if (!cert.ok()) return bad(absl::StrCat("operational CA chain: ", cert.status().message()));
    chain.push_back(*std::move(cert));
  }
  absl::StatusOr<crypto::EcPublicKey> certified = certificate->PublicKey();
  if (!certified.ok() || !crypto::SameKey(*certified, result_.operational_key->public_key())) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.operational_certificate",
                       "the operational certificate is not for the device's operational key");
  }
  std::vector<crypto::Certificate> intermediates(chain.begin(), chain.end() - 1);
  absl::Status verified = crypto::VerifyCertificateChain(*certificate, intermediates,
                                                         {chain.back()}, inputs_.clock->Now());
  if (!verified.ok()) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.operational_certificate",
                       verified.message());
  }
  if (enrolment.fleet_endpoint().size() > kMaxFleetEndpointLength) {
    return bad(absl::StrCat("a fleet endpoint is at most ", kMaxFleetEndpointLength, " bytes"));
  }
  if (static_cast<size_t>(enrolment.trust_anchors_size()) > kMaxTrustAnchors) {
    return bad(absl::StrCat("at most ", kMaxTrustAnchors, " trust anchors"));
  }
  for (const std::string& der : enrolment.trust_anchors()) {
    absl::StatusOr<crypto::Certificate> anchor = crypto::Certificate::FromDer(der);
    if (!anchor.ok()) return bad(absl::StrCat("trust anchor: ", anchor.status().message()));
  }
  CUSTODY_RETURN_IF_ERROR(ValidateSettings(enrolment.settings(), "to2.settings"));
  if (enrolment.has_support_declaration()) {
    if (!inputs_.manufacturer_key.has_value()) {
      return bad("the device does not know its manufacturer key to check a support declaration");
    }
    absl::StatusOr<v1::SupportDeclaration> declaration =
        VerifySupportDeclaration(enrolment.support_declaration(), *inputs_.manufacturer_key,
                                 s.own_header.device_info().model());
    if (!declaration.ok()) {
      return CheckFailed(declaration.status().code(), "to2.support_declaration",
                         declaration.status().message());
    }
  }
  if (enrolment.check_in_interval_seconds() < kMinCheckInIntervalSeconds ||
      enrolment.check_in_interval_seconds() > kMaxCheckInIntervalSeconds) {
    return bad(absl::StrCat("the check-in interval is ", kMinCheckInIntervalSeconds, "..",
                            kMaxCheckInIntervalSeconds, " seconds"));
  }
  result_.enrolment = enrolment;
  state_ = State::kExpectDone2;
  v1::To2DeviceMessage message;
  message.mutable_done()->set_nonce_prove_device(s.owner_header.nonce_prove_device());
  return message;
}

absl::Status To2ClientSession::HandleDone2(const v1::To2Done2& done2) {
  if (!crypto::ConstantTimeEquals(done2.nonce_setup_device(), session_->nonce_setup_device)) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.nonce",
                       "TO2.Done2 does not echo this session's NonceTO2SetupDv");
  }
  state_ = State::kDone;
  session_.reset();
  return absl::OkStatus();
}

}  // namespace custody::protocol
