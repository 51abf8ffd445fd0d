// rendezvous_load: fills a rendezvous database and drives TO1 and TO0 load at a
// running rendezvous_server (docs/performance.md; tools/bench_rendezvous.sh runs
// the whole benchmark).
//
//   rendezvous_load populate --state_dir DIR --work_dir W --registrations N
//   rendezvous_load to1 --work_dir W --registrations N --address HOST:PORT --ca CA
//                       [--connections 8] [--seconds 10] [--new_connections] [--server_pid PID]
//   rendezvous_load to0 --work_dir W --address HOST:PORT --ca CA [--connections 4]
//                       [--seconds 10] [--server_pid PID]
//
// populate writes N registrations straight into DIR/rendezvous.db, in large
// transactions, before the server starts. Each row has the size and shape of a
// real one: it is a copy of a registration made by a real TO0 exchange, with its
// own GUID and a device key from a pool of 64 (the server checks TO1 proofs
// against the row's device key, and parses nothing else). It also makes
// --to0_vouchers real voucher sets, trusts their manufacturer keys, and keeps the
// vouchers, owner keys and device keys in W for the load runs.
//
// to1 looks up random registered GUIDs, each lookup a whole TO1 exchange
// (HelloRV, the proof signed with the device key, RVRedirect) on its own stream.
// By default each worker keeps one TLS connection and runs its streams over it;
// --new_connections makes a TLS connection per lookup, as a device in the field
// does. The client does not verify the answer (the end-to-end test does), so
// that the machine's two cores go to the server. to0 registers the kept vouchers
// again and again with the full client (the same owner replacing its
// registration). Both print operations per second, latency percentiles and, with
// --server_pid, the server's CPU time per operation (from /proc/PID/stat).

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/base/clock.h"
#include "core/base/file_util.h"
#include "core/base/random.h"
#include "core/base/status.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/signed_payload.h"
#include "core/protocol/local_exchange.h"
#include "core/protocol/rendezvous_format.h"
#include "core/protocol/to0_client.h"
#include "core/storage/sqlite_store.h"
#include "core/voucher/sample_voucher.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_text.h"
#include "custody/v1/rendezvous.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "rendezvous/rendezvous_client.h"
#include "server/credentials.h"
#include "tools/load_util.h"

ABSL_FLAG(std::string, state_dir, "", "populate: the rendezvous state directory");
ABSL_FLAG(std::string, work_dir, "", "where populate keeps keys and vouchers for the runs");
ABSL_FLAG(int64_t, registrations, 1000, "registrations to write, or to look up among");
ABSL_FLAG(int, to0_vouchers, 100, "populate: real vouchers kept for the TO0 run");
ABSL_FLAG(std::string, address, "", "the rendezvous device-facing address");
ABSL_FLAG(std::string, ca, "", "the rendezvous tls-ca.pem");
ABSL_FLAG(int, connections, 8, "workers, each with its own connection");
ABSL_FLAG(double, seconds, 10, "how long to run");
ABSL_FLAG(bool, new_connections, false, "to1: a new TLS connection for every lookup");
ABSL_FLAG(int, server_pid, 0, "the server's pid, to report its CPU time per operation");

namespace custody {
namespace {

constexpr int kKeyPool = 64;
constexpr int64_t kBatch = 20000;

std::string KeyPath(const std::string& dir, int k) {
  return absl::StrCat(dir, "/device-", k, ".key");
}

// Registration i's GUID: "rvbench:" and i, big-endian.
std::string BenchGuid(int64_t i) {
  std::string guid = "rvbench:";
  for (int shift = 56; shift >= 0; shift -= 8) guid.push_back(static_cast<char>(i >> shift));
  return guid;
}

absl::Status Fail(absl::string_view what) { return absl::InvalidArgumentError(what); }

// A real TO0 exchange with the store, without transport; returns the stored row.
absl::StatusOr<storage::RegistrationRecord> RegisterInProcess(
    storage::Store& store, const voucher::SampleVoucherSet& set) {
  protocol::To0Registration registration;
  registration.voucher = set.stages.back();
  registration.addresses = {protocol::GrpcTlsAddress("owner.bench.example", 8043)};
  registration.lifetime = absl::Hours(24 * 7);
  CUSTODY_RETURN_IF_ERROR(
      protocol::RunTo0Locally(std::move(registration), set.owner_keys.back(),
                              {&store, &SystemClock(), &SystemRandom(), absl::Hours(24 * 7)},
                              "populate")
          .status());
  v1::VoucherHeader header;
  header.ParseFromString(set.stages.back().header());
  storage::RegistrationRecord record;
  CUSTODY_RETURN_IF_ERROR(store.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(record, tx.registrations().Get(header.guid().value()));
    return absl::OkStatus();
  }));
  return record;
}

