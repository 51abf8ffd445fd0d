// The manufacturer's DI work per device, without transport: DiServerSession
// handling DI.AppStart and DI.SetHMAC, on the in-memory store and on SQLite on
// disk (synchronous=FULL). The time reported is the server thread's CPU time in its
// two Handle calls; the device's key, CSR and HMAC are made outside it. (The
// in-memory store copies its whole state per transaction: it is for tests.)
//
//   bazel run -c opt //core/protocol:di_benchmark   (docs/performance.md)

#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/hmac.h"
#include "core/crypto/x509_issue.h"
#include "core/protocol/di_client.h"
#include "core/protocol/di_server.h"
#include "core/storage/memory_store.h"
#include "core/storage/sqlite_store.h"

namespace custody::protocol {
namespace {

class OneModel final : public ModelCatalog {
 public:
  OneModel() {
    profile_.model = "gw-100";
    v1::RendezvousEndpoint* endpoint = profile_.rendezvous_info.add_endpoints();
    endpoint->set_host("rv.example.com");
    endpoint->set_port(8041);
    endpoint->set_transport(v1::RendezvousEndpoint::TRANSPORT_GRPC_TLS);
  }
  absl::StatusOr<ModelProfile> Lookup(absl::string_view model) const override {
    if (model != profile_.model) return absl::NotFoundError("no such model");
    return profile_;
  }

 private:
  ModelProfile profile_;
};

// CPU time of the calling thread: what the server spends, not what it waits for
// (fsync).
double ThreadCpuSeconds() {
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Device {
  std::unique_ptr<crypto::EcPrivateKey> key;
  crypto::SoftwareHmacKey secret;
  std::unique_ptr<DiClientSession> client;
  v1::DiRequest app_start;
};

std::unique_ptr<storage::Store> OpenStore(bool sqlite) {
  if (!sqlite) return storage::NewMemoryStore();
  static int counter = 0;
  const char* tmp = std::getenv("TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/di_benchmark_", ::getpid(),
                                        "_", ++counter, ".db");
  std::unique_ptr<storage::Store> store = *storage::OpenSqliteStore(path);
  ::unlink(path.c_str());  // Unlinked while open: removed when the run ends.
  return store;
}

void BM_DiServerPerDevice(benchmark::State& state) {
  const bool sqlite = state.range(0) == 1;
  const crypto::EcPrivateKey voucher_key = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  const crypto::EcPrivateKey ca_key = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  ManufacturerKeys keys;
  keys.voucher_key = &voucher_key;
  keys.device_ca_key = &ca_key;
  const absl::Time now = SystemClock().Now();
  keys.device_ca_chain = {
      *crypto::CreateSelfSignedCa(ca_key, {"Bench Device CA", "Bench", ""}, now - absl::Hours(1),
                                  now + absl::Hours(24 * 365 * 20), SystemRandom())};
  OneModel models;
  std::unique_ptr<storage::Store> store = OpenStore(sqlite);
  const DiServerDeps deps{store.get(), &SystemClock(), &SystemRandom(), &keys, &models};

  // Devices are made in batches outside the timed region.
  constexpr int kBatch = 256;
  int serial = 0;
  std::vector<Device> batch;
  size_t next = 0;
  for (auto _ : state) {
    if (next == batch.size()) {
      batch.clear();
      batch.resize(kBatch);
      for (Device& device : batch) {
        device.key = std::make_unique<crypto::EcPrivateKey>(
            *crypto::EcPrivateKey::Generate(crypto::Curve::kP256));
        SecretBytes secret(32);
        (void)SystemRandom().Fill(absl::MakeSpan(secret.mutable_data(), 32));
        device.secret = crypto::SoftwareHmacKey(std::move(secret));
        v1::DeviceInfo info;
        info.set_model("gw-100");
        info.set_serial(absl::StrCat("BENCH-", ++serial));
        device.client = std::make_unique<DiClientSession>(info, *device.key, device.secret);
        device.app_start = *device.client->Start();
      }
      next = 0;
    }
    Device& device = batch[next++];
    DiServerSession server(deps);
    const double t0 = ThreadCpuSeconds();
    absl::StatusOr<v1::DiResponse> credentials = server.Handle(device.app_start);
    const double t1 = ThreadCpuSeconds();
    absl::StatusOr<std::optional<v1::DiRequest>> hmac = device.client->Handle(*credentials);
    const double t2 = ThreadCpuSeconds();
    absl::StatusOr<v1::DiResponse> done = server.Handle(**hmac);
    const double t3 = ThreadCpuSeconds();
    if (!done.ok() || !server.done()) {
      state.SkipWithError(std::string(done.status().message()).c_str());
      break;
    }
    state.SetIterationTime((t1 - t0) + (t3 - t2));
  }
  state.counters["devices/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
// SQLite on disk only: the in-memory store copies its whole state per transaction
// (it serves tests), so its cost grows with the run.
BENCHMARK(BM_DiServerPerDevice)
    ->Arg(1)
    ->ArgName("sqlite")
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace custody::protocol

BENCHMARK_MAIN();
