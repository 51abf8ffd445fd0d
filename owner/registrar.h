// Automatic TO0: every imported voucher is registered at the rendezvous services
// its header names, and registered again before the registration expires.
//
// A pass takes the devices due (OwnedDeviceTable::DueForRegistration) and, for
// each, sends TO0 to every rendezvous endpoint of the voucher that an owner may
// use (gRPC over TLS, not device_only), signed with the owner key the voucher
// names. When every endpoint accepts, the device is "registered" until the
// earliest expiry granted and is due again once three quarters of the shortest
// granted lifetime have passed. When one fails, the device keeps its state, the
// failure is recorded (last_error, shown by the admin API) and the device is due
// again after a jittered exponential backoff: about `retry_initial`, doubling per
// consecutive failure, at most `retry_max`, each wait drawn uniformly from half
// to all of that. A rendezvous service that is down therefore sees a trickle of
// retries, not a storm, and a device is registered again shortly after it is
// back.
//
// Onboarded devices are not registered again: the device has its replacement
// credential. Each outcome is written with the record's revision, so a TO2 that
// onboarded the device meanwhile wins (the pass's write is dropped).
//
// Thread-safe: the background thread (Start) and RunOnce callers share the
// store's transactions.

#ifndef CUSTODY_OWNER_REGISTRAR_H_
#define CUSTODY_OWNER_REGISTRAR_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/crypto/signer.h"
#include "core/protocol/to0_client.h"
#include "core/storage/store.h"
#include "custody/v1/rendezvous.pb.h"

namespace custody::owner {

struct RegistrarOptions {
  // The address record registered for every device (1..8 addresses).
  std::vector<v1::OwnerAddress> addresses;
  absl::Duration lifetime = absl::Hours(24);
  absl::Duration retry_initial = absl::Seconds(10);
  absl::Duration retry_max = absl::Hours(1);
  // How often the background thread looks for due devices (Wake looks at once).
  absl::Duration poll = absl::Seconds(5);
  // Devices per pass.
  size_t batch = 100;
};

// Sends one TO0 to the rendezvous service at `target` ("host:port").
using RegisterFunction = std::function<absl::StatusOr<v1::To0AcceptOwner>(
    const std::string& target, protocol::To0Registration registration,
    const crypto::Signer& owner_key)>;

// The production RegisterFunction: gRPC over TLS trusting `rendezvous_ca_pem`,
// one channel per target, kept.
RegisterFunction GrpcRegisterFunction(std::string rendezvous_ca_pem);

struct RegistrarPass {
  int registered = 0;
  int failed = 0;
};

class Registrar {
 public:
  // `owner_keys`: the owner's voucher keys; a voucher is registered with the one
  // that is its current owner.
  Registrar(storage::Store& store, Clock& clock, SecureRandom& random,
            std::vector<const crypto::Signer*> owner_keys, RegistrarOptions options,
            RegisterFunction register_function);
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  // One pass over the devices due now. Errors only for the store; a rendezvous
  // failure is recorded on the device and counted.
  absl::StatusOr<RegistrarPass> RunOnce();

  // Runs passes in a background thread until destruction.
  void Start();
  // Makes the background thread run a pass now (after an import).
  void Wake();

  // The wait before the next attempt after `failures` consecutive failures
  // (1, 2, ...), jittered.
  absl::Duration Backoff(int failures);

 private:
  // Registers one device; returns the record to write.
  storage::OwnedDeviceRecord Register(storage::OwnedDeviceRecord record, absl::Time now, bool* ok);
  void Run();

  storage::Store& store_;
  Clock& clock_;
  SecureRandom& random_;
  const std::vector<const crypto::Signer*> owner_keys_;
  const RegistrarOptions options_;
  const RegisterFunction register_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace custody::owner

#endif  // CUSTODY_OWNER_REGISTRAR_H_
