// The device's `onboard` and `run` commands (docs/device.md).
//
// onboard: TO1 (Locate) finds the owner; TO2 runs against each of the owner's
// addresses in turn until one completes. Only after Done2 has echoed the
// device's nonce is the new credential written, in one atomic replacement
// (CredentialStore::Save): until then the old credential stays, still valid at
// the owner, so an attempt that fails anywhere can simply be made again.
//
// run: the daemon. It onboards when the credential is not onboarded yet,
// retrying with jittered exponential backoff, and then stays enrolled until
// SIGTERM or SIGINT.

#ifndef CUSTODY_DEVICE_CLIENT_ONBOARD_H_
#define CUSTODY_DEVICE_CLIENT_ONBOARD_H_

#include <ostream>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "custody/v1/config.pb.h"

namespace custody::device {

inline constexpr absl::Duration kFirstRetry = absl::Seconds(5);
inline constexpr uint32_t kDefaultMaxRetrySeconds = 3600;

// One TO1 and TO2. FAILED_PRECONDITION when the device has already onboarded;
// otherwise the error of the last attempt, with its check name.
absl::Status RunOnboard(const v1::DeviceConfig& config, Clock& clock, SecureRandom& random,
                        std::ostream& out);

// The wait before attempt `failures` + 1 (failures >= 1): `first` doubling per
// failure up to `max`, drawn uniformly from half of that to all of it.
absl::Duration RetryDelay(int failures, absl::Duration first, absl::Duration max,
                          SecureRandom& random);

// The daemon; returns OK on SIGTERM or SIGINT (which the caller must have
// blocked, so that they are waited for here).
absl::Status RunDaemon(const v1::DeviceConfig& config, Clock& clock, SecureRandom& random,
                       std::ostream& out);

}  // namespace custody::device

#endif  // CUSTODY_DEVICE_CLIENT_ONBOARD_H_
