// The rendezvous service's TO1 work per lookup, without transport:
// To1ServerSession handling TO1.HelloRV (one read of the registration from SQLite
// on disk) and TO1.ProveToRV (the device's ECDSA P-256 signature checked), among
// 1,000 registrations. The time reported is the server thread's CPU time in its
// two Handle calls; the device's signature is made outside it.
//
//   bazel run -c opt //core/protocol:to1_benchmark   (docs/performance.md)

#include <time.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/crypto/signed_payload.h"
#include "core/protocol/local_exchange.h"
#include "core/protocol/rendezvous_format.h"
#include "core/protocol/to1_server.h"
#include "core/storage/sqlite_store.h"
#include "core/voucher/sample_voucher.h"

namespace custody::protocol {
namespace {

constexpr int kRegistrations = 1000;

double ThreadCpuSeconds() {
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void BM_To1ServerPerLookup(benchmark::State& state) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/to1_benchmark.db");
  std::remove(path.c_str());
  std::unique_ptr<storage::Store> store = *storage::OpenSqliteStore(path);
  voucher::SampleOptions options;
  options.now = absl::Now();
  voucher::SampleVoucherSet set = *voucher::MakeSampleVoucherSet(options, SystemRandom());
  (void)TrustLocally(*store, set.manufacturer_key.public_key(), "bench");
  To0Registration registration;
  registration.voucher = set.stages.back();
  registration.addresses = {GrpcTlsAddress("owner.example", 8043)};
  registration.lifetime = absl::Hours(24);
  if (!RunTo0Locally(registration, set.owner_keys.back(),
                     {store.get(), &SystemClock(), &SystemRandom(), absl::Hours(24)}, "bench")
           .ok()) {
    state.SkipWithError("TO0 failed");
    return;
  }
  v1::VoucherHeader header;
  header.ParseFromString(set.stages.back().header());
  const std::string guid = header.guid().value();
  // Other registrations around it, copies of the real row under other GUIDs.
  storage::RegistrationRecord row;
  (void)store->Transact([&](storage::Transaction& tx) -> absl::Status {
    row = *tx.registrations().Get(guid);
    for (int i = 1; i < kRegistrations; ++i) {
      storage::RegistrationRecord other = row;
      other.guid = absl::StrCat("benchrow", std::string(8 - std::to_string(i).size(), '0'), i);
      (void)tx.registrations().Put(other);
    }
    return absl::OkStatus();
  });
  const To1ServerDeps deps{store.get(), &SystemClock(), &SystemRandom()};
  for (auto _ : state) {
    To1ServerSession server(deps);
    v1::To1Request hello;
    hello.mutable_hello_rv()->mutable_guid()->set_value(guid);
    double cpu = ThreadCpuSeconds();
    absl::StatusOr<v1::To1Response> ack = server.Handle(hello);
    cpu = ThreadCpuSeconds() - cpu;
    v1::To1Proof proof;
    proof.set_nonce(ack->hello_rv_ack().nonce());
    proof.mutable_guid()->set_value(guid);
    v1::To1Request prove;
    *prove.mutable_prove_to_rv()->mutable_proof() =
        *crypto::SignPayload(set.device_key, kTo1ProofType, proof.SerializeAsString());
    const double before = ThreadCpuSeconds();
    absl::StatusOr<v1::To1Response> redirect = server.Handle(prove);
    cpu += ThreadCpuSeconds() - before;
    if (!redirect.ok() || !server.done()) {
      state.SkipWithError("TO1 failed");
      return;
    }
    state.SetIterationTime(cpu);
  }
  std::remove(path.c_str());
}
BENCHMARK(BM_To1ServerPerLookup)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace custody::protocol

BENCHMARK_MAIN();
