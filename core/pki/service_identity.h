// A service's own TLS identity and admin CA, created at its first start.
//
// No credential is shipped or defaulted: each service generates, in its state
// directory, a TLS CA (which clients are given to trust), a server key and
// certificate signed by it, and an admin CA that issues the client certificates of
// its operators. Private keys are PKCS#8 files of mode 0600; a key file that group or
// others can read stops the service (FAILED_PRECONDITION, saying how to fix it).
//
//   tls-ca.key  tls-ca.pem       the TLS CA (clients: --ca tls-ca.pem)
//   server.key  server.pem       the server's key and certificate
//   admin-ca.key admin-ca.pem    issues admin client certificates (IssueAdminCredential)
//
// The server certificate is renewed (new key, new certificate) when it is within
// `renew_before` of expiring, or when its names no longer match the configuration.
// Thread-compatible: one process manages a directory.

#ifndef CUSTODY_CORE_PKI_SERVICE_IDENTITY_H_
#define CUSTODY_CORE_PKI_SERVICE_IDENTITY_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/crypto/curve.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/signer.h"
#include "core/crypto/x509_certificate.h"

namespace custody::pki {

struct ServiceIdentityOptions {
  std::string service_name;  // "manufacturer", "rendezvous", "owner"
  // subjectAltNames of the server certificate.
  std::vector<std::string> dns_names = {"localhost"};
  std::vector<std::string> ip_addresses = {"127.0.0.1", "::1"};
  crypto::Curve curve = crypto::Curve::kP256;
  absl::Duration ca_validity = absl::Hours(24 * 365 * 10);
  absl::Duration server_certificate_validity = absl::Hours(24 * 90);
  absl::Duration renew_before = absl::Hours(24 * 30);
};

struct ServiceIdentity {
  crypto::Certificate tls_ca;
  crypto::EcPrivateKey server_key;
  crypto::Certificate server_certificate;
  crypto::Certificate admin_ca;
};

// A certificate authority kept as `stem`.key (0600) and `stem`.pem in `dir`,
// created at first use. FAILED_PRECONDITION when only one of the two files exists
// or they do not belong together.
struct CertificateAuthority {
  crypto::EcPrivateKey key;
  crypto::Certificate certificate;
};
absl::StatusOr<CertificateAuthority> LoadOrCreateCertificateAuthority(
    const std::string& dir, absl::string_view stem, const crypto::DistinguishedName& subject,
    crypto::Curve curve, absl::Duration validity, Clock& clock, SecureRandom& random);

// A certificate authority whose key lives wherever `key_uri` says (a file, a
// PKCS#11 token: core/keys/key_store.h) and whose certificate is `stem`.pem in
// `dir`. At first start (`may_create`) a missing key is created and a missing
// certificate issued for the key; otherwise a missing key is NOT_FOUND.
// FAILED_PRECONDITION when the certificate exists without its key, or they do
// not belong together.
struct KeyedCertificateAuthority {
  std::unique_ptr<crypto::Signer> key;
  crypto::Certificate certificate;
};
absl::StatusOr<KeyedCertificateAuthority> LoadOrCreateKeyedCertificateAuthority(
    const std::string& dir, absl::string_view stem, const std::string& key_uri,
    const crypto::DistinguishedName& subject, crypto::Curve curve, absl::Duration validity,
    bool may_create, Clock& clock, SecureRandom& random);

// A signing key kept as `stem`.key (0600) and `stem`.pub in `dir`, created at
// first use.
absl::StatusOr<crypto::EcPrivateKey> LoadOrCreateKey(const std::string& dir, absl::string_view stem,
                                                     crypto::Curve curve);

// Before keys are created at first use: FAILED_PRECONDITION when any of `files`
// (names in `dir`) is missing although the service already holds `records`
// (> 0) made with them, since new keys would silently orphan them. `records_what`
// names them ("devices", "vouchers").
absl::Status RequireKeysOfExistingRecords(const std::string& dir,
                                          absl::Span<const absl::string_view> files,
                                          int64_t records, absl::string_view records_what);

absl::StatusOr<ServiceIdentity> LoadOrCreateServiceIdentity(const std::string& dir,
                                                            const ServiceIdentityOptions& options,
                                                            Clock& clock, SecureRandom& random);

// Roles an admin client certificate can carry (its OU).
enum class AdminRole { kOperator, kAuditor };
absl::string_view AdminRoleName(AdminRole role);
absl::StatusOr<AdminRole> ParseAdminRole(absl::string_view name);

// Issues an admin client credential from the admin CA in `dir`: writes
// `out_prefix`.key (0600) and `out_prefix`.pem (the certificate, CN = `name`, OU =
// the role), refusing to overwrite either. `validity` is clipped to the CA's.
absl::Status IssueAdminCredential(const std::string& dir, absl::string_view name, AdminRole role,
                                  absl::Duration validity, const std::string& out_prefix,
                                  Clock& clock, SecureRandom& random);

// The role of a verified admin client certificate. PERMISSION_DENIED when its OU
// names no role.
absl::StatusOr<AdminRole> AdminRoleOf(const crypto::Certificate& certificate);

}  // namespace custody::pki

#endif  // CUSTODY_CORE_PKI_SERVICE_IDENTITY_H_
