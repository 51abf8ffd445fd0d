// The device's side of device initialisation (DI), without transport.
// Follows FDO DI.AppStart (10) -> DI.SetCredentials (11) -> DI.SetHMAC (12) ->
// DI.Done (13); docs/di.md specifies it.
//
// Start() gives the first message; Handle() takes each reply and gives the next
// message, or nothing once DI.Done has arrived, when credentials() holds what the
// device must keep. Before it HMACs anything the device checks that the header
// describes this device, that the certificate carries its own key and matches the
// header's chain hash, and that any support declaration is signed by the header's
// manufacturer key. Refusals name the check: di.unexpected_message,
// di.session_over (FAILED_PRECONDITION); di.header (INVALID_ARGUMENT, or
// RESOURCE_EXHAUSTED for a header over the size limit), di.device_certificate
// (INVALID_ARGUMENT); di.support_declaration (the support.* code).
//
// Not thread-safe. The key and secret must outlive the session.

#ifndef CUSTODY_CORE_PROTOCOL_DI_CLIENT_H_
#define CUSTODY_CORE_PROTOCOL_DI_CLIENT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/signer.h"
#include "core/protocol/support_declaration.h"
#include "custody/v1/common.pb.h"
#include "custody/v1/manufacturer.pb.h"
#include "custody/v1/voucher.pb.h"

namespace custody::protocol {

// What the device keeps after DI.
struct DiCredentials {
  std::string header_bytes;  // Exactly as HMACed.
  v1::VoucherHeader header;  // Parsed from header_bytes.
  std::vector<std::string> device_certificate_chain;
  // The declaration as signed, and parsed, when the manufacturer sent one.
  std::optional<v1::SignedPayload> signed_support_declaration;
  std::optional<v1::SupportDeclaration> support_declaration;

  const std::string& guid() const { return header.guid().value(); }
};

class DiClientSession {
 public:
  DiClientSession(v1::DeviceInfo device_info, const crypto::Signer& attestation_key,
                  const crypto::HmacKey& hmac_secret);
  DiClientSession(const DiClientSession&) = delete;
  DiClientSession& operator=(const DiClientSession&) = delete;

  // DI.AppStart with a CSR for the attestation key. Once only.
  absl::StatusOr<v1::DiRequest> Start();
  // DI.SetCredentials -> DI.SetHMAC; DI.Done -> nullopt (done() becomes true).
  absl::StatusOr<std::optional<v1::DiRequest>> Handle(const v1::DiResponse& response);

  bool done() const { return state_ == State::kDone; }
  // Valid once done().
  const DiCredentials& credentials() const { return credentials_; }

 private:
  enum class State { kNew, kExpectCredentials, kExpectDone, kDone, kFailed };

  absl::StatusOr<v1::DiRequest> HandleCredentials(const v1::DiSetCredentials& credentials);

  v1::DeviceInfo device_info_;
  const crypto::Signer& attestation_key_;
  const crypto::HmacKey& hmac_secret_;
  State state_ = State::kNew;
  DiCredentials credentials_;
};

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_DI_CLIENT_H_
