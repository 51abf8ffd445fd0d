// stream_flood: floods one Custody service with protocol streams that never
// finish, or with TCP connections that never start TLS, and reports how the
// service ended each (integration/flood_test.sh asserts on the report;
// docs/server.md, "Caps and connection bounds").
//
//   stream_flood --protocol to2|di|to1 --target HOST:PORT --ca SERVICE_TLS_CA
//                --idle N --stall N [--channels C] [--guid GUID] [--model M]
//   stream_flood --protocol tcp --target HOST:PORT --connections N
//   stream_flood --protocol hold --target HOST:PORT --connections N [--source ADDR]
//
// A stream kind opens N streams that send nothing (--idle) and N that send the
// protocol's first message, read the service's answer and then stall (--stall):
// TO2.HelloDevice for --guid (an imported device), TO1.HelloRV for --guid (a
// registered device), DI.AppStart for a device of --model. The streams are spread
// over C connections and held open until the service ends them (at most 120 s).
// It prints one line per outcome:
//
//   outcome kind=idle|stall code=CODE check=CHECK count=N min_s=S max_s=S
//
// where the times run from the stream's last message from the service (or its
// start) to its end, then `streams=N answered=N`.
//
// tcp opens N connections, sends nothing, and prints
//   tcp opened=N closed=N max_s=S
// once the service has closed them all (or after 120 s).
//
// hold tries N connections from --source (an address of this host), one after
// the other, prints
//   hold connected=N refused=N
// (refused: reset at once, as a firewall cap does), then holds the connected ones
// until it is killed (integration/connection_caps_test.sh).

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "core/base/file_util.h"
#include "core/base/random.h"
#include "core/base/secret_bytes.h"
#include "core/base/status.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/hmac.h"
#include "core/protocol/di_client.h"
#include "core/voucher/voucher_format.h"
#include "custody/v1/manufacturer.grpc.pb.h"
#include "custody/v1/owner.grpc.pb.h"
#include "custody/v1/rendezvous.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/credentials.h"
#include "server/grpc_status.h"
#include "server/listen_address.h"

ABSL_FLAG(std::string, protocol, "", "to2, di, to1 or tcp");
ABSL_FLAG(std::string, target, "", "the service's device-facing HOST:PORT");
ABSL_FLAG(std::string, ca, "", "the service's TLS CA (PEM)");
ABSL_FLAG(int, idle, 0, "streams that send nothing");
ABSL_FLAG(int, stall, 0, "streams that send the first message, then stall");
ABSL_FLAG(int, channels, 64, "connections the streams are spread over");
ABSL_FLAG(std::string, guid, "", "to2, to1: the device the first message names");
ABSL_FLAG(std::string, model, "", "di: the model the first message names");
ABSL_FLAG(int, connections, 0, "tcp, hold: connections that never start TLS");
ABSL_FLAG(std::string, source, "", "hold: the local address to connect from");

namespace custody {
namespace {

constexpr absl::Duration kLimit = absl::Seconds(120);

struct Outcome {
  int count = 0;
  double min_s = 1e9;
  double max_s = 0;
};

// Every stream's end, by kind, code and check. Thread-safe.
class Report {
 public:
  void Add(bool stall, const grpc::Status& status, double seconds) {
    absl::MutexLock lock(&mu_);
    Outcome& o = outcomes_[{stall, status.error_code(), server::ErrorDetailOf(status).check()}];
    ++o.count;
    o.min_s = std::min(o.min_s, seconds);
    o.max_s = std::max(o.max_s, seconds);
    ++ended_;
    done_.SignalAll();
  }
  void Answered() {
    answered_.fetch_add(1);
    absl::MutexLock lock(&mu_);
    done_.SignalAll();
  }
  // Waits until `n` stalling streams have had their answer or ended, then says
  // "ready" (the flood is in place).
  void WaitReady(int n) {
    absl::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + kLimit;
    while (answered_.load() + ended_ < n && absl::Now() < deadline) {
      done_.WaitWithDeadline(&mu_, deadline);
    }
    std::printf("ready answered=%d ended=%d\n", answered_.load(), ended_);
    std::fflush(stdout);
  }
  // Waits until `n` streams ended or the limit passed.
  void Wait(int n) {
    absl::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + kLimit + absl::Seconds(10);
    while (ended_ < n && absl::Now() < deadline) done_.WaitWithDeadline(&mu_, deadline);
  }
  void Print(int streams) {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, o] : outcomes_) {
      const auto& [stall, code, check] = key;
      std::printf("outcome kind=%s code=%d check=%s count=%d min_s=%.3f max_s=%.3f\n",
                  stall ? "stall" : "idle", static_cast<int>(code),
                  check.empty() ? "-" : check.c_str(), o.count, o.min_s, o.max_s);
    }
    std::printf("streams=%d ended=%d answered=%d\n", streams, ended_, answered_.load());
  }

