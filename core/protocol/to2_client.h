// The device's side of TO2, without transport (docs/to2.md).
//
// The device sends its GUID, a nonce and the suites it accepts; it takes the
// owner's header only when it is signed by the key it names, over the device's
// nonce and the exact hello the device sent, with the device's own header bytes
// and HMAC; it reads every entry and verifies the whole voucher from the
// manufacturer key of its own header to that owner key. Then it proves itself
// (attestation signature over the owner's nonce and the transcript, with its
// ECDH share), and everything after is sealed. It HMACs the replacement header
// under a new secret only after checking that the header keeps its device info
// and certificate chain and names the key that signed it; it sends its report
// and a CSR for a new operational key, checks the enrolment, and ends once Done2
// echoes its nonce. The caller replaces the credential only then (result()).
//
// Refusals name the check: to2.unexpected_message, to2.session_over
// (FAILED_PRECONDITION); to2.format (INVALID_ARGUMENT, or RESOURCE_EXHAUSTED over a
// bound), to2.suite, to2.key_exchange, to2.entry_count, to2.entry_number,
// to2.replacement_header, to2.enrolment, to2.settings (INVALID_ARGUMENT);
// to2.nonce (INVALID_ARGUMENT for a wrong length, UNAUTHENTICATED for another
// nonce); to2.owner_signature, to2.voucher_header, to2.header_hmac,
// to2.hello_hash, to2.sealed, to2.setup_signature, to2.operational_certificate
// (UNAUTHENTICATED); to2.support_declaration (the support.* code); and the
// voucher.* checks of the chain (voucher.owner, PERMISSION_DENIED, for a voucher
// without entries presented by another key than its header's).
//
// Not thread-safe. Everything the inputs point to must outlive the session.

#ifndef CUSTODY_CORE_PROTOCOL_TO2_CLIENT_H_
#define CUSTODY_CORE_PROTOCOL_TO2_CLIENT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/hmac.h"
#include "core/crypto/signer.h"
#include "core/protocol/to2_format.h"
#include "custody/v1/common.pb.h"
#include "custody/v1/owner.pb.h"
#include "custody/v1/voucher.pb.h"

namespace custody::protocol {

// What the device brings to TO2: its credential.
struct To2DeviceInputs {
  std::string guid;
  std::string header_bytes;                           // The voucher header exactly as HMACed.
  std::vector<std::string> device_certificate_chain;  // DER, leaf first.
  const crypto::Signer* attestation_key = nullptr;
  const crypto::HmacKey* hmac_secret = nullptr;
  // Checks support declarations (the DI header's manufacturer key).
  std::optional<crypto::EcPublicKey> manufacturer_key;
  std::optional<v1::SignedPayload> support_declaration;
  std::string software_version;
  // In order of preference; empty: DefaultSuites of the attestation curve.
  std::vector<v1::To2Suite> suites;
  Clock* clock = nullptr;
  SecureRandom* random = nullptr;
};

// What TO2 gave the device: its replacement credential, valid once done().
struct To2Result {
  std::string replacement_header;  // Exact bytes, HMACed under new_hmac_secret.
  v1::VoucherHeader header;
  crypto::SoftwareHmacKey new_hmac_secret;
  std::optional<crypto::EcPrivateKey> operational_key;
  v1::FleetEnrolment enrolment;
  std::optional<crypto::EcPublicKey> owner_key;
};

class To2ClientSession {
 public:
  explicit To2ClientSession(To2DeviceInputs inputs);
  ~To2ClientSession();
  To2ClientSession(const To2ClientSession&) = delete;
  To2ClientSession& operator=(const To2ClientSession&) = delete;

  absl::StatusOr<v1::To2Request> Start();
  // The next message, or none once the session is done.
  absl::StatusOr<std::optional<v1::To2Request>> Handle(const v1::To2Response& response);

  bool done() const { return state_ == State::kDone; }
  // Valid once done(); the caller may move from it.
  To2Result& result() { return result_; }

 private:
  enum class State {
    kNew,
    kExpectHeader,
    kExpectEntry,
    kExpectSetup,
    kExpectServiceInfoReady,
    kExpectServiceInfo,
    kExpectDone2,
    kDone,
    kFailed,
  };
  struct Session;

  absl::StatusOr<v1::To2Request> HandleHeader(const v1::To2ProveOwnerHeader& prove);
  absl::StatusOr<v1::To2Request> HandleEntry(const v1::To2OvNextEntry& entry);
  absl::StatusOr<v1::To2Request> ProveDevice();
  absl::StatusOr<std::optional<v1::To2Request>> HandleSealed(const v1::To2Sealed& sealed);
  absl::StatusOr<v1::To2DeviceMessage> HandleSetup(const v1::To2SetupDevice& setup);
  absl::StatusOr<v1::To2DeviceMessage> HandleServiceInfoReady(
      const v1::To2OwnerServiceInfoReady& ready);
  absl::StatusOr<v1::To2DeviceMessage> HandleServiceInfo(const v1::To2OwnerServiceInfo& info);
  absl::Status HandleDone2(const v1::To2Done2& done2);
  absl::StatusOr<v1::To2Request> SealRequest(const v1::To2DeviceMessage& message);

  To2DeviceInputs inputs_;
  State state_ = State::kNew;
  std::unique_ptr<Session> session_;
  To2Result result_;
};

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_TO2_CLIENT_H_