absl::Status Populate() {
  const std::string state = absl::GetFlag(FLAGS_state_dir);
  const std::string work = absl::GetFlag(FLAGS_work_dir);
  if (state.empty() || work.empty()) return Fail("populate needs --state_dir and --work_dir");
  ::mkdir(state.c_str(), 0700);
  ::mkdir(work.c_str(), 0700);
  CUSTODY_ASSIGN_OR_RETURN(std::unique_ptr<storage::Store> store,
                           storage::OpenSqliteStore(state + "/rendezvous.db"));
  // Real voucher sets, their manufacturers trusted: the TO0 run's vouchers, and the
  // template of every populated row.
  std::string vouchers_text;
  std::optional<storage::RegistrationRecord> row;
  for (int k = 0; k < absl::GetFlag(FLAGS_to0_vouchers); ++k) {
    voucher::SampleOptions options;
    options.now = absl::Now();
    options.serial = absl::StrCat("BENCH-", k);
    CUSTODY_ASSIGN_OR_RETURN(voucher::SampleVoucherSet set,
                             voucher::MakeSampleVoucherSet(options, SystemRandom()));
    CUSTODY_RETURN_IF_ERROR(protocol::TrustLocally(*store, set.manufacturer_key.public_key(),
                                                   absl::StrCat("bench-", k)));
    CUSTODY_ASSIGN_OR_RETURN(storage::RegistrationRecord registered,
                             RegisterInProcess(*store, set));
    if (!row.has_value()) row = registered;
    vouchers_text += voucher::VoucherToText(set.stages.back());
    CUSTODY_RETURN_IF_ERROR(set.owner_keys.back().SavePemFile(
        absl::StrCat(work, "/owner-", k, ".key"), WriteMode::kReplace));
  }
  if (!row.has_value()) return Fail("--to0_vouchers must be at least 1");
  CUSTODY_RETURN_IF_ERROR(WriteFileAtomically(work + "/vouchers.pem", vouchers_text, 0600));
  std::vector<std::string> pool;
  for (int k = 0; k < kKeyPool; ++k) {
    CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey key,
                             crypto::EcPrivateKey::Generate(crypto::Curve::kP256));
    CUSTODY_RETURN_IF_ERROR(key.SavePemFile(KeyPath(work, k), WriteMode::kReplace));
    pool.push_back(key.public_key().spki_der());
  }
  const int64_t count = absl::GetFlag(FLAGS_registrations);
  const absl::Time start = absl::Now();
  row->expires_at = absl::Now() + absl::Hours(24 * 30);
  for (int64_t first = 0; first < count; first += kBatch) {
    CUSTODY_RETURN_IF_ERROR(store->Transact([&](storage::Transaction& tx) -> absl::Status {
      for (int64_t i = first; i < std::min(count, first + kBatch); ++i) {
        row->guid = BenchGuid(i);
        row->device_key = pool[i % kKeyPool];
        CUSTODY_RETURN_IF_ERROR(tx.registrations().Put(*row));
      }
      return absl::OkStatus();
    }));
    std::fprintf(stderr, "\rpopulated %lld of %lld",
                 static_cast<long long>(std::min(count, first + kBatch)),
                 static_cast<long long>(count));
  }
  std::fprintf(stderr, "\npopulated %lld registrations of %zu bytes each in %.1f s\n",
               static_cast<long long>(count),
               row->voucher.size() + row->address_record.size() + row->device_key.size() +
                   row->owner_chain.size(),
               absl::ToDoubleSeconds(absl::Now() - start));
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> NewChannel(
    const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);  // A connection of its own.
  return grpc::CreateCustomChannel(absl::GetFlag(FLAGS_address), credentials, args);
}

