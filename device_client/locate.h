// The device's `locate` command: TO1 against the rendezvous endpoints that the
// manufacturer put in its credential at DI, in order, until one answers with an
// owner the device can verify (docs/device.md, docs/rendezvous.md).

#ifndef CUSTODY_DEVICE_CLIENT_LOCATE_H_
#define CUSTODY_DEVICE_CLIENT_LOCATE_H_

#include <optional>
#include <ostream>

#include "absl/status/statusor.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/hmac.h"
#include "core/protocol/to1_client.h"
#include "custody/v1/config.pb.h"
#include "custody/v1/device.pb.h"

namespace custody::device {

// Tries each endpoint that a device may use (not owner_only; gRPC over TLS) once,
// trusting config.rendezvous_tls_ca_file. Endpoints that pin a server
// certificate hash are skipped, with the reason, because this client cannot yet
// check the pin. NOT_FOUND without a credential; otherwise, when no endpoint
// gives a verified owner, the last endpoint's error (its check name kept) with
// every attempt listed.
absl::StatusOr<protocol::OwnerLocation> Locate(const v1::DeviceConfig& config);

// The stored credential, with its HMAC secret moved out (the credential's copy
// is wiped), and the attestation key.
struct LoadedCredential {
  v1::DeviceCredential credential;
  crypto::SoftwareHmacKey secret;
  std::optional<crypto::EcPrivateKey> key;
};
absl::StatusOr<LoadedCredential> LoadCredential(const v1::DeviceConfig& config);

// Locate with the credential, attestation key and HMAC secret already loaded.
absl::StatusOr<protocol::OwnerLocation> Locate(const v1::DeviceConfig& config,
                                               const v1::DeviceCredential& credential,
                                               const crypto::Signer& key,
                                               const crypto::HmacKey& secret);

// Locate, then prints the owner's key fingerprint and addresses.
absl::Status RunLocate(const v1::DeviceConfig& config, std::ostream& out);

}  // namespace custody::device

#endif  // CUSTODY_DEVICE_CLIENT_LOCATE_H_
