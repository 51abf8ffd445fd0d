#include "server/serve.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/base/file_util.h"
#include "core/base/status.h"
#include "core/base/version.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/resource_quota.h"
#include "server/credentials.h"
#include "server/firewall.h"
#include "server/listen_address.h"
#include "server/log.h"

namespace custody::server {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// Leaves reflection out of one server (the device-facing one). Linking gRPC's
// reflection library turns it on for every server.
class WithoutReflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const std::unique_ptr<grpc::ServerBuilderPlugin>& plugin) {
                                    return plugin->name() == "proto_server_reflection";
                                  }),
                   plugins->end());
  }
};

std::vector<NamedAddress> ListenAddressesOf(const v1::ServerConfig& config) {
  std::vector<NamedAddress> addresses = {
      {"server.listen_address", config.listen_address()},
      {"server.admin_listen_address", config.admin_listen_address()}};
  if (config.metrics_listen_address() != "none" && !config.metrics_listen_address().empty()) {
    addresses.push_back({"server.metrics_listen_address", config.metrics_listen_address()});
  }
  return addresses;
}

}  // namespace

absl::Status PrepareServerConfig(v1::ServerConfig& config) {
  if (config.state_dir().empty()) return absl::InvalidArgumentError("server.state_dir is required");
  if (config.metrics_listen_address().empty()) {
    config.set_metrics_listen_address(kDefaultMetricsListenAddress);
  }
  CUSTODY_RETURN_IF_ERROR(CheckListenAddresses(ListenAddressesOf(config)));
  if (config.metrics_listen_address() != "none") {
    CUSTODY_ASSIGN_OR_RETURN(
        ListenAddress metrics,
        ParseListenAddress("server.metrics_listen_address", config.metrics_listen_address()));
    unsigned char bytes[16];
    if (::inet_pton(AF_INET, metrics.host.c_str(), bytes) != 1 &&
        ::inet_pton(AF_INET6, metrics.host.c_str(), bytes) != 1) {
      return absl::InvalidArgumentError(
          "server.metrics_listen_address must be an IP address and port, e.g. 127.0.0.1:9464 "
          "or \"none\"");
    }
  }
  if (config.log_format().empty()) config.set_log_format("logfmt");
  if (config.log_level().empty()) config.set_log_level("info");
  CUSTODY_RETURN_IF_ERROR(
      Annotate(ParseLogFormat(config.log_format()).status(), "server.log_format"));
  CUSTODY_RETURN_IF_ERROR(Annotate(ParseLogLevel(config.log_level()).status(), "server.log_level"));
  if (config.max_message_bytes() == 0) config.set_max_message_bytes(kDefaultMaxMessageBytes);
  if (config.max_message_bytes() > 16 * 1024 * 1024) {
    return absl::InvalidArgumentError("server.max_message_bytes is over 16 MiB");
  }
  if (config.step_deadline_seconds() == 0) {
    config.set_step_deadline_seconds(kDefaultStepDeadlineSeconds);
  }
  if (config.step_deadline_seconds() > 3600) {
    return absl::InvalidArgumentError("server.step_deadline_seconds must be at most 3600");
  }
  if (config.max_sessions() == 0) config.set_max_sessions(kDefaultMaxSessions);
  if (config.max_sessions() > 1000000) {
    return absl::InvalidArgumentError("server.max_sessions must be at most 1000000");
  }
  if (config.max_sessions_per_peer() == 0) {
    config.set_max_sessions_per_peer(kDefaultMaxSessionsPerPeer);
  }
  if (config.max_sessions_per_peer() > config.max_sessions()) {
    return absl::InvalidArgumentError(
        "server.max_sessions_per_peer must be at most server.max_sessions");
  }
  if (config.store_workers() == 0) config.set_store_workers(kDefaultStoreWorkers);
  if (config.store_workers() > 64) {
    return absl::InvalidArgumentError("server.store_workers must be at most 64");
  }
  if (config.handshake_timeout_seconds() == 0) {
    config.set_handshake_timeout_seconds(kDefaultHandshakeTimeoutSeconds);
  }
  if (config.handshake_timeout_seconds() > 120) {
    return absl::InvalidArgumentError("server.handshake_timeout_seconds must be at most 120");
  }
  if (config.connection_idle_seconds() == 0) {
    config.set_connection_idle_seconds(kDefaultConnectionIdleSeconds);
  }
  if (config.connection_idle_seconds() > 86400) {
    return absl::InvalidArgumentError("server.connection_idle_seconds must be at most 86400");
  }
  CUSTODY_RETURN_IF_ERROR(PrepareConnectionCaps(config));
  if (::mkdir(config.state_dir().c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("creating ", config.state_dir()));
  }
  return absl::OkStatus();
}