// One whole TO1 exchange; false unless it ends in an RVRedirect and OK.
bool LookUp(v1::Rendezvous::Stub& stub, const std::string& guid, const crypto::EcPrivateKey& key) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub.FindOwner(&context);
  v1::To1Request hello;
  hello.mutable_hello_rv()->mutable_guid()->set_value(guid);
  v1::To1Response ack;
  if (!stream->Write(hello) || !stream->Read(&ack) || !ack.has_hello_rv_ack()) {
    stream->Finish();
    return false;
  }
  v1::To1Proof proof;
  proof.set_nonce(ack.hello_rv_ack().nonce());
  proof.mutable_guid()->set_value(guid);
  absl::StatusOr<v1::SignedPayload> signed_proof =
      crypto::SignPayload(key, protocol::kTo1ProofType, proof.SerializeAsString());
  if (!signed_proof.ok()) {
    context.TryCancel();
    stream->Finish();
    return false;
  }
  v1::To1Request prove;
  *prove.mutable_prove_to_rv()->mutable_proof() = *signed_proof;
  v1::To1Response redirect;
  const bool answered = stream->Write(prove) && stream->Read(&redirect) &&
                        redirect.has_rv_redirect() &&
                        !redirect.rv_redirect().address_record().payload().empty();
  stream->WritesDone();
  return stream->Finish().ok() && answered;
}

