#include "rendezvous/rendezvous_server.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status.h"
#include "core/protocol/rendezvous_format.h"
#include "core/storage/sqlite_store.h"
#include "server/log.h"
#include "server/metered_store.h"

namespace custody::rendezvous {
namespace {

// Registrations deleted per transaction while sweeping, so that a large sweep
// never holds the database for long.
constexpr size_t kSweepBatch = 1000;

}  // namespace

absl::StatusOr<std::unique_ptr<Rendezvous>> Rendezvous::Open(v1::RendezvousConfig config,
                                                             Clock& clock, SecureRandom& random) {
  std::unique_ptr<Rendezvous> r(new Rendezvous(clock));
  CUSTODY_RETURN_IF_ERROR(server::PrepareServerConfig(*config.mutable_server()));
  if (config.max_registration_lifetime_seconds() == 0) {
    config.set_max_registration_lifetime_seconds(kDefaultMaxLifetimeSeconds);
  }
  if (config.sweep_interval_seconds() == 0) {
    config.set_sweep_interval_seconds(kDefaultSweepIntervalSeconds);
  }
  CUSTODY_RETURN_IF_ERROR(
      server::PrepareRateLimit(*config.mutable_to0_rate_limit(), 1, 10, "to0_rate_limit"));
  CUSTODY_RETURN_IF_ERROR(
      server::PrepareRateLimit(*config.mutable_to1_rate_limit(), 5, 20, "to1_rate_limit"));
  // gRPC's own limit must let the largest TO0 message and TO1 answer through, or
  // they would be refused before the service's precise checks.
  if (config.server().max_message_bytes() < server::kDefaultMaxMessageBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("server.max_message_bytes must be at least ", server::kDefaultMaxMessageBytes,
                     " for the rendezvous service (a TO0 message carries a voucher of up to ",
                     protocol::kMaxRegisteredVoucherSize, " bytes)"));
  }
  r->config_ = std::move(config);
  const v1::RendezvousConfig& c = r->config_;
  const std::string& dir = c.server().state_dir();
  CUSTODY_ASSIGN_OR_RETURN(
      r->identity_, pki::LoadOrCreateServiceIdentity(
                        dir, server::IdentityOptions(c.server(), "rendezvous"), clock, random));
  CUSTODY_ASSIGN_OR_RETURN(r->store_, storage::OpenSqliteStore(dir + "/rendezvous.db"));
  r->telemetry_ = std::make_unique<server::Telemetry>("rendezvous", clock);
  r->store_ =
      std::make_unique<server::MeteredStore>(std::move(r->store_), r->telemetry_->metrics(), clock);
  r->frame_ = server::NewSessionFrame(c.server(), clock, *r->telemetry_);
  r->to0_limiter_ =
      std::make_unique<server::RateLimiter>(server::ToRateLimit(c.to0_rate_limit()), clock);
  r->to1_limiter_ =
      std::make_unique<server::RateLimiter>(server::ToRateLimit(c.to1_rate_limit()), clock);
  server::StreamOptions to0 = server::StreamOptionsFor(c.server(), RendezvousService::kTo0);
  to0.rate_limit = r->to0_limiter_.get();
  r->to0_stream_ = std::make_unique<server::StreamKind>(*r->frame_, to0);
  server::StreamOptions to1 = server::StreamOptionsFor(c.server(), RendezvousService::kTo1);
  to1.rate_limit = r->to1_limiter_.get();
  r->to1_stream_ = std::make_unique<server::StreamKind>(*r->frame_, to1);
  RendezvousService::Options options;
  options.to0 = {r->store_.get(), &clock, &random,
                 absl::Seconds(c.max_registration_lifetime_seconds())};
  options.to1 = {r->store_.get(), &clock, &random};
  options.to0_stream = r->to0_stream_.get();
  options.to1_stream = r->to1_stream_.get();
  r->service_ = std::make_unique<RendezvousService>(options);
  r->admin_ = std::make_unique<RendezvousAdminService>(*r->store_, clock);
  r->services_.device = {r->service_.get()};
  r->services_.admin = {r->admin_.get()};
  r->services_.telemetry = r->telemetry_.get();
  CUSTODY_ASSIGN_OR_RETURN(r->services_.admin_roles, RendezvousAdminService::Roles());
  r->services_.audit = r->store_.get();
  r->services_.clock = &clock;
  r->sweeper_ = std::thread([raw = r.get()] { raw->RunSweeper(); });
  return r;
}

Rendezvous::~Rendezvous() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (sweeper_.joinable()) sweeper_.join();
}

absl::StatusOr<int64_t> Rendezvous::SweepExpired() {
  int64_t total = 0;
  while (true) {
    int64_t deleted = 0;
    CUSTODY_RETURN_IF_ERROR(store_->Transact([&](storage::Transaction& tx) -> absl::Status {
      CUSTODY_ASSIGN_OR_RETURN(deleted,
                               tx.registrations().DeleteExpired(clock_.Now(), kSweepBatch));
      return absl::OkStatus();
    }));
    total += deleted;
    if (deleted < static_cast<int64_t>(kSweepBatch)) return total;
  }
}

void Rendezvous::RunSweeper() {
  const absl::Duration interval = absl::Seconds(config_.sweep_interval_seconds());
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    // Wakes early only to stop.
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval);
    if (stopping_) break;
    mu_.Unlock();
    absl::StatusOr<int64_t> swept = SweepExpired();
    if (!swept.ok()) {
      server::DefaultLogger().Error("sweeping expired registrations failed",
                                    {{"error", swept.status().message()}});
    }
    mu_.Lock();
  }
}

}  // namespace custody::rendezvous
