// onboard_load: makes devices whose vouchers are extended to a running owner,
// and drives full onboardings (TO1 at the rendezvous service, then TO2 at the
// owner) against them (docs/performance.md; tools/bench_onboarding.sh runs the
// whole benchmark).
//
//   onboard_load prepare --work_dir W --devices N --owner_pub OWNER.pub
//                        --rendezvous_db RV_STATE/rendezvous.db --rendezvous_port PORT
//   onboard_load run --work_dir W --devices N --rendezvous_address HOST:PORT
//                    --rendezvous_ca CA [--connections 4] [--seconds 10]
//                    [--owner_pid PID] [--rendezvous_pid PID]
//
// prepare makes N real devices (each its own manufacturer key, device CA,
// attestation key, HMAC secret and voucher, the rendezvous endpoint given),
// extends each voucher to OWNER.pub, trusts the manufacturer keys in the
// rendezvous database (before the service starts) and writes W/vouchers.pem, for
// `custodyctl owner import`, and each device's credential and key into W.
//
// run onboards those devices again and again: each onboarding is a whole TO1
// exchange over a kept TLS connection to the rendezvous service, then a whole
// TO2 exchange (every check on both sides, the owner's commit) over a kept TLS
// connection to the owner address TO1 gave. A device keeps its first credential
// (the result is checked, then dropped), which the owner accepts again as a
// device whose Done2 was lost, so the owner does the full work each time. Each
// worker has its own devices, so no two sessions race for one device. It prints
// onboardings per second, latency percentiles, and the CPU time per onboarding
// of the owner, the rendezvous service and this process (the devices).

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
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
#include "core/base/secret_bytes.h"
#include "core/base/status.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/hmac.h"
#include "core/protocol/local_exchange.h"
#include "core/protocol/rendezvous_format.h"
#include "core/protocol/to1_client.h"
#include "core/protocol/to2_client.h"
#include "core/storage/sqlite_store.h"
#include "core/voucher/sample_voucher.h"
#include "core/voucher/voucher_build.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_text.h"
#include "custody/v1/device.pb.h"
#include "grpcpp/grpcpp.h"
#include "owner/owner_client.h"
#include "rendezvous/rendezvous_client.h"
#include "server/credentials.h"
#include "tools/load_util.h"

ABSL_FLAG(std::string, work_dir, "", "where devices are kept");
ABSL_FLAG(int, devices, 64, "how many devices");
ABSL_FLAG(std::string, owner_pub, "", "prepare: the owner key vouchers are extended to");
ABSL_FLAG(std::string, rendezvous_db, "", "prepare: the rendezvous database to trust keys in");
ABSL_FLAG(int, rendezvous_port, 0, "prepare: the rendezvous port devices are given");
ABSL_FLAG(std::string, rendezvous_address, "", "run: the rendezvous service");
ABSL_FLAG(std::string, rendezvous_ca, "", "run: its TLS CA");
ABSL_FLAG(int, connections, 4, "run: workers, each with its own connections and devices");
ABSL_FLAG(int, seconds, 10, "run: how long");
ABSL_FLAG(int, owner_pid, 0, "run: the owner_server process, for its CPU time");
ABSL_FLAG(int, rendezvous_pid, 0, "run: the rendezvous_server process, for its CPU time");

