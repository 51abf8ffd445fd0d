// The owner's gRPC services: TO2 (Owner.Onboard: a thin loop over
// core/protocol's To2ServerSession, behind a per-peer rate limit) and the admin
// API (mutual TLS, a role table checked per call before the method runs, every
// change audited with the caller).
//
// Devices in the middle of TO2 are listed as "onboarding": the sessions in flight
// are tracked in memory (OnboardingTracker), since nothing is stored before a
// session's Done.

#ifndef CUSTODY_OWNER_OWNER_SERVICE_H_
#define CUSTODY_OWNER_OWNER_SERVICE_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/x509_certificate.h"
#include "core/protocol/to2_format.h"
#include "core/protocol/to2_server.h"
#include "core/storage/store.h"
#include "custody/v1/owner.grpc.pb.h"
#include "server/admin_auth.h"
#include "server/session_frame.h"

namespace custody::owner {

// The GUIDs (imported ones) of the devices with a TO2 session in flight.
// Thread-safe.
class OnboardingTracker {
 public:
  void Begin(const std::string& guid);
  void End(const std::string& guid);
  bool Contains(const std::string& guid) const;
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, int> sessions_ ABSL_GUARDED_BY(mu_);
};

// custody.v1.Owner on the serving frame (server/session_frame.h): each Onboard
// stream is one To2ServerSession, tracked while in flight.
class OwnerService final : public v1::Owner::WithRawCallbackMethod_Onboard<v1::Owner::Service> {
 public:
  static constexpr server::StreamProtocol kProtocol{"to2", "TO2 message", "device", "TO2.Done",
                                                    protocol::kMaxTo2MessageSize};

  struct Options {
    protocol::To2ServerDeps to2;
    // The stream kind made with kProtocol.
    server::StreamKind* stream = nullptr;
    OnboardingTracker* tracker = nullptr;
    // Called with each message handled without error, before the answer is
    // sent; for fault tests that stop the owner at a given point (unset in
    // production).
    std::function<void(protocol::MessageType)> after_message;
  };

  explicit OwnerService(Options options) : options_(std::move(options)) {}

  // Follows FDO TO2 over one stream.
  server::ByteReactor* Onboard(grpc::CallbackServerContext* context) override;

 private:
  Options options_;
};

// Renders a stored device for the admin API ("onboarding" while a session for it
// is in flight).
v1::OwnedDevice ToWire(const storage::OwnedDeviceRecord& record, bool onboarding);

class OwnerAdminService final : public v1::OwnerAdmin::Service {
 public:
  // `owner_keys`: the public halves of the owner's voucher keys; vouchers must be
  // addressed to one of them. `imported` is called after an import that stored
  // something (it wakes the automatic TO0).
  OwnerAdminService(storage::Store& store, Clock& clock,
                    std::vector<crypto::EcPublicKey> owner_keys, const OnboardingTracker& tracker,
                    std::function<void()> imported)
      : store_(store),
        clock_(clock),
        owner_keys_(std::move(owner_keys)),
        tracker_(tracker),
        imported_(std::move(imported)) {}

  // Who may call each method: checked by the admin port before the method runs
  // (server/admin_auth.h).
  static absl::StatusOr<server::AdminRoleTable> Roles();

  grpc::Status ImportVouchers(grpc::ServerContext* context,
                              const v1::ImportVouchersRequest* request,
                              v1::ImportVouchersResponse* response) override;
  grpc::Status ListDevices(grpc::ServerContext* context, const v1::ListDevicesRequest* request,
                           v1::ListDevicesResponse* response) override;
  grpc::Status GetDevice(grpc::ServerContext* context, const v1::GetDeviceRequest* request,
                         v1::GetDeviceResponse* response) override;
  grpc::Status SetSettings(grpc::ServerContext* context, const v1::SetSettingsRequest* request,
                           v1::SetSettingsResponse* response) override;
  grpc::Status GetSettings(grpc::ServerContext* context, const v1::GetSettingsRequest* request,
                           v1::GetSettingsResponse* response) override;

 private:
  storage::Store& store_;
  Clock& clock_;
  const std::vector<crypto::EcPublicKey> owner_keys_;
  const OnboardingTracker& tracker_;
  std::function<void()> imported_;
};

}  // namespace custody::owner

#endif  // CUSTODY_OWNER_OWNER_SERVICE_H_
