// Running a service's gRPC servers from its listener list: the device-facing
// server (TLS) and the admin server (mutual TLS) on their own ports, so that no
// admin RPC is reachable from the device port. Every address is checked before
// anything binds (server/listen_address.h), and SO_REUSEPORT is off, so a port
// that another process holds is refused at start. Both servers get the health
// service and the configured message size limit; the admin server also serves
// reflection. Connections are bounded: one whose TLS handshake has not finished
// within handshake_timeout_seconds, or that holds no stream for
// connection_idle_seconds, is closed. Both stop gracefully on SIGTERM or SIGINT:
// in-flight calls get a grace period, then are cancelled.

#ifndef CUSTODY_SERVER_SERVE_H_
#define CUSTODY_SERVER_SERVE_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/pki/service_identity.h"
#include "custody/v1/config.pb.h"
#include "grpcpp/impl/service_type.h"
#include "grpcpp/server.h"
#include "server/admin_auth.h"
#include "server/metrics_http.h"
#include "server/rate_limiter.h"
#include "server/session_frame.h"
#include "server/telemetry.h"

namespace custody::server {

inline constexpr uint32_t kDefaultMaxMessageBytes = 64 * 1024;
inline constexpr uint32_t kDefaultStepDeadlineSeconds = 30;
inline constexpr char kDefaultMetricsListenAddress[] = "127.0.0.1:0";
inline constexpr uint32_t kDefaultMaxSessions = 4096;
inline constexpr uint32_t kDefaultMaxSessionsPerPeer = 64;
inline constexpr uint32_t kDefaultStoreWorkers = 4;
inline constexpr uint32_t kDefaultHandshakeTimeoutSeconds = 5;
inline constexpr uint32_t kDefaultConnectionIdleSeconds = 300;
// Streams one connection may hold at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).
inline constexpr int kMaxStreamsPerConnection = 256;
// The descriptor limit PrepareProcess raises the soft limit to, when the hard
// limit allows.
inline constexpr uint64_t kMaxDescriptors = 65536;
// Threads gRPC may use for the synchronous (unary) services of one server.
inline constexpr int kMaxSyncThreadsPerServer = 8;
inline constexpr absl::Duration kShutdownGrace = absl::Seconds(10);

// Fills the defaults of `config` and checks it (INVALID_ARGUMENT naming the field).
absl::Status PrepareServerConfig(v1::ServerConfig& config);

// Blocks SIGTERM and SIGINT in the calling thread and every thread it creates
// later, so that ServeUntilSignal receives them, and turns off Abseil's mutex
// deadlock detection, which Debian's Abseil build leaves on at run time (a graph
// update on every lock; it showed in DI profiles), and raises the soft limit on
// open descriptors to kMaxDescriptors (or the hard limit). Call first thing in
// main().
void PrepareProcess();

// Fills a rate limit's defaults and checks it (INVALID_ARGUMENT naming `field`).
absl::Status PrepareRateLimit(v1::RateLimitConfig& limit, double per_second, uint32_t burst,
                              absl::string_view field);
RateLimit ToRateLimit(const v1::RateLimitConfig& config);

// The session frame a service's streams share, sized by `config`, reporting to
// `telemetry` and logging through DefaultLogger().
std::unique_ptr<SessionFrame> NewSessionFrame(const v1::ServerConfig& config, Clock& clock,
                                              Telemetry& telemetry);

// Makes the default logger the one `config` asks for (format and level) and
// routes gRPC's own lines through it. INVALID_ARGUMENT naming the field. Call
// once, at start, before other threads log.
absl::Status ConfigureLogging(const v1::ServerConfig& config);

// The options of one stream kind: `protocol`, with the step deadline and the
// session caps of `config`.
StreamOptions StreamOptionsFor(const v1::ServerConfig& config, const StreamProtocol& protocol);

// The identity options that `config` implies for `service_name`.
pki::ServiceIdentityOptions IdentityOptions(const v1::ServerConfig& config,
                                            absl::string_view service_name);

struct Services {
  std::vector<grpc::Service*> device;
  std::vector<grpc::Service*> admin;
  // Per-call metrics on both servers, and the metrics endpoint's registry.
  Telemetry* telemetry = nullptr;
  // Who may call each method of the admin services (server/admin_auth.h); the
  // health and reflection methods are added. A method missing here is refused.
  AdminRoleTable admin_roles;
  // Where the admin port's refusals are audited, and the clock that stamps them and
  // checks client certificates; both must outlive the servers.
  storage::Store* audit = nullptr;
  Clock* clock = nullptr;
};

// Both servers, started.
struct RunningServers {
  std::unique_ptr<grpc::Server> device;
  std::unique_ptr<grpc::Server> admin;
  // Absent when server.metrics_listen_address is "none" or there is no telemetry.
  std::unique_ptr<MetricsHttpServer> metrics;
  int device_port = 0;
  int admin_port = 0;
  int metrics_port = 0;
  // Stops accepting calls, gives in-flight ones `grace`, then cancels them.
  void Shutdown(absl::Duration grace);
};

// Starts both servers with the configuration's limits (what ServeUntilSignal runs;
// tests use it to serve in-process). FAILED_PRECONDITION when a port cannot be
// bound.
absl::StatusOr<RunningServers> StartServers(const v1::ServerConfig& config,
                                            const pki::ServiceIdentity& identity,
                                            const Services& services);

// Starts both servers, writes the ports file if configured, serves until SIGTERM
// or SIGINT, then shuts down gracefully. FAILED_PRECONDITION when a port cannot
// be bound.
absl::Status ServeUntilSignal(const v1::ServerConfig& config, const pki::ServiceIdentity& identity,
                              const Services& services);

}  // namespace custody::server

#endif  // CUSTODY_SERVER_SERVE_H_
