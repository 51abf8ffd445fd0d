// The device's commands: `init` runs DI against the manufacturer; `status` shows
// the credential. docs/device.md.

#ifndef CUSTODY_DEVICE_CLIENT_INITIALIZE_H_
#define CUSTODY_DEVICE_CLIENT_INITIALIZE_H_

#include <ostream>

#include "absl/status/status.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "custody/v1/config.pb.h"

namespace custody::device {

// Runs DI over TLS to config.manufacturer_address, trusting
// config.manufacturer_tls_ca_file, and stores the credential. The attestation key
// (attestation.key) and the HMAC secret are created once and kept, so that a DI
// interrupted after the manufacturer stored the voucher resumes with the same
// device. FAILED_PRECONDITION when the device already has a credential.
absl::Status RunInit(const v1::DeviceConfig& config, SecureRandom& random, std::ostream& out);

// Prints state, GUID, model, serial and support end date. NOT_FOUND without a
// credential.
absl::Status RunStatus(const v1::DeviceConfig& config, Clock& clock, std::ostream& out);

}  // namespace custody::device

#endif  // CUSTODY_DEVICE_CLIENT_INITIALIZE_H_
