// The manufacturer's side of device initialisation (DI), without transport.
// Follows FDO DI.AppStart (10) -> DI.SetCredentials (11) -> DI.SetHMAC (12) ->
// DI.Done (13); docs/di.md specifies it.
//
// One DiServerSession serves one stream. Handle() takes each message from the
// device and returns the reply, or an error that must end the stream; after an error
// or Done, every further message is refused. No voucher is stored until the
// device's HMAC arrives: then the voucher and its audit event are written in one
// transaction. Before that, the only write is the di.certificate_issued audit event
// (below), so a refused session leaves the store unchanged and an abandoned one
// leaves only that event.
//
// Refusals name the check (FailedCheck): di.unexpected_message and
// di.session_over (FAILED_PRECONDITION), di.device_info (the voucher header's
// rules for model, serial and MUD URL) and di.csr
// (INVALID_ARGUMENT), di.model (NOT_FOUND), di.serial (ALREADY_EXISTS; UNAUTHENTICATED
// when a resuming device's HMAC differs from the stored voucher's),
// di.csr_signature (UNAUTHENTICATED), di.device_key (INVALID_ARGUMENT), and the
// voucher.* checks of the header and HMAC.
//
// Every certificate issued is audited (di.certificate_issued) before it is sent, so
// a session abandoned after AppStart still leaves a trace. The model's support
// declaration in force (the store's SupportTable) is sent with the credentials. The DI endpoint
// issues certificates: it must only be reachable by the factory's stations (an authenticated,
// rate-limited port; docs/di.md, "Trust").
//
// A device whose session broke after the voucher was stored (DI.Done lost) may
// start again: when the stored voucher's device certificate carries the same key as
// the new CSR, the session resumes with the stored header and chain, and DI.Done is
// sent once the device proves the same HMAC. Any other repeat of a serial is
// di.serial.
//
// Not thread-safe: one session per stream. The dependencies must outlive it.

#ifndef CUSTODY_CORE_PROTOCOL_DI_SERVER_H_
#define CUSTODY_CORE_PROTOCOL_DI_SERVER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/crypto/signer.h"
#include "core/crypto/x509_certificate.h"
#include "core/protocol/message_type.h"
#include "core/storage/store.h"
#include "custody/v1/common.pb.h"
#include "custody/v1/manufacturer.pb.h"
#include "custody/v1/voucher.pb.h"

namespace custody::protocol {

// What the manufacturer has configured for one model.
struct ModelProfile {
  std::string model;
  v1::RendezvousInfo rendezvous_info;
  absl::Duration device_certificate_validity = absl::Hours(24 * 365 * 20);
};

// The models a manufacturer initialises. Implementations are thread-safe.
class ModelCatalog {
 public:
  virtual ~ModelCatalog() = default;
  // NOT_FOUND when the model is not configured.
  virtual absl::StatusOr<ModelProfile> Lookup(absl::string_view model) const = 0;
};

// The manufacturer's keys: the voucher key (signs entry 0, appears in every header)
// and the device CA that issues attestation certificates.
struct ManufacturerKeys {
  const crypto::Signer* voucher_key = nullptr;
  const crypto::Signer* device_ca_key = nullptr;
  // The device CA certificate first, then its issuers up to the root.
  std::vector<crypto::Certificate> device_ca_chain;
};

struct DiServerDeps {
  storage::Store* store = nullptr;
  Clock* clock = nullptr;
  SecureRandom* random = nullptr;
  const ManufacturerKeys* keys = nullptr;
  const ModelCatalog* models = nullptr;
};

class DiServerSession {
 public:
  explicit DiServerSession(const DiServerDeps& deps) : deps_(deps) {}
  DiServerSession(const DiServerSession&) = delete;
  DiServerSession& operator=(const DiServerSession&) = delete;

  absl::StatusOr<v1::DiResponse> Handle(const v1::DiRequest& request);

  bool done() const { return state_ == State::kDone; }
  // The kind of `request` in this session's state (a sealed TO2 message is
  // known only by the state it arrives in).
  MessageType RequestType(const v1::DiRequest& request) const;
  // The GUID assigned at AppStart (empty before).
  const std::string& guid() const { return guid_; }

 private:
  enum class State { kExpectAppStart, kExpectHmac, kDone, kFailed };

  // The response for a device whose voucher is already stored, or di.serial.
  absl::StatusOr<v1::DiResponse> Resume(const v1::DiAppStart& app_start,
                                        const crypto::EcPublicKey& device_key,
                                        const storage::VoucherRecord& stored,
                                        const std::optional<v1::SignedPayload>& declaration);
  // An audit event about this session's device, and one appended on its own.
  storage::AuditEvent DeviceEvent(absl::string_view action, absl::string_view details) const;
  absl::Status Audit(absl::string_view action, absl::string_view details);

  absl::StatusOr<v1::DiResponse> HandleAppStart(const v1::DiAppStart& app_start);
  absl::StatusOr<v1::DiResponse> HandleSetHmac(const v1::DiSetHmac& set_hmac);

  DiServerDeps deps_;
  State state_ = State::kExpectAppStart;
  std::string guid_;
  v1::DeviceInfo device_info_;
  std::string header_bytes_;
  std::vector<std::string> chain_;  // DER, leaf first.
  // Set when resuming: the HMAC the stored voucher carries.
  std::optional<v1::Hash> stored_hmac_;
};

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_DI_SERVER_H_
