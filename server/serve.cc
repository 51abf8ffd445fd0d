#include "server/serve.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

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
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/credentials.h"

namespace custody::server {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

absl::Status PrepareServerConfig(v1::ServerConfig& config) {
  if (config.state_dir().empty()) return absl::InvalidArgumentError("server.state_dir is required");
  if (config.listen_address().empty()) {
    return absl::InvalidArgumentError("server.listen_address is required");
  }
  if (config.admin_listen_address().empty()) {
    return absl::InvalidArgumentError("server.admin_listen_address is required");
  }
  if (config.max_message_bytes() == 0) config.set_max_message_bytes(kDefaultMaxMessageBytes);
  if (config.max_message_bytes() > 16 * 1024 * 1024) {
    return absl::InvalidArgumentError("server.max_message_bytes is over 16 MiB");
  }
  if (config.step_deadline_seconds() == 0) {
    config.set_step_deadline_seconds(kDefaultStepDeadlineSeconds);
  }
  if (::mkdir(config.state_dir().c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("creating ", config.state_dir()));
  }
  return absl::OkStatus();
}

void PrepareProcess() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
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
    options.ip_addresses.assign(config.tls_ip_addresses().begin(),
                                config.tls_ip_addresses().end());
  }
  return options;
}

absl::StatusOr<RunningServers> StartServers(const v1::ServerConfig& config,
                                            const pki::ServiceIdentity& identity,
                                            const Services& services) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  auto build = [&](const std::string& address, std::shared_ptr<grpc::ServerCredentials> creds,
                   const std::vector<grpc::Service*>& list,
                   int* port) -> std::unique_ptr<grpc::Server> {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, creds, port);
    builder.SetMaxReceiveMessageSize(static_cast<int>(config.max_message_bytes()));
    builder.SetMaxSendMessageSize(static_cast<int>(config.max_message_bytes()));
    for (grpc::Service* service : list) builder.RegisterService(service);
    return builder.BuildAndStart();
  };
  CUSTODY_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> device_creds,
                           DeviceFacingCredentials(identity));
  CUSTODY_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> admin_creds,
                           AdminCredentials(identity));
  RunningServers running;
  running.device = build(config.listen_address(), device_creds, services.device,
                         &running.device_port);
  if (running.device == nullptr || running.device_port == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen on ", config.listen_address()));
  }
  running.admin = build(config.admin_listen_address(), admin_creds, services.admin,
                        &running.admin_port);
  if (running.admin == nullptr || running.admin_port == 0) {
    running.device->Shutdown();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen on ", config.admin_listen_address()));
  }
  return running;
}

void RunningServers::Shutdown(absl::Duration grace) {
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoNanoseconds(grace);
  if (device != nullptr) device->Shutdown(deadline);
  if (admin != nullptr) admin->Shutdown(deadline);
  if (device != nullptr) device->Wait();
  if (admin != nullptr) admin->Wait();
}

absl::Status ServeUntilSignal(const v1::ServerConfig& config,
                              const pki::ServiceIdentity& identity, const Services& services) {
  PrepareProcess();
  CUSTODY_ASSIGN_OR_RETURN(RunningServers running, StartServers(config, identity, services));
  std::fprintf(stderr, "custody: serving devices on port %d, admin on port %d\n",
               running.device_port, running.admin_port);
  if (!config.ports_file().empty()) {
    absl::Status written = WriteFileAtomically(
        config.ports_file(),
        absl::StrCat("device=", running.device_port, "\nadmin=", running.admin_port, "\n"),
        0644);
    if (!written.ok()) {
      running.Shutdown(absl::ZeroDuration());
      return written;
    }
  }

  const sigset_t set = TerminationSignals();
  int signal_number = 0;
  sigwait(&set, &signal_number);
  std::fprintf(stderr, "custody: signal %d, shutting down (grace %lld s)\n", signal_number,
               static_cast<long long>(absl::ToInt64Seconds(kShutdownGrace)));
  running.Shutdown(kShutdownGrace);
  return absl::OkStatus();
}

}  // namespace custody::server
