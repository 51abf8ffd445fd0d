#include "core/protocol/di_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/proto_parse.h"
#include "core/base/status.h"
#include "core/crypto/constant_time.h"
#include "core/crypto/curve.h"
#include "core/crypto/signed_payload.h"
#include "core/crypto/x509_certificate.h"
#include "core/voucher/voucher_build.h"
#include "core/voucher/voucher_format.h"

namespace custody::protocol {
namespace {

absl::Status Fail(absl::StatusCode code, absl::string_view check, absl::string_view detail) {
  return CheckFailed(code, check, detail);
}

bool SameDevice(const v1::DeviceInfo& a, const v1::DeviceInfo& b) {
  return a.model() == b.model() && a.serial() == b.serial() && a.mud_url() == b.mud_url();
}

}  // namespace

DiClientSession::DiClientSession(v1::DeviceInfo device_info, const crypto::Signer& attestation_key,
                                 const crypto::HmacKey& hmac_secret)
    : device_info_(std::move(device_info)),
      attestation_key_(attestation_key),
      hmac_secret_(hmac_secret) {}

absl::StatusOr<v1::DiRequest> DiClientSession::Start() {
  if (state_ != State::kNew) {
    return Fail(absl::StatusCode::kFailedPrecondition, "di.session_over",
                "DI.AppStart was already sent");
  }
  CUSTODY_ASSIGN_OR_RETURN(
      crypto::CertificateRequest csr,
      crypto::CertificateRequest::Create(attestation_key_,
                                         {device_info_.serial(), "", device_info_.model()}));
  v1::DiRequest request;
  *request.mutable_app_start()->mutable_device_info() = device_info_;
  request.mutable_app_start()->set_csr(csr.der());
  state_ = State::kExpectCredentials;
  return request;
}

absl::StatusOr<std::optional<v1::DiRequest>> DiClientSession::Handle(
    const v1::DiResponse& response) {
  if (state_ == State::kDone || state_ == State::kFailed || state_ == State::kNew) {
    return Fail(absl::StatusCode::kFailedPrecondition, "di.session_over",
                "no DI message is expected now");
  }
  if (state_ == State::kExpectCredentials && response.has_set_credentials()) {
    absl::StatusOr<v1::DiRequest> next = HandleCredentials(response.set_credentials());
    if (!next.ok()) {
      state_ = State::kFailed;
      return next.status();
    }
    state_ = State::kExpectDone;
    return std::optional<v1::DiRequest>(*std::move(next));
  }
  if (state_ == State::kExpectDone && response.has_done()) {
    state_ = State::kDone;
    return std::optional<v1::DiRequest>();
  }
  const absl::string_view expected =
      state_ == State::kExpectCredentials ? "DI.SetCredentials" : "DI.Done";
  state_ = State::kFailed;
  return Fail(absl::StatusCode::kFailedPrecondition, "di.unexpected_message",
              absl::StrCat("expected ", expected, " from the manufacturer"));
}

absl::StatusOr<v1::DiRequest> DiClientSession::HandleCredentials(
    const v1::DiSetCredentials& credentials) {
  // The header: well formed, and about this device.
  v1::VoucherHeader header;
  absl::Status parsed =
      ParseStrict(credentials.header(), voucher::kMaxHeaderSize, "header", &header);
  if (!parsed.ok()) return Fail(parsed.code(), "di.header", parsed.message());
  absl::StatusOr<crypto::EcPublicKey> manufacturer_key = voucher::ValidateHeader(header);
  if (!manufacturer_key.ok()) {
    return Fail(manufacturer_key.status().code(), "di.header", manufacturer_key.status().message());
  }
  if (!SameDevice(header.device_info(), device_info_)) {
    return Fail(absl::StatusCode::kInvalidArgument, "di.header",
                "the header describes another device");
  }

  // The certificate chain: carries this device's key, and is the one the header
  // names.
  if (credentials.device_certificate_chain().empty() ||
      static_cast<size_t>(credentials.device_certificate_chain_size()) >
          voucher::kMaxDeviceChainLength) {
    return Fail(absl::StatusCode::kInvalidArgument, "di.device_certificate",
                "the device certificate chain is empty or too long");
  }
  absl::StatusOr<absl::string_view> spki =
      crypto::CertificateSpkiDer(credentials.device_certificate_chain(0));
  if (!spki.ok() || *spki != attestation_key_.public_key().spki_der()) {
    return Fail(absl::StatusCode::kInvalidArgument, "di.device_certificate",
                "the device certificate does not carry this device's attestation key");
  }
  const v1::Hash expected_chain_hash =
      voucher::MakeHash(crypto::CurveHash(manufacturer_key->curve()),
                        voucher::DeviceChainBytes(credentials.device_certificate_chain()));
  const v1::Hash& header_chain_hash = header.device_certificate_chain_hash();
  if (header_chain_hash.algorithm() != expected_chain_hash.algorithm() ||
      !crypto::ConstantTimeEquals(header_chain_hash.value(), expected_chain_hash.value())) {
    return Fail(absl::StatusCode::kInvalidArgument, "di.device_certificate",
                "the certificate chain does not match the header's chain hash");
  }

  if (credentials.has_support_declaration()) {
    absl::StatusOr<v1::SupportDeclaration> declaration = VerifySupportDeclaration(
        credentials.support_declaration(), *manufacturer_key, device_info_.model());
    if (!declaration.ok()) {
      return Fail(declaration.status().code(), "di.support_declaration",
                  declaration.status().message());
    }
    credentials_.signed_support_declaration = credentials.support_declaration();
    credentials_.support_declaration = *std::move(declaration);
  }

  CUSTODY_ASSIGN_OR_RETURN(v1::Hash hmac,
                           voucher::ComputeHeaderHmac(credentials.header(), hmac_secret_,
                                                      crypto::CurveHash(attestation_key_.curve())));
  credentials_.header_bytes = credentials.header();
  credentials_.header = std::move(header);
  credentials_.device_certificate_chain.assign(credentials.device_certificate_chain().begin(),
                                               credentials.device_certificate_chain().end());
  v1::DiRequest request;
  *request.mutable_set_hmac()->mutable_header_hmac() = std::move(hmac);
  return request;
}

}  // namespace custody::protocol
