// di_load: a DI load generator for the manufacturer service (docs/performance.md).
//
//   di_load --address 127.0.0.1:PORT --ca tls-ca.pem --devices 2000 --concurrency 16
//           [--server_pid PID] [--serial_prefix LOAD-]
//
// Every device gets its own key, HMAC secret and TLS connection, prepared before the
// clock starts, so the run measures the service, not key generation. Prints devices
// per second, latency percentiles and, with --server_pid, the server's CPU time per
// device (from /proc/PID/stat).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/file_util.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/hmac.h"
#include "core/protocol/di_client.h"
#include "custody/v1/manufacturer.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/credentials.h"
#include "tools/load_util.h"

ABSL_FLAG(std::string, address, "", "manufacturer device-facing address");
ABSL_FLAG(std::string, ca, "", "the manufacturer's tls-ca.pem");
ABSL_FLAG(int, devices, 1000, "devices to initialise");
ABSL_FLAG(int, concurrency, 16, "devices in flight at once");
ABSL_FLAG(int, server_pid, 0, "the server's pid, to report its CPU time per device");
ABSL_FLAG(std::string, model, "gw-100", "model of every device");
ABSL_FLAG(std::string, serial_prefix, "LOAD-", "serials are this prefix and a number");

namespace custody {
namespace {

struct Device {
  std::unique_ptr<crypto::EcPrivateKey> key;
  crypto::SoftwareHmacKey secret;
  v1::DeviceInfo info;
  std::unique_ptr<protocol::DiClientSession> session;
  v1::DiRequest first;
};

bool RunOne(Device& device, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
            const std::string& address) {
  grpc::ChannelArguments args;
  // One connection per device, as in the field.
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  auto channel = grpc::CreateCustomChannel(address, credentials, args);
  auto stub = v1::DeviceInitialization::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = stub->Initialize(&context);
  v1::DiRequest request = device.first;
  while (stream->Write(request)) {
    v1::DiResponse response;
    if (!stream->Read(&response)) break;
    absl::StatusOr<std::optional<v1::DiRequest>> next = device.session->Handle(response);
    if (!next.ok() || !next->has_value()) break;
    request = **next;
  }
  stream->WritesDone();
  return stream->Finish().ok() && device.session->done();
}

int Main() {
  const int count = absl::GetFlag(FLAGS_devices);
  const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  absl::StatusOr<std::string> ca = ReadFileBounded(absl::GetFlag(FLAGS_ca), 65536);
  if (!ca.ok() || absl::GetFlag(FLAGS_address).empty()) {
    std::fprintf(stderr, "di_load: --address and a readable --ca are required\n");
    return 2;
  }
  std::fprintf(stderr, "preparing %d devices...\n", count);
  std::vector<Device> devices(count);
  const std::string run = std::to_string(absl::ToUnixMillis(absl::Now()));
  for (int i = 0; i < count; ++i) {
    Device& device = devices[i];
    device.key = std::make_unique<crypto::EcPrivateKey>(
        *crypto::EcPrivateKey::Generate(crypto::Curve::kP256));
    device.secret =
        crypto::SoftwareHmacKey(SecretBytes::CopyFrom(std::string(32, static_cast<char>(i))));
    device.info.set_model(absl::GetFlag(FLAGS_model));
    device.info.set_serial(absl::StrCat(absl::GetFlag(FLAGS_serial_prefix), run, "-", i));
    device.session =
        std::make_unique<protocol::DiClientSession>(device.info, *device.key, device.secret);
    device.first = *device.session->Start();
  }
  auto credentials = server::ClientCredentials(*ca, "", "");
  std::vector<double> latencies(count);
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const double cpu_before = pid > 0 ? load::CpuSeconds(pid) : 0;
  const absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  for (int w = 0; w < concurrency; ++w) {
    workers.emplace_back([&] {
      for (int i = next++; i < count; i = next++) {
        const absl::Time begin = absl::Now();
        if (!RunOne(devices[i], credentials, absl::GetFlag(FLAGS_address))) ++failures;
        latencies[i] = absl::ToDoubleMilliseconds(absl::Now() - begin);
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu = pid > 0 ? load::CpuSeconds(pid) - cpu_before : 0;
  std::printf("devices: %d (%d failed), concurrency %d\n", count, failures.load(), concurrency);
  std::printf("throughput: %.0f devices/s\n", count / seconds);
  std::printf("latency: p50 %.2f ms, p99 %.2f ms\n", load::Percentile(latencies, 0.5),
              load::Percentile(latencies, 0.99));
  if (pid > 0) std::printf("server CPU: %.3f ms per device\n", 1000.0 * cpu / count);
  return failures.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace custody

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return custody::Main();
}
