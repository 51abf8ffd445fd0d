// A Store that reports each transaction (docs/operations.md, "Monitoring"):
//   custody_store_transaction_seconds          from the call to its end, the wait
//                                              for the store's lock included
//   custody_store_transactions_total{outcome}  ok; busy (the database was locked
//                                              by another process past its busy
//                                              timeout: UNAVAILABLE); error (the
//                                              store failed: ABORTED, DATA_LOSS,
//                                              INTERNAL); rolled_back (the work
//                                              refused, e.g. a failed check)
// Thread-safe as the wrapped store is.

#ifndef CUSTODY_SERVER_METERED_STORE_H_
#define CUSTODY_SERVER_METERED_STORE_H_

#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "core/base/clock.h"
#include "core/storage/store.h"
#include "server/metrics.h"

namespace custody::server {

class MeteredStore final : public storage::Store {
 public:
  // `metrics` and `clock` must outlive this.
  MeteredStore(std::unique_ptr<storage::Store> inner, MetricsRegistry& metrics, Clock& clock);

  absl::Status Transact(absl::FunctionRef<absl::Status(storage::Transaction&)> fn) override;

 private:
  MeteredStore(std::unique_ptr<storage::Store> inner, MetricsRegistry& metrics, Clock& clock,
               CounterFamily& outcomes);

  std::unique_ptr<storage::Store> inner_;
  Clock& clock_;
  Histogram& duration_;
  Counter& ok_;
  Counter& busy_;
  Counter& error_;
  Counter& rolled_back_;
};

}  // namespace custody::server

#endif  // CUSTODY_SERVER_METERED_STORE_H_