// Runs `op` on every worker until the time is up; prints the figures.
template <typename Op>
int Drive(const char* what, const Op& op) {
  const int workers_count = std::max(1, absl::GetFlag(FLAGS_connections));
  const int pid = absl::GetFlag(FLAGS_server_pid);
  absl::Mutex mu;
  std::vector<double> latencies;
  std::atomic<int64_t> failures{0};
  const double cpu_before = pid > 0 ? load::CpuSeconds(pid) : 0;
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::vector<std::thread> workers;
  for (int w = 0; w < workers_count; ++w) {
    workers.emplace_back([&, w] {
      std::vector<double> mine;
      // Which GUID to look up next: load shape, not security.
      std::mt19937_64 bits(static_cast<uint64_t>(w) + 1);
      auto state = op.NewWorker(w);
      while (absl::Now() < end) {
        const absl::Time begin = absl::Now();
        if (!op.Run(state, bits)) ++failures;
        mine.push_back(absl::ToDoubleMilliseconds(absl::Now() - begin));
      }
      absl::MutexLock lock(&mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& worker : workers) worker.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu = pid > 0 ? load::CpuSeconds(pid) - cpu_before : 0;
  const size_t count = latencies.size();
  std::printf("%s: %zu in %.1f s (%lld failed), %d connections%s\n", what, count, seconds,
              static_cast<long long>(failures.load()), workers_count,
              absl::GetFlag(FLAGS_new_connections) ? ", a new TLS connection for each" : "");
  std::printf("throughput: %.0f per second\n", static_cast<double>(count) / seconds);
  std::printf("latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", load::Percentile(latencies, 0.5),
              load::Percentile(latencies, 0.99), load::Percentile(latencies, 1.0));
  if (pid > 0 && count > 0) {
    std::printf("server CPU: %.3f ms per operation\n", 1000.0 * cpu / static_cast<double>(count));
  }
  return failures.load() == 0 && count > 0 ? 0 : 1;
}

struct To1Op {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::vector<crypto::EcPrivateKey> keys;
  int64_t registrations;
  bool new_connections;

  struct Worker {
    std::unique_ptr<v1::Rendezvous::Stub> stub;
  };
  Worker NewWorker(int) const { return {v1::Rendezvous::NewStub(NewChannel(credentials))}; }
  bool Run(Worker& worker, std::mt19937_64& bits) const {
    const int64_t i = std::uniform_int_distribution<int64_t>(0, registrations - 1)(bits);
    if (new_connections) worker.stub = v1::Rendezvous::NewStub(NewChannel(credentials));
    return LookUp(*worker.stub, BenchGuid(i), keys[i % kKeyPool]);
  }
};

struct To0Op {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::vector<v1::OwnershipVoucher> vouchers;
  std::vector<crypto::EcPrivateKey> owners;

  struct Worker {
    std::shared_ptr<grpc::Channel> channel;
    size_t next;
  };
  Worker NewWorker(int w) const { return {NewChannel(credentials), static_cast<size_t>(w)}; }
  bool Run(Worker& worker, std::mt19937_64&) const {
    const size_t k = worker.next++ % vouchers.size();
    protocol::To0Registration registration;
    registration.voucher = vouchers[k];
    registration.addresses = {protocol::GrpcTlsAddress("owner.bench.example", 8043)};
    registration.lifetime = absl::Hours(24);
    absl::StatusOr<v1::To0AcceptOwner> accepted =
        rendezvous::RegisterOwner(worker.channel, std::move(registration), owners[k]);
    if (!accepted.ok())
      std::fprintf(stderr, "to0: %s\n", std::string(accepted.status().message()).c_str());
    return accepted.ok();
  }
};

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials() {
  if (absl::GetFlag(FLAGS_address).empty() || absl::GetFlag(FLAGS_work_dir).empty()) {
    return Fail("--address, --ca and --work_dir are required");
  }
  CUSTODY_ASSIGN_OR_RETURN(std::string ca, ReadFileBounded(absl::GetFlag(FLAGS_ca), 65536));
  return server::ClientCredentials(ca, "", "");
}

absl::StatusOr<int> RunTo1() {
  To1Op op;
  CUSTODY_ASSIGN_OR_RETURN(op.credentials, Credentials());
  for (int k = 0; k < kKeyPool; ++k) {
    CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey key, crypto::EcPrivateKey::LoadPemFile(KeyPath(
                                                           absl::GetFlag(FLAGS_work_dir), k)));
    op.keys.push_back(std::move(key));
  }
  op.registrations = absl::GetFlag(FLAGS_registrations);
  op.new_connections = absl::GetFlag(FLAGS_new_connections);
  return Drive("TO1 lookups", op);
}

absl::StatusOr<int> RunTo0() {
  To0Op op;
  CUSTODY_ASSIGN_OR_RETURN(op.credentials, Credentials());
  const std::string work = absl::GetFlag(FLAGS_work_dir);
  CUSTODY_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(work + "/vouchers.pem", 64 << 20));
  CUSTODY_ASSIGN_OR_RETURN(op.vouchers, voucher::VouchersFromText(text, 100000));
  for (size_t k = 0; k < op.vouchers.size(); ++k) {
    CUSTODY_ASSIGN_OR_RETURN(
        crypto::EcPrivateKey key,
        crypto::EcPrivateKey::LoadPemFile(absl::StrCat(work, "/owner-", k, ".key")));
    op.owners.push_back(std::move(key));
  }
  return Drive("TO0 registrations", op);
}

}  // namespace
}  // namespace custody

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string mode = args.size() == 2 ? args[1] : "";
  absl::StatusOr<int> exit_code = 2;
  if (mode == "populate") {
    absl::Status status = custody::Populate();
    exit_code = status.ok() ? absl::StatusOr<int>(0) : status;
  } else if (mode == "to1") {
    exit_code = custody::RunTo1();
  } else if (mode == "to0") {
    exit_code = custody::RunTo0();
  } else {
    std::fprintf(stderr,
                 "usage: rendezvous_load populate|to1|to0 [flags]; see the source's header\n");
    return 2;
  }
  if (!exit_code.ok()) {
    std::fprintf(stderr, "rendezvous_load %s: %s\n", mode.c_str(),
                 std::string(exit_code.status().message()).c_str());
    return 1;
  }
  return *exit_code;
}
