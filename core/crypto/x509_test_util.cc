#include "core/crypto/x509_test_util.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "core/crypto/x509_issue.h"

namespace custody::crypto {
namespace {

template <typename T>
T Must(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "test PKI: %s failed: %s\n", what, value.status().ToString().c_str());
    std::abort();
  }
  return *std::move(value);
}

}  // namespace

absl::Time TestEpoch() { return absl::FromUnixSeconds(1767225600); }

TestPki MakeTestPki(Curve curve, DeterministicRandom& random) {
  const absl::Time epoch = TestEpoch();
  EcPrivateKey root_key = Must(EcPrivateKey::Generate(curve), "root key");
  Certificate root =
      Must(CreateSelfSignedCa(root_key, {"Test Root CA", "Custody Test", ""},
                              epoch - absl::Hours(24), epoch + absl::Hours(24 * 3650), random),
           "root certificate");
  EcPrivateKey intermediate_key = Must(EcPrivateKey::Generate(curve), "intermediate key");
  CertificateProfile intermediate_profile;
  intermediate_profile.subject = {"Test Device CA", "Custody Test", "devices"};
  intermediate_profile.not_before = epoch;
  intermediate_profile.not_after = epoch + absl::Hours(24 * 1825);
  intermediate_profile.usage = CertificateUsage::kCertificateAuthority;
  intermediate_profile.path_length = 0;
  Certificate intermediate = Must(
      IssueCertificate(root, root_key, intermediate_key.public_key(), intermediate_profile, random),
      "intermediate certificate");
  EcPrivateKey leaf_key = Must(EcPrivateKey::Generate(curve), "leaf key");
  CertificateProfile leaf_profile;
  leaf_profile.subject = {"device-0001", "Custody Test", ""};
  leaf_profile.not_before = epoch;
  leaf_profile.not_after = epoch + absl::Hours(24 * 365);
  leaf_profile.usage = CertificateUsage::kDeviceAttestation;
  Certificate leaf = Must(
      IssueCertificate(intermediate, intermediate_key, leaf_key.public_key(), leaf_profile, random),
      "leaf certificate");
  return TestPki{std::move(root_key),     std::move(root),     std::move(intermediate_key),
                 std::move(intermediate), std::move(leaf_key), std::move(leaf)};
}

}  // namespace custody::crypto
