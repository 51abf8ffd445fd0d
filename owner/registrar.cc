#include "owner/registrar.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status.h"
#include "core/crypto/ec_public_key.h"
#include "core/protocol/owner_vouchers.h"
#include "core/protocol/rendezvous_format.h"
#include "core/voucher/voucher_format.h"
#include "grpcpp/grpcpp.h"
#include "rendezvous/rendezvous_client.h"
#include "server/credentials.h"
#include "server/log.h"

namespace custody::owner {
namespace {

// The longest a last_error kept on a device may be.
constexpr size_t kMaxLastError = 1024;

std::string Truncated(std::string text) {
  if (text.size() > kMaxLastError) text.resize(kMaxLastError);
  return text;
}

}  // namespace

RegisterFunction GrpcRegisterFunction(std::string rendezvous_ca_pem) {
  struct Channels {
    absl::Mutex mu;
    std::map<std::string, std::shared_ptr<grpc::Channel>> by_target ABSL_GUARDED_BY(mu);
    std::shared_ptr<grpc::ChannelCredentials> credentials;
  };
  auto channels = std::make_shared<Channels>();
  channels->credentials = server::ClientCredentials(rendezvous_ca_pem, "", "");
  return [channels](const std::string& target, protocol::To0Registration registration,
                    const crypto::Signer& owner_key) {
    std::shared_ptr<grpc::Channel> channel;
    {
      absl::MutexLock lock(&channels->mu);
      std::shared_ptr<grpc::Channel>& kept = channels->by_target[target];
      if (kept == nullptr) kept = grpc::CreateChannel(target, channels->credentials);
      channel = kept;
    }
    return rendezvous::RegisterOwner(channel, std::move(registration), owner_key);
  };
}

Registrar::Registrar(storage::Store& store, Clock& clock, SecureRandom& random,
                     std::vector<const crypto::Signer*> owner_keys, RegistrarOptions options,
                     RegisterFunction register_function)
    : store_(store),
      clock_(clock),
      random_(random),
      owner_keys_(std::move(owner_keys)),
      options_(std::move(options)),
      register_(std::move(register_function)) {}

Registrar::~Registrar() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Duration Registrar::Backoff(int failures) {
  absl::Duration wait = options_.retry_initial;
  for (int i = 1; i < failures && wait < options_.retry_max; ++i) wait *= 2;
  wait = std::min(wait, options_.retry_max);
  // Uniform in [wait/2, wait], in milliseconds.
  const int64_t half = std::max<int64_t>(1, absl::ToInt64Milliseconds(wait) / 2);
  absl::StatusOr<uint64_t> jitter = random_.Uniform(static_cast<uint64_t>(half) + 1);
  return absl::Milliseconds(half + (jitter.ok() ? static_cast<int64_t>(*jitter) : half));
}

storage::OwnedDeviceRecord Registrar::Register(storage::OwnedDeviceRecord record, absl::Time now,
                                               bool* ok) {
  *ok = false;
  std::vector<std::string> errors;
  std::optional<absl::Time> until;
  absl::Duration shortest = absl::InfiniteDuration();
  int endpoints = 0;
  absl::StatusOr<v1::OwnershipVoucher> voucher = voucher::ParseVoucher(record.voucher);
  v1::VoucherHeader header;
  const crypto::Signer* key = nullptr;
  if (!voucher.ok() || !header.ParseFromString(voucher->header())) {
    errors.push_back("the stored voucher does not parse");
  } else {
    absl::StatusOr<crypto::EcPublicKey> current = protocol::StoredCurrentOwner(*voucher, header);
    for (const crypto::Signer* candidate : owner_keys_) {
      if (current.ok() && crypto::SameKey(candidate->public_key(), *current)) key = candidate;
    }
    if (key == nullptr)
      errors.push_back("the voucher's current owner is not one of this owner's keys");
  }
  if (key != nullptr) {
    for (const v1::RendezvousEndpoint& endpoint : header.rendezvous_info().endpoints()) {
      if (endpoint.device_only() ||
          endpoint.transport() != v1::RendezvousEndpoint::TRANSPORT_GRPC_TLS) {
        continue;
      }
      ++endpoints;
      const std::string target = protocol::GrpcTarget(endpoint.host(), endpoint.port());
      protocol::To0Registration registration;
      registration.voucher = *voucher;
      registration.addresses = options_.addresses;
      registration.lifetime = options_.lifetime;
      absl::StatusOr<v1::To0AcceptOwner> accepted =
          register_(target, std::move(registration), *key);
      if (!accepted.ok()) {
        errors.push_back(absl::StrCat(target, ": ", accepted.status().message()));
        continue;
      }
      const absl::Duration granted = absl::Seconds(accepted->granted_lifetime_seconds());
      shortest = std::min(shortest, granted);
      until = std::min(until.value_or(absl::InfiniteFuture()), now + granted);
    }
    if (endpoints == 0) {
      errors.push_back("the voucher names no rendezvous endpoint an owner can use (gRPC over TLS)");
    }
  }
  record.updated_at = now;
  if (errors.empty()) {
    *ok = true;
    record.state = storage::OwnedDeviceState::kRegistered;
    record.registered_until = *until;
    record.next_registration_at = now + shortest * 3 / 4;
    record.registration_failures = 0;
    record.last_error.clear();
    return record;
  }
  // A partial success still counts as registered where it was accepted.
  if (until.has_value()) {
    record.state = storage::OwnedDeviceState::kRegistered;
    record.registered_until = *until;
  }
  ++record.registration_failures;
  record.next_registration_at = now + Backoff(static_cast<int>(record.registration_failures));
  record.last_error = Truncated(absl::StrCat("TO0 failed: ", absl::StrJoin(errors, "; ")));
  return record;
}

absl::StatusOr<RegistrarPass> Registrar::RunOnce() {
  const absl::Time now = clock_.Now();
  std::vector<storage::OwnedDeviceRecord> due;
  CUSTODY_RETURN_IF_ERROR(store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(due, tx.owned_devices().DueForRegistration(now, options_.batch));
    return absl::OkStatus();
  }));
  RegistrarPass pass;
  for (storage::OwnedDeviceRecord& record : due) {
    bool ok = false;
    storage::OwnedDeviceRecord outcome = Register(std::move(record), clock_.Now(), &ok);
    absl::Status written = store_.Transact([&](storage::Transaction& tx) -> absl::Status {
      return tx.owned_devices().Update(outcome).status();
    });
    // ABORTED: TO2 (or another pass) changed the device meanwhile; its write wins.
    if (!written.ok() && written.code() != absl::StatusCode::kAborted) return written;
    if (ok) {
      ++pass.registered;
    } else {
      ++pass.failed;
      server::DefaultLogger().Warning(
          "automatic TO0 failed for a device",
          {{"guid", voucher::FormatGuid(outcome.guid)},
           {"error", outcome.last_error},
           {"next_attempt_in",
            absl::FormatDuration(outcome.next_registration_at - outcome.updated_at)}});
    }
  }
  return pass;
}

void Registrar::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Registrar::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void Registrar::Run() {
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || woken_; };
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    woken_ = false;
    mu_.Unlock();
    absl::StatusOr<RegistrarPass> pass = RunOnce();
    if (!pass.ok()) {
      server::DefaultLogger().Error("automatic TO0 pass failed",
                                    {{"error", pass.status().message()}});
    }
    const bool more =
        pass.ok() && static_cast<size_t>(pass->registered + pass->failed) >= options_.batch;
    mu_.Lock();
    if (more) continue;
    mu_.AwaitWithTimeout(absl::Condition(&ready), options_.poll);
  }
}

}  // namespace custody::owner