std::unique_ptr<SessionFrame> NewSessionFrame(const v1::ServerConfig& config, Clock& clock,
                                              Telemetry& telemetry) {
  return std::make_unique<SessionFrame>(
      clock, telemetry.metrics(), DefaultLogger(),
      config.store_workers() == 0 ? kDefaultStoreWorkers : config.store_workers());
}

absl::Status ConfigureLogging(const v1::ServerConfig& config) {
  absl::StatusOr<LogFormat> format =
      ParseLogFormat(config.log_format().empty() ? "logfmt" : config.log_format());
  if (!format.ok()) return Annotate(format.status(), "server.log_format");
  absl::StatusOr<LogLevel> level =
      ParseLogLevel(config.log_level().empty() ? "info" : config.log_level());
  if (!level.ok()) return Annotate(level.status(), "server.log_level");
  // Lives until the process ends: threads may log until the last moment.
  static Logger* const logger = new Logger(SystemClock(), *format, *level);
  SetDefaultLogger(logger);
  RouteGrpcLogs(logger);
  return absl::OkStatus();
}

StreamOptions StreamOptionsFor(const v1::ServerConfig& config, const StreamProtocol& protocol) {
  StreamOptions options;
  options.protocol = protocol;
  options.step_deadline =
      absl::Seconds(config.step_deadline_seconds() == 0 ? kDefaultStepDeadlineSeconds
                                                        : config.step_deadline_seconds());
  options.caps.max_sessions =
      config.max_sessions() == 0 ? kDefaultMaxSessions : config.max_sessions();
  options.caps.max_sessions_per_peer = config.max_sessions_per_peer() == 0
                                           ? kDefaultMaxSessionsPerPeer
                                           : config.max_sessions_per_peer();
  return options;
}

void PrepareProcess() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Each connection is a descriptor: take what the hard limit allows (up to
  // kMaxDescriptors) rather than a soft limit of 1024 that a flood exhausts.
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < kMaxDescriptors) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, kMaxDescriptors);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  const sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::Status PrepareRateLimit(v1::RateLimitConfig& limit, double per_second, uint32_t burst,
                              absl::string_view field) {
  if (limit.per_second() == 0) limit.set_per_second(per_second);
  if (limit.burst() == 0) limit.set_burst(burst);
  if (!std::isfinite(limit.per_second()) || limit.per_second() < 0.001 ||
      limit.per_second() > 1e6) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".per_second must be between 0.001 and 1000000"));
  }
  if (limit.burst() > 1000000) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".burst must be at most 1000000"));
  }
  return absl::OkStatus();
}

RateLimit ToRateLimit(const v1::RateLimitConfig& config) {
  RateLimit limit;
  limit.per_second = config.per_second();
  limit.burst = config.burst();
  return limit;
}

pki::ServiceIdentityOptions IdentityOptions(const v1::ServerConfig& config,
                                            absl::string_view service_name) {
  pki::ServiceIdentityOptions options;
  options.service_name = std::string(service_name);
  if (!config.tls_dns_names().empty()) {
    options.dns_names.assign(config.tls_dns_names().begin(), config.tls_dns_names().end());
  }
  if (!config.tls_ip_addresses().empty()) {
    options.ip_addresses.assign(config.tls_ip_addresses().begin(), config.tls_ip_addresses().end());
  }
  return options;
}