 private:
  absl::Mutex mu_;
  absl::CondVar done_;
  std::map<std::tuple<bool, grpc::StatusCode, std::string>, Outcome> outcomes_ ABSL_GUARDED_BY(mu_);
  int ended_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int> answered_{0};
};

// One stream: sends `first` unless idle, reads one answer, then waits for the
// end. Deletes itself.
template <typename Request, typename Response>
class FloodStream final : public grpc::ClientBidiReactor<Request, Response> {
 public:
  template <typename Stub>
  FloodStream(Stub* stub,
              void (Stub::async_interface::*method)(grpc::ClientContext*,
                                                    grpc::ClientBidiReactor<Request, Response>*),
              const Request* first, Report& report)
      : first_(first), report_(report), last_(absl::Now()) {
    context_.set_deadline(absl::ToChronoTime(absl::Now() + kLimit));
    (stub->async()->*method)(&context_, this);
    if (first_ != nullptr) this->StartWrite(first_);
    this->StartRead(&response_);
    this->StartCall();
  }
  void OnWriteDone(bool /*ok*/) override {}
  void OnReadDone(bool ok) override {
    if (!ok) return;
    report_.Answered();
    last_ = absl::Now();
    this->StartRead(&response_);  // Stall: wait for the service to end it.
  }
  void OnDone(const grpc::Status& status) override {
    report_.Add(first_ != nullptr, status, absl::ToDoubleSeconds(absl::Now() - last_));
    delete this;
  }

 private:
  grpc::ClientContext context_;
  const Request* first_;
  Report& report_;
  Response response_;
  absl::Time last_;
};

void RaiseDescriptorLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::vector<std::shared_ptr<grpc::Channel>> Channels(const std::string& ca_pem) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_channels)); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("custody.flood_channel", i);  // One connection per channel.
    args.SetMaxReceiveMessageSize(1 << 20);
    channels.push_back(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target),
                                                 server::ClientCredentials(ca_pem, "", ""), args));
  }
  return channels;
}

template <typename Request, typename Response, typename Service>
absl::Status Flood(const Request& first,
                   void (Service::Stub::async_interface::*method)(
                       grpc::ClientContext*, grpc::ClientBidiReactor<Request, Response>*)) {
  CUSTODY_ASSIGN_OR_RETURN(std::string ca, ReadFileBounded(absl::GetFlag(FLAGS_ca), 64 * 1024));
  std::vector<std::unique_ptr<typename Service::Stub>> stubs;
  for (const std::shared_ptr<grpc::Channel>& channel : Channels(ca)) {
    stubs.push_back(Service::NewStub(channel));
  }
  const int idle = absl::GetFlag(FLAGS_idle);
  const int stall = absl::GetFlag(FLAGS_stall);
  Report report;
  // Interleaved, so that both kinds meet the caps alike.
  for (int i = 0; i < idle + stall; ++i) {
    const bool stalls = (i % 2 == 1 && i / 2 < stall) || i / 2 >= idle;
    typename Service::Stub* stub = stubs[i % stubs.size()].get();
    new FloodStream<Request, Response>(stub, method, stalls ? &first : nullptr, report);
  }
  report.WaitReady(stall);
  report.Wait(idle + stall);
  report.Print(idle + stall);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Guid() {
  if (absl::GetFlag(FLAGS_guid).empty()) return absl::InvalidArgumentError("--guid is required");
  return voucher::ParseGuid(absl::GetFlag(FLAGS_guid));
}

absl::Status FloodTo2() {
  CUSTODY_ASSIGN_OR_RETURN(std::string guid, Guid());
  v1::To2HelloDevicePayload payload;
  payload.mutable_guid()->set_value(guid);
  CUSTODY_ASSIGN_OR_RETURN(std::string nonce, SystemRandom().Bytes(16));
  payload.set_nonce_prove_owner(nonce);
  payload.add_suites(v1::TO2_SUITE_ECDH_P256_AES256GCM);
  payload.set_attestation_algorithm(v1::SIGNATURE_ALGORITHM_ES256);
  v1::To2Request hello;
  hello.mutable_hello_device()->set_payload(payload.SerializeAsString());
  return Flood<v1::To2Request, v1::To2Response, v1::Owner>(
      hello, &v1::Owner::Stub::async_interface::Onboard);
}

absl::Status FloodTo1() {
  CUSTODY_ASSIGN_OR_RETURN(std::string guid, Guid());
  v1::To1Request hello;
  hello.mutable_hello_rv()->mutable_guid()->set_value(guid);
  return Flood<v1::To1Request, v1::To1Response, v1::Rendezvous>(
      hello, &v1::Rendezvous::Stub::async_interface::FindOwner);
}

absl::Status FloodDi() {
  if (absl::GetFlag(FLAGS_model).empty()) return absl::InvalidArgumentError("--model is required");
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey key,
                           crypto::EcPrivateKey::Generate(crypto::Curve::kP256));
  v1::DeviceInfo info;
  info.set_model(absl::GetFlag(FLAGS_model));
  info.set_serial("FLOOD-1");
  const crypto::SoftwareHmacKey secret(SecretBytes(32));
  protocol::DiClientSession session(info, key, secret);
  CUSTODY_ASSIGN_OR_RETURN(v1::DiRequest app_start, session.Start());
  return Flood<v1::DiRequest, v1::DiResponse, v1::DeviceInitialization>(
      app_start, &v1::DeviceInitialization::Stub::async_interface::Initialize);
}