namespace custody {
namespace {

absl::Status Fail(absl::string_view message) { return absl::InvalidArgumentError(message); }

std::string DevicePath(int k, absl::string_view what) {
  return absl::StrCat(absl::GetFlag(FLAGS_work_dir), "/device-", k, ".", what);
}

absl::Status Prepare() {
  const std::string work = absl::GetFlag(FLAGS_work_dir);
  if (work.empty() || absl::GetFlag(FLAGS_owner_pub).empty() ||
      absl::GetFlag(FLAGS_rendezvous_db).empty() || absl::GetFlag(FLAGS_rendezvous_port) == 0) {
    return Fail("prepare needs --work_dir, --owner_pub, --rendezvous_db and --rendezvous_port");
  }
  ::mkdir(work.c_str(), 0700);
  CUSTODY_ASSIGN_OR_RETURN(std::string owner_pem,
                           ReadFileBounded(absl::GetFlag(FLAGS_owner_pub), 16 * 1024));
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPublicKey owner, crypto::EcPublicKey::FromSpkiPem(owner_pem));
  CUSTODY_ASSIGN_OR_RETURN(std::unique_ptr<storage::Store> rendezvous,
                           storage::OpenSqliteStore(absl::GetFlag(FLAGS_rendezvous_db)));
  std::string vouchers;
  for (int k = 0; k < absl::GetFlag(FLAGS_devices); ++k) {
    voucher::SampleOptions options;
    options.now = absl::Now();
    options.owners = 0;
    options.serial = absl::StrCat("BENCH-", k);
    options.rendezvous_host = "127.0.0.1";
    options.rendezvous_port = static_cast<uint32_t>(absl::GetFlag(FLAGS_rendezvous_port));
    CUSTODY_ASSIGN_OR_RETURN(voucher::SampleVoucherSet set,
                             voucher::MakeSampleVoucherSet(options, SystemRandom()));
    voucher::ExtendOptions extend;
    extend.trust_unsigned_header = true;  // The "manufacturer" made it just now.
    CUSTODY_ASSIGN_OR_RETURN(
        v1::OwnershipVoucher voucher,
        voucher::ExtendVoucher(set.stages.front(), set.manufacturer_key, owner, extend));
    absl::StrAppend(&vouchers, voucher::VoucherToText(voucher));
    CUSTODY_RETURN_IF_ERROR(protocol::TrustLocally(*rendezvous, set.manufacturer_key.public_key(),
                                                   absl::StrCat("bench-", k)));
    // What the device keeps (the DI result).
    v1::VoucherHeader header;
    header.ParseFromString(voucher.header());
    v1::DeviceCredential credential;
    *credential.mutable_guid() = header.guid();
    credential.set_voucher_header(voucher.header());
    credential.set_hmac_secret(std::string(set.device_secret.secret().Reveal()));
    *credential.mutable_device_certificate_chain() = voucher.device_certificate_chain();
    *credential.mutable_manufacturer_key() = header.manufacturer_key();
    CUSTODY_RETURN_IF_ERROR(
        WriteFileAtomically(DevicePath(k, "credential"), credential.SerializeAsString(), 0600));
    CUSTODY_RETURN_IF_ERROR(set.device_key.SavePemFile(DevicePath(k, "key")));
  }
  CUSTODY_RETURN_IF_ERROR(WriteFileAtomically(work + "/vouchers.pem", vouchers, 0644));
  std::fprintf(stderr, "prepared %d devices in %s\n", absl::GetFlag(FLAGS_devices), work.c_str());
  return absl::OkStatus();
}

struct Device {
  v1::DeviceCredential credential;
  crypto::SoftwareHmacKey secret;
  std::optional<crypto::EcPrivateKey> key;
};

absl::StatusOr<Device> LoadDevice(int k) {
  Device device;
  CUSTODY_ASSIGN_OR_RETURN(std::string bytes,
                           ReadFileBounded(DevicePath(k, "credential"), 64 * 1024));
  if (!device.credential.ParseFromString(bytes)) return Fail("a device credential does not parse");
  const std::string& secret = device.credential.hmac_secret();
  device.secret = crypto::SoftwareHmacKey(SecretBytes::CopyFrom(secret));
  CUSTODY_ASSIGN_OR_RETURN(device.key, crypto::EcPrivateKey::LoadPemFile(DevicePath(k, "key")));
  return device;
}

// One onboarding: TO1, then TO2 at the address TO1 gave.
absl::Status Onboard(Device& device, const std::shared_ptr<grpc::Channel>& rendezvous,
                     std::shared_ptr<grpc::Channel>& owner, std::string& owner_target,
                     const std::shared_ptr<grpc::ChannelCredentials>& owner_credentials) {
  protocol::To1DeviceIdentity identity;
  identity.guid = device.credential.guid().value();
  identity.header_bytes = device.credential.voucher_header();
  identity.attestation_key = &*device.key;
  identity.hmac_secret = &device.secret;
  CUSTODY_ASSIGN_OR_RETURN(protocol::OwnerLocation location,
                           rendezvous::FindOwner(rendezvous, identity));
  if (location.record.addresses().empty()) return Fail("TO1 gave no owner address");
  const v1::OwnerAddress& address = location.record.addresses(0);
  const std::string target = protocol::GrpcTarget(address.host(), address.port());
  if (owner == nullptr || target != owner_target) {
    owner = grpc::CreateChannel(target, owner_credentials);
    owner_target = target;
  }
  protocol::To2DeviceInputs inputs;
  inputs.guid = identity.guid;
  inputs.header_bytes = identity.header_bytes;
  inputs.device_certificate_chain.assign(device.credential.device_certificate_chain().begin(),
                                         device.credential.device_certificate_chain().end());
  inputs.attestation_key = &*device.key;
  inputs.hmac_secret = &device.secret;
  CUSTODY_ASSIGN_OR_RETURN(inputs.manufacturer_key,
                           voucher::FromWireKey(device.credential.manufacturer_key()));
  inputs.software_version = "bench";
  inputs.clock = &SystemClock();
  inputs.random = &SystemRandom();
  protocol::To2ClientSession session(std::move(inputs));
  return owner::Onboard(owner, session);
}

absl::Status Run() {
  const std::string rv_address = absl::GetFlag(FLAGS_rendezvous_address);
  if (absl::GetFlag(FLAGS_work_dir).empty() || rv_address.empty() ||
      absl::GetFlag(FLAGS_rendezvous_ca).empty()) {
    return Fail("run needs --work_dir, --rendezvous_address and --rendezvous_ca");
  }
  CUSTODY_ASSIGN_OR_RETURN(std::string ca,
                           ReadFileBounded(absl::GetFlag(FLAGS_rendezvous_ca), 65536));
  const auto rv_credentials = server::ClientCredentials(ca, "", "");
  const auto owner_credentials = server::UnauthenticatedServerCredentials();
  const int workers_count = std::max(1, absl::GetFlag(FLAGS_connections));
  const int devices = absl::GetFlag(FLAGS_devices);
  std::vector<std::vector<Device>> owned(workers_count);
  for (int k = 0; k < devices; ++k) {
    CUSTODY_ASSIGN_OR_RETURN(Device device, LoadDevice(k));
    owned[k % workers_count].push_back(std::move(device));
  }
  const int owner_pid = absl::GetFlag(FLAGS_owner_pid);
  const int rv_pid = absl::GetFlag(FLAGS_rendezvous_pid);
  const double owner_before = owner_pid > 0 ? load::CpuSeconds(owner_pid) : 0;
  const double rv_before = rv_pid > 0 ? load::CpuSeconds(rv_pid) : 0;
  const double self_before = load::CpuSeconds(::getpid());
  absl::Mutex mu;
  std::vector<double> latencies;
  std::atomic<int64_t> failures{0};
  std::string first_error;
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::vector<std::thread> workers;
  for (int w = 0; w < workers_count; ++w) {
    workers.emplace_back([&, w] {
      std::vector<double> mine;
      auto rendezvous = grpc::CreateChannel(rv_address, rv_credentials);
      std::shared_ptr<grpc::Channel> owner;
      std::string owner_target;
      size_t next = 0;
      while (absl::Now() < end && !owned[w].empty()) {
        Device& device = owned[w][next++ % owned[w].size()];
        const absl::Time begin = absl::Now();
        absl::Status done = Onboard(device, rendezvous, owner, owner_target, owner_credentials);
        if (!done.ok()) {
          ++failures;
          absl::MutexLock lock(&mu);
          if (first_error.empty()) first_error = std::string(done.message());
          continue;
        }
        mine.push_back(absl::ToDoubleMilliseconds(absl::Now() - begin));
      }
      absl::MutexLock lock(&mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& worker : workers) worker.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const size_t count = latencies.size();
  const double per = count == 0 ? 0 : 1000.0 / static_cast<double>(count);
  std::printf("onboardings (TO1 + TO2): %zu in %.1f s (%lld failed), %d workers, %d devices\n",
              count, seconds, static_cast<long long>(failures.load()), workers_count, devices);
  if (!first_error.empty()) std::printf("first failure: %s\n", first_error.c_str());
  std::printf("throughput: %.1f onboardings per second\n", static_cast<double>(count) / seconds);
  std::printf("latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", load::Percentile(latencies, 0.5),
              load::Percentile(latencies, 0.99), load::Percentile(latencies, 1.0));
  if (owner_pid > 0) {
    std::printf("owner CPU: %.3f ms per onboarding\n",
                per * (load::CpuSeconds(owner_pid) - owner_before));
  }
  if (rv_pid > 0) {
    std::printf("rendezvous CPU: %.3f ms per onboarding\n",
                per * (load::CpuSeconds(rv_pid) - rv_before));
  }
  std::printf("devices (this process) CPU: %.3f ms per onboarding\n",
              per * (load::CpuSeconds(::getpid()) - self_before));
  return failures.load() == 0 && count > 0 ? absl::OkStatus()
                                           : absl::InternalError("some onboardings failed");
}

}  // namespace
}  // namespace custody

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string mode = args.size() == 2 ? args[1] : "";
  absl::Status status;
  if (mode == "prepare") {
    status = custody::Prepare();
  } else if (mode == "run") {
    status = custody::Run();
  } else {
    std::fprintf(stderr, "usage: onboard_load prepare|run [flags]; see the source's header\n");
    return 2;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "onboard_load %s: %s\n", mode.c_str(),
                 std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