absl::StatusOr<RunningServers> StartServers(const v1::ServerConfig& config,
                                            const pki::ServiceIdentity& identity,
                                            const Services& services) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  auto build = [&](const std::string& address, std::shared_ptr<grpc::ServerCredentials> creds,
                   const std::vector<grpc::Service*>& list, bool reflection,
                   int* port) -> std::unique_ptr<grpc::Server> {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, creds, port);
    builder.SetMaxReceiveMessageSize(static_cast<int>(config.max_message_bytes()));
    builder.SetMaxSendMessageSize(static_cast<int>(config.max_message_bytes()));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxStreamsPerConnection);
    // A second process on a taken port must fail, not share it.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                               static_cast<int>(1000 * (config.handshake_timeout_seconds() == 0
                                                            ? kDefaultHandshakeTimeoutSeconds
                                                            : config.handshake_timeout_seconds())));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               static_cast<int>(1000 * (config.connection_idle_seconds() == 0
                                                            ? kDefaultConnectionIdleSeconds
                                                            : config.connection_idle_seconds())));
    grpc::ResourceQuota quota(absl::StrCat("custody:", address));
    quota.SetMaxThreads(kMaxSyncThreadsPerServer);
    builder.SetResourceQuota(quota);
    if (!reflection) builder.SetOption(std::make_unique<WithoutReflection>());
    if (services.telemetry != nullptr) {
      std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
      creators.push_back(services.telemetry->calls().NewFactory());
      builder.experimental().SetInterceptorCreators(std::move(creators));
    }
    for (grpc::Service* service : list) builder.RegisterService(service);
    return builder.BuildAndStart();
  };
  CUSTODY_RETURN_IF_ERROR(CheckListenAddresses(ListenAddressesOf(config)));
  CUSTODY_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> device_creds,
                           DeviceFacingCredentials(identity));
  AdminAuthorizer::Options authorizer;
  authorizer.roles = services.admin_roles;
  CUSTODY_RETURN_IF_ERROR(MergeAdminRoles(authorizer.roles, StandardAdminRoles()));
  authorizer.admin_ca = &identity.admin_ca;
  authorizer.clock = services.clock != nullptr ? services.clock : &SystemClock();
  authorizer.audit = services.audit;
  if (services.telemetry != nullptr) authorizer.metrics = &services.telemetry->metrics();
  CUSTODY_ASSIGN_OR_RETURN(
      std::shared_ptr<grpc::ServerCredentials> admin_creds,
      AdminCredentials(identity, std::make_shared<AdminAuthorizer>(std::move(authorizer))));
  RunningServers running;
  running.device = build(config.listen_address(), device_creds, services.device,
                         /*reflection=*/false, &running.device_port);
  if (running.device == nullptr || running.device_port == 0) {
    return absl::FailedPreconditionError(absl::StrCat("server.listen_address: cannot listen on ",
                                                      config.listen_address(),
                                                      " (is another process using the port?)"));
  }
  running.admin = build(config.admin_listen_address(), admin_creds, services.admin,
                        /*reflection=*/true, &running.admin_port);
  if (running.admin == nullptr || running.admin_port == 0) {
    running.device->Shutdown();
    return absl::FailedPreconditionError(
        absl::StrCat("server.admin_listen_address: cannot listen on ",
                     config.admin_listen_address(), " (is another process using the port?)"));
  }
  const std::string& metrics_address = config.metrics_listen_address();
  if (services.telemetry != nullptr && !metrics_address.empty() && metrics_address != "none") {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> metrics =
        MetricsHttpServer::Start(metrics_address, services.telemetry->metrics());
    if (!metrics.ok()) {
      running.Shutdown(absl::ZeroDuration());
      return Annotate(metrics.status(), "server.metrics_listen_address");
    }
    running.metrics = *std::move(metrics);
    running.metrics_port = running.metrics->port();
  }
  return running;
}

void RunningServers::Shutdown(absl::Duration grace) {
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoNanoseconds(grace);
  if (device != nullptr) device->Shutdown(deadline);
  if (admin != nullptr) admin->Shutdown(deadline);
  if (device != nullptr) device->Wait();
  if (admin != nullptr) admin->Wait();
  metrics.reset();
}

absl::Status ServeUntilSignal(const v1::ServerConfig& config, const pki::ServiceIdentity& identity,
                              const Services& services) {
  PrepareProcess();
  CUSTODY_ASSIGN_OR_RETURN(RunningServers running, StartServers(config, identity, services));
  DefaultLogger().Info("serving", {{"device_port", running.device_port},
                                   {"admin_port", running.admin_port},
                                   {"metrics_port", running.metrics_port},
                                   {"version", kVersion},
                                   {"build_type", BuildType()}});
  if (!config.ports_file().empty()) {
    std::string ports =
        absl::StrCat("device=", running.device_port, "\nadmin=", running.admin_port, "\n");
    if (running.metrics != nullptr) absl::StrAppend(&ports, "metrics=", running.metrics_port, "\n");
    absl::Status written = WriteFileAtomically(config.ports_file(), ports, 0644);
    if (!written.ok()) {
      running.Shutdown(absl::ZeroDuration());
      return written;
    }
  }

  const sigset_t set = TerminationSignals();
  int signal_number = 0;
  sigwait(&set, &signal_number);
  DefaultLogger().Info("shutting down", {{"signal", signal_number},
                                         {"grace_s", absl::ToInt64Seconds(kShutdownGrace)}});
  running.Shutdown(kShutdownGrace);
  return absl::OkStatus();
}

}  // namespace custody::server