// The address of a host and port, resolved.
absl::StatusOr<std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)>> Resolve(
    absl::string_view flag, const std::string& host, uint32_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " does not resolve"));
  }
  return std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)>(found, ::freeaddrinfo);
}

absl::Status HoldTcp() {
  CUSTODY_ASSIGN_OR_RETURN(server::ListenAddress target,
                           server::ParseListenAddress("--target", absl::GetFlag(FLAGS_target)));
  CUSTODY_ASSIGN_OR_RETURN(auto address, Resolve("--target", target.host, target.port));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> source(nullptr, ::freeaddrinfo);
  if (!absl::GetFlag(FLAGS_source).empty()) {
    CUSTODY_ASSIGN_OR_RETURN(source, Resolve("--source", absl::GetFlag(FLAGS_source), 0));
  }
  int connected = 0;
  int refused = 0;
  std::vector<int> held;
  for (int i = 0; i < absl::GetFlag(FLAGS_connections); ++i) {
    const int fd = ::socket(address->ai_family, SOCK_STREAM, 0);
    if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
    if (source != nullptr && ::bind(fd, source->ai_addr, source->ai_addrlen) != 0) {
      ::close(fd);
      return absl::ErrnoToStatus(errno, "binding --source");
    }
    if (::connect(fd, address->ai_addr, address->ai_addrlen) == 0) {
      ++connected;
      held.push_back(fd);
    } else if (errno == ECONNREFUSED) {
      ++refused;
      ::close(fd);
    } else {
      ::close(fd);
      return absl::ErrnoToStatus(errno, absl::StrCat("connect ", i));
    }
  }
  std::printf("hold connected=%d refused=%d\n", connected, refused);
  std::fflush(stdout);
  while (true) ::pause();
}

absl::Status FloodTcp() {
  CUSTODY_ASSIGN_OR_RETURN(server::ListenAddress target,
                           server::ParseListenAddress("--target", absl::GetFlag(FLAGS_target)));
  CUSTODY_ASSIGN_OR_RETURN(auto address, Resolve("--target", target.host, target.port));
  const int n = absl::GetFlag(FLAGS_connections);
  std::vector<pollfd> fds;
  const absl::Time start = absl::Now();
  for (int i = 0; i < n; ++i) {
    const int fd = ::socket(address->ai_family, SOCK_STREAM, 0);
    if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
    if (::connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
      ::close(fd);
      return absl::ErrnoToStatus(errno, absl::StrCat("connect ", i));
    }
    fds.push_back({fd, POLLIN, 0});
  }
  int closed = 0;
  double max_s = 0;
  std::vector<bool> done(fds.size(), false);
  while (closed < n && absl::Now() - start < kLimit) {
    if (::poll(fds.data(), fds.size(), 1000) <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (done[i] || fds[i].revents == 0) continue;
      char byte;
      if (::read(fds[i].fd, &byte, 1) > 0) continue;  // Nothing is expected; keep waiting.
      done[i] = true;
      ++closed;
      max_s = absl::ToDoubleSeconds(absl::Now() - start);
      ::close(fds[i].fd);
      fds[i].fd = -fds[i].fd - 1;  // poll ignores negative descriptors.
    }
  }
  std::printf("tcp opened=%d closed=%d max_s=%.3f\n", n, closed, max_s);
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!done[i]) ::close(fds[i].fd);
  }
  return absl::OkStatus();
}

absl::Status Run() {
  RaiseDescriptorLimit();
  const std::string protocol = absl::GetFlag(FLAGS_protocol);
  if (absl::GetFlag(FLAGS_target).empty())
    return absl::InvalidArgumentError("--target is required");
  if (protocol == "tcp") return FloodTcp();
  if (protocol == "hold") return HoldTcp();
  if (absl::GetFlag(FLAGS_ca).empty()) return absl::InvalidArgumentError("--ca is required");
  if (protocol == "to2") return FloodTo2();
  if (protocol == "to1") return FloodTo1();
  if (protocol == "di") return FloodDi();
  return absl::InvalidArgumentError("--protocol must be to2, di, to1, tcp or hold");
}

}  // namespace
}  // namespace custody

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "stream_flood --protocol to2|di|to1|tcp|hold --target HOST:PORT [--ca CA] "
      "[--idle N --stall N] [--connections N] [--source ADDR]");
  absl::ParseCommandLine(argc, argv);
  absl::Status status = custody::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "stream_flood: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
