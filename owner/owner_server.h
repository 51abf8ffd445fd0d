// The owner service assembled from its configuration: identity, the owner key
// and the device CA from the state directory (created at first start), the
// SQLite store, the TO2 rate limiter, automatic TO0 and the gRPC services.
// owner_server runs it until a signal; tests serve it in-process with
// server::StartServers.
//
// State directory (besides the service identity, core/pki/service_identity.h):
//   owner.key  owner.pub        the owner key: vouchers are extended to owner.pub
//   device-ca.key device-ca.pem issues the operational certificates
//   owner.db                    devices, settings, audit log

#ifndef CUSTODY_OWNER_OWNER_SERVER_H_
#define CUSTODY_OWNER_OWNER_SERVER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/pki/service_identity.h"
#include "core/protocol/to2_server.h"
#include "core/storage/store.h"
#include "custody/v1/config.pb.h"
#include "owner/owner_service.h"
#include "owner/registrar.h"
#include "server/rate_limiter.h"
#include "server/serve.h"
#include "server/session_frame.h"

namespace custody::owner {

inline constexpr uint32_t kDefaultRegistrationLifetimeSeconds = 24 * 3600;
inline constexpr uint32_t kDefaultRegistrationRetryMaxSeconds = 3600;
inline constexpr uint32_t kDefaultRegistrationPollSeconds = 5;
inline constexpr uint32_t kDefaultOperationalCertificateValidityDays = 30;
inline constexpr uint32_t kDefaultCheckInIntervalSeconds = 3600;

struct OwnerOptions {
  // Sends TO0; empty: gRPC over TLS trusting config.rendezvous_tls_ca_file.
  RegisterFunction register_function;
  // Start automatic TO0 in the background (tests run passes by hand).
  bool start_registrar = true;
  // Passed to OwnerService::Options::after_message (fault tests).
  std::function<void(protocol::MessageType)> after_message;
};

class Owner {
 public:
  // Checks the configuration and fills its defaults (INVALID_ARGUMENT naming the
  // field), then loads or creates the state directory's keys and database.
  static absl::StatusOr<std::unique_ptr<Owner>> Open(v1::OwnerConfig config, Clock& clock,
                                                     SecureRandom& random,
                                                     OwnerOptions options = OwnerOptions());
  Owner(const Owner&) = delete;
  Owner& operator=(const Owner&) = delete;

  const v1::OwnerConfig& config() const { return config_; }
  const pki::ServiceIdentity& identity() const { return *identity_; }
  const crypto::Signer& owner_key() const { return *owner_key_; }
  storage::Store& store() { return *store_; }
  Registrar& registrar() { return *registrar_; }
  const OnboardingTracker& tracker() const { return tracker_; }
  // The device-facing service and the admin service, with the admin roles.
  const server::Services& services() const { return services_; }

 private:
  Owner() = default;

  v1::OwnerConfig config_;
  std::optional<pki::ServiceIdentity> identity_;
  std::unique_ptr<crypto::Signer> owner_key_;
  std::optional<pki::KeyedCertificateAuthority> device_ca_;
  std::unique_ptr<storage::Store> store_;
  protocol::OwnerKeys keys_;
  protocol::OnboardingPolicy policy_;
  OnboardingTracker tracker_;
  std::unique_ptr<server::Telemetry> telemetry_;
  std::unique_ptr<server::SessionFrame> frame_;
  std::unique_ptr<server::RateLimiter> to2_limiter_;
  std::unique_ptr<server::RateLimiter> to2_budget_;
  std::unique_ptr<server::StreamKind> to2_stream_;
  std::unique_ptr<OwnerService> service_;
  std::unique_ptr<OwnerAdminService> admin_;
  server::Services services_;
  // Last: its thread stops first.
  std::unique_ptr<Registrar> registrar_;
};

}  // namespace custody::owner

#endif  // CUSTODY_OWNER_OWNER_SERVER_H_
