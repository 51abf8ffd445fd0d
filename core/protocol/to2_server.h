// The owner's side of TO2 (the device onboards), without transport. Follows FDO
// TO2.HelloDevice (60) ... TO2.Done2 (71); docs/to2.md specifies it.
//
//   HelloDevice       the device is looked up by GUID (the imported voucher's);
//                     a suite is chosen (the device's first that the owner takes)
//   ProveOwnerHeader  the voucher header, HMAC and entry count, the device's
//                     nonce and the hash of its hello, an ephemeral ECDH key and
//                     a nonce for the device, signed by the voucher's current
//                     owner key (which must be one of the owner's keys)
//   OvNextEntry       each entry in turn, as the device asks for it
//   ProveDevice       checked against the voucher's device key: the nonce, the
//                     GUID and the transcript; then the session keys are derived
//   SetupDevice ...   sealed: the replacement header, signed by the replacement
//                     owner key; the device's HMAC of it; its report and CSR; the
//                     enrolment (operational certificate, fleet endpoint, trust
//                     anchors, support declaration, settings); Done
//   Done2             only after the replacement voucher, the new state and the
//                     audit event are committed in one transaction
//
// Nothing is written before the device's Done: a refused or abandoned session
// leaves the store as it was. A device that onboarded with its replacement
// credential is refused (to2.already_onboarded); one that retries with the
// imported voucher's GUID (because Done2 was lost) onboards again, and the newest
// replacement voucher is kept.
//
// Refusals name the check: to2.unexpected_message, to2.session_over,
// to2.already_onboarded, to2.owner (FAILED_PRECONDITION: the owner's keys, device
// CA or settings are not usable); to2.format (INVALID_ARGUMENT, or
// RESOURCE_EXHAUSTED over a bound), to2.guid, to2.suite,
// to2.attestation_algorithm, to2.entry_number, to2.key_exchange,
// to2.replacement_hmac, to2.device_report, to2.csr (INVALID_ARGUMENT); to2.nonce
// (INVALID_ARGUMENT for a wrong length, UNAUTHENTICATED for another nonce);
// to2.unknown_guid (NOT_FOUND); to2.not_owner (PERMISSION_DENIED);
// to2.device_signature, to2.transcript, to2.sealed, to2.csr_signature
// (UNAUTHENTICATED); to2.concurrent (ABORTED: another session onboarded the
// device meanwhile).
//
// Support declarations: the device gets the newest one that its voucher's
// manufacturer key verifies, of the owner's stored one for the model and the one
// the device reports; the device's is never stored.
//
// Not thread-safe: one session per stream. The dependencies must outlive it.

#ifndef CUSTODY_CORE_PROTOCOL_TO2_SERVER_H_
#define CUSTODY_CORE_PROTOCOL_TO2_SERVER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/signer.h"
#include "core/crypto/x509_certificate.h"
#include "core/protocol/message_type.h"
#include "core/protocol/to2_format.h"
#include "core/storage/store.h"
#include "custody/v1/owner.pb.h"
#include "custody/v1/voucher.pb.h"

namespace custody::protocol {

// The owner's keys.
struct OwnerKeys {
  // Vouchers whose current owner is one of these are served. The first is the
  // replacement owner key (FDO Owner2Key): it signs SetupDevice and is the
  // replacement header's manufacturer key.
  std::vector<const crypto::Signer*> voucher_keys;
  // The device CA that issues operational certificates, and its chain (the CA
  // certificate first).
  const crypto::Signer* device_ca_key = nullptr;
  std::vector<crypto::Certificate> device_ca_chain;
};

// What the owner gives every device it onboards.
struct OnboardingPolicy {
  // The replacement header's rendezvous info; empty keeps the voucher's.
  v1::RendezvousInfo replacement_rendezvous_info;
  std::string fleet_endpoint;
  std::vector<std::string> trust_anchors_der;
  absl::Duration operational_certificate_validity = absl::Hours(24 * 30);
  uint32_t check_in_interval_seconds = 3600;
  // The O of operational certificates.
  std::string organization;
  // The suites the owner takes.
  std::vector<v1::To2Suite> suites = {v1::TO2_SUITE_ECDH_P256_AES256GCM,
                                      v1::TO2_SUITE_ECDH_P384_AES256GCM};
};

struct To2ServerDeps {
  storage::Store* store = nullptr;
  Clock* clock = nullptr;
  SecureRandom* random = nullptr;
  const OwnerKeys* keys = nullptr;
  const OnboardingPolicy* policy = nullptr;
};

// The settings scopes of a model and of a device (by its imported GUID).
std::string ModelSettingsScope(absl::string_view model);
std::string DeviceSettingsScope(absl::string_view guid);

class To2ServerSession {
 public:
  explicit To2ServerSession(const To2ServerDeps& deps);
  ~To2ServerSession();
  To2ServerSession(const To2ServerSession&) = delete;
  To2ServerSession& operator=(const To2ServerSession&) = delete;

  absl::StatusOr<v1::To2Response> Handle(const v1::To2Request& request);

  bool done() const { return state_ == State::kDone; }
  // The kind of `request` in this session's state (a sealed TO2 message is
  // known only by the state it arrives in).
  MessageType RequestType(const v1::To2Request& request) const;
  // The GUID of HelloDevice once it is known to the owner (empty before).
  const std::string& guid() const { return guid_; }
  // The replacement GUID, once committed.
  const std::string& replacement_guid() const { return replacement_guid_; }

 private:
  enum class State {
    kExpectHello,
    kExpectEntryOrProof,
    kExpectServiceInfoReady,
    kExpectServiceInfo,
    kExpectDone,
    kDone,
    kFailed,
  };
  struct Session;

  absl::StatusOr<v1::To2Response> HandleHello(const v1::To2HelloDevice& hello);
  absl::StatusOr<v1::To2Response> HandleGetEntry(const v1::To2GetOvNextEntry& get);
  absl::StatusOr<v1::To2Response> HandleProof(const v1::To2ProveDevice& prove);
  absl::StatusOr<v1::To2Response> HandleSealed(const v1::To2Sealed& sealed);
  absl::StatusOr<v1::To2OwnerMessage> HandleServiceInfoReady(
      const v1::To2DeviceServiceInfoReady& ready);
  absl::StatusOr<v1::To2OwnerMessage> HandleServiceInfo(const v1::To2DeviceServiceInfo& info);
  absl::StatusOr<v1::To2OwnerMessage> HandleDone(const v1::To2Done& done);
  absl::StatusOr<v1::To2Response> SealResponse(const v1::To2OwnerMessage& message);

  To2ServerDeps deps_;
  State state_ = State::kExpectHello;
  std::string guid_;
  std::string replacement_guid_;
  std::unique_ptr<Session> session_;
};

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_TO2_SERVER_H_
