// The owner's TO2 work per onboarding, without transport: To2ServerSession
// handling every message of a whole TO2 (HelloDevice with the store read and the
// header signature, the entries, ProveDevice with ECDH and the device's
// signature, the sealed SetupDevice, service info with the operational
// certificate issued for the device's CSR, and Done with the commit to SQLite on
// disk). The time reported is the owner thread's CPU time in its Handle calls;
// the device's side runs outside it. The same device onboards again each time
// with its first credential, as a device whose Done2 was lost does.
//
//   bazel run -c opt //core/protocol:to2_benchmark   (docs/performance.md)

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/crypto/x509_issue.h"
#include "core/protocol/to2_client.h"
#include "core/protocol/to2_server.h"
#include "core/storage/sqlite_store.h"
#include "core/voucher/sample_voucher.h"

namespace custody::protocol {
namespace {

double ThreadCpuSeconds() {
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void BM_To2OwnerPerOnboarding(benchmark::State& state) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/to2_benchmark.db");
  std::remove(path.c_str());
  std::unique_ptr<storage::Store> store = *storage::OpenSqliteStore(path);
  const absl::Time now = absl::Now();
  voucher::SampleOptions options;
  options.now = now;
  options.owners = 1;
  voucher::SampleVoucherSet set = *voucher::MakeSampleVoucherSet(options, SystemRandom());
  crypto::EcPrivateKey ca_key = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  crypto::Certificate ca = *crypto::CreateSelfSignedCa(
      ca_key, {"Owner device CA", "Bench Owner", ""}, now - absl::Hours(1),
      now + absl::Hours(24 * 3650), SystemRandom());
  OwnerKeys keys;
  keys.voucher_keys = {&set.owner_keys.back()};
  keys.device_ca_key = &ca_key;
  keys.device_ca_chain = {ca};
  OnboardingPolicy policy;
  policy.organization = "Bench Owner";
  policy.fleet_endpoint = "fleet.example:8044";
  const v1::OwnershipVoucher& voucher = set.stages.back();
  v1::VoucherHeader header;
  header.ParseFromString(voucher.header());
  storage::OwnedDeviceRecord record;
  record.guid = header.guid().value();
  record.model = header.device_info().model();
  record.serial = header.device_info().serial();
  record.voucher = voucher.SerializeAsString();
  record.imported_at = now;
  record.updated_at = now;
  if (!store->Transact([&](storage::Transaction& tx) { return tx.owned_devices().Insert(record); })
           .ok()) {
    state.SkipWithError("import failed");
    return;
  }
  const To2ServerDeps deps{store.get(), &SystemClock(), &SystemRandom(), &keys, &policy};
  for (auto _ : state) {
    To2DeviceInputs inputs;
    inputs.guid = record.guid;
    inputs.header_bytes = voucher.header();
    inputs.device_certificate_chain.assign(voucher.device_certificate_chain().begin(),
                                           voucher.device_certificate_chain().end());
    inputs.attestation_key = &set.device_key;
    inputs.hmac_secret = &set.device_secret;
    inputs.manufacturer_key = set.manufacturer_key.public_key();
    inputs.clock = &SystemClock();
    inputs.random = &SystemRandom();
    To2ClientSession device(std::move(inputs));
    To2ServerSession owner(deps);
    double cpu = 0;
    absl::StatusOr<v1::To2Request> first = device.Start();
    std::optional<v1::To2Request> request = *std::move(first);
    while (request.has_value()) {
      const double before = ThreadCpuSeconds();
      absl::StatusOr<v1::To2Response> response = owner.Handle(*request);
      cpu += ThreadCpuSeconds() - before;
      if (!response.ok()) {
        state.SkipWithError(std::string(response.status().message()).c_str());
        return;
      }
      absl::StatusOr<std::optional<v1::To2Request>> next = device.Handle(*response);
      if (!next.ok()) {
        state.SkipWithError(std::string(next.status().message()).c_str());
        return;
      }
      request = *std::move(next);
    }
    if (!owner.done() || !device.done()) {
      state.SkipWithError("TO2 did not finish");
      return;
    }
    state.SetIterationTime(cpu);
  }
  std::remove(path.c_str());
}
BENCHMARK(BM_To2OwnerPerOnboarding)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace custody::protocol

BENCHMARK_MAIN();
