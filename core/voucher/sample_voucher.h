// A complete, consistent set of voucher material for tests, benchmarks and demos
// (`custodyctl voucher sample`), made before the manufacturer service exists: a
// manufacturer key, a device CA, a device with its attestation key, certificate and
// HMAC secret, and a voucher made for it and extended to each owner in turn.
//
// Everything is freshly generated; nothing is a fixed or default credential.

#ifndef CUSTODY_CORE_VOUCHER_SAMPLE_VOUCHER_H_
#define CUSTODY_CORE_VOUCHER_SAMPLE_VOUCHER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/base/random.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/curve.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/hmac.h"
#include "core/crypto/x509_certificate.h"
#include "custody/v1/voucher.pb.h"

namespace custody::voucher {

struct SampleOptions {
  crypto::Curve curve = crypto::Curve::kP256;
  // How many times the voucher is extended (one new owner key each time).
  int owners = 2;
  // Certificates are valid from an hour before `now` for 20 years.
  absl::Time now;
  std::string model = "gw-100";
  std::string serial = "SN-0001";
  std::string mud_url = "https://mud.example.com/gw-100.json";
  std::string rendezvous_host = "localhost";
  uint32_t rendezvous_port = 8041;
};

struct SampleVoucherSet {
  crypto::EcPrivateKey manufacturer_key;
  crypto::EcPrivateKey device_ca_key;
  crypto::Certificate device_ca;
  crypto::EcPrivateKey device_key;
  crypto::Certificate device_certificate;
  crypto::SoftwareHmacKey device_secret;
  std::vector<crypto::EcPrivateKey> owner_keys;
  // The voucher as the manufacturer created it (no entries), and after every
  // extension: stages[i] has i entries; stages.back() is the final voucher.
  std::vector<v1::OwnershipVoucher> stages;
};

// INVALID_ARGUMENT for owners < 0 or over the entry limit.
absl::StatusOr<SampleVoucherSet> MakeSampleVoucherSet(const SampleOptions& options,
                                                      SecureRandom& random);

}  // namespace custody::voucher

#endif  // CUSTODY_CORE_VOUCHER_SAMPLE_VOUCHER_H_
