#include "server/metered_store.h"

#include <utility>

namespace custody::server {

MeteredStore::MeteredStore(std::unique_ptr<storage::Store> inner, MetricsRegistry& metrics,
                           Clock& clock)
    : MeteredStore(
          std::move(inner), metrics, clock,
          metrics.AddCounter("custody_store_transactions_total",
                             "Store transactions, by outcome: ok, busy, error, rolled_back.",
                             {"outcome"})) {}

MeteredStore::MeteredStore(std::unique_ptr<storage::Store> inner, MetricsRegistry& metrics,
                           Clock& clock, CounterFamily& outcomes)
    : inner_(std::move(inner)),
      clock_(clock),
      duration_(metrics
                    .AddHistogram("custody_store_transaction_seconds",
                                  "Store transaction time, the wait for the store included.", {},
                                  {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                   1, 2.5, 5})
                    .With()),
      ok_(outcomes.With({"ok"})),
      busy_(outcomes.With({"busy"})),
      error_(outcomes.With({"error"})),
      rolled_back_(outcomes.With({"rolled_back"})) {}

absl::Status MeteredStore::Transact(absl::FunctionRef<absl::Status(storage::Transaction&)> fn) {
  const absl::Duration start = clock_.MonotonicNow();
  absl::Status status = inner_->Transact(fn);
  duration_.Observe(absl::ToDoubleSeconds(clock_.MonotonicNow() - start));
  switch (status.code()) {
    case absl::StatusCode::kOk:
      ok_.Increment();
      break;
    case absl::StatusCode::kUnavailable:
      busy_.Increment();
      break;
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kInternal:
      error_.Increment();
      break;
    default:
      rolled_back_.Increment();
      break;
  }
  return status;
}

}  // namespace custody::server
