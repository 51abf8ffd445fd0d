// Test helpers: a small PKI (root CA, intermediate CA, leaf) built with the
// project's own issuing API, a fixed reference time and a deterministic serial
// source.

#ifndef CUSTODY_CORE_CRYPTO_X509_TEST_UTIL_H_
#define CUSTODY_CORE_CRYPTO_X509_TEST_UTIL_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "core/base/fake_random.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/x509_certificate.h"

namespace custody::crypto {

// 2026-01-01T00:00:00Z.
absl::Time TestEpoch();

struct TestPki {
  EcPrivateKey root_key;
  Certificate root;
  EcPrivateKey intermediate_key;
  Certificate intermediate;
  EcPrivateKey leaf_key;
  Certificate leaf;
};

// Root valid [epoch - 1d, epoch + 3650d], intermediate [epoch, epoch + 1825d],
// leaf (device attestation usage) [epoch, epoch + 365d], all on `curve`.
// Aborts the test binary on failure (these are fixtures, not subjects).
TestPki MakeTestPki(Curve curve, DeterministicRandom& random);

}  // namespace custody::crypto

#endif  // CUSTODY_CORE_CRYPTO_X509_TEST_UTIL_H_
