// The rendezvous service assembled from its configuration: identity from the state
// directory (created at first start), the SQLite store, the rate limiters, the
// sweeper of expired registrations, and the gRPC services. rendezvous_server runs
// it until a signal; tests serve it in-process with server::StartServers.

#ifndef CUSTODY_RENDEZVOUS_RENDEZVOUS_SERVER_H_
#define CUSTODY_RENDEZVOUS_RENDEZVOUS_SERVER_H_

#include <memory>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/pki/service_identity.h"
#include "core/storage/store.h"
#include "custody/v1/config.pb.h"
#include "rendezvous/rendezvous_service.h"
#include "server/rate_limiter.h"
#include "server/serve.h"
#include "server/session_frame.h"

namespace custody::rendezvous {

inline constexpr uint32_t kDefaultMaxLifetimeSeconds = 7 * 24 * 3600;
inline constexpr uint32_t kDefaultSweepIntervalSeconds = 60;

class Rendezvous {
 public:
  // Checks the configuration, fills its defaults, loads or creates the state
  // directory's identity and database, and starts the sweeper.
  static absl::StatusOr<std::unique_ptr<Rendezvous>> Open(v1::RendezvousConfig config, Clock& clock,
                                                          SecureRandom& random);
  ~Rendezvous();
  Rendezvous(const Rendezvous&) = delete;
  Rendezvous& operator=(const Rendezvous&) = delete;

  const v1::RendezvousConfig& config() const { return config_; }
  const pki::ServiceIdentity& identity() const { return *identity_; }
  storage::Store& store() { return *store_; }
  // The device-facing service and the admin service, with the admin roles.
  const server::Services& services() const { return services_; }

  // Deletes every expired registration now; returns how many (the sweeper's step).
  absl::StatusOr<int64_t> SweepExpired();

 private:
  explicit Rendezvous(Clock& clock) : clock_(clock) {}
  void RunSweeper();

  Clock& clock_;
  v1::RendezvousConfig config_;
  std::optional<pki::ServiceIdentity> identity_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<server::Telemetry> telemetry_;
  std::unique_ptr<server::SessionFrame> frame_;
  std::unique_ptr<server::RateLimiter> to0_limiter_;
  std::unique_ptr<server::RateLimiter> to1_limiter_;
  std::unique_ptr<server::StreamKind> to0_stream_;
  std::unique_ptr<server::StreamKind> to1_stream_;
  std::unique_ptr<RendezvousService> service_;
  std::unique_ptr<RendezvousAdminService> admin_;
  server::Services services_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread sweeper_;
};

}  // namespace custody::rendezvous

#endif  // CUSTODY_RENDEZVOUS_RENDEZVOUS_SERVER_H_
