#include "core/pki/service_identity.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/status.h"
#include "core/crypto/x509_issue.h"
#include "core/crypto/x509_verify.h"
#include "core/keys/key_store.h"

namespace custody::pki {
namespace {

constexpr size_t kMaxCertificateFileSize = 64 * 1024;

std::string PathOf(const std::string& dir, absl::string_view name) {
  return absl::StrCat(dir, "/", name);
}

bool Exists(const std::string& path) {
  return ReadFileBounded(path, kMaxCertificateFileSize).status().code() !=
         absl::StatusCode::kNotFound;
}

absl::StatusOr<crypto::Certificate> ReadCertificate(const std::string& path) {
  CUSTODY_ASSIGN_OR_RETURN(std::string pem, ReadFileBounded(path, kMaxCertificateFileSize));
  absl::StatusOr<crypto::Certificate> cert = crypto::Certificate::FromPem(pem);
  if (!cert.ok()) return Annotate(cert.status(), path);
  return cert;
}

}  // namespace

absl::StatusOr<CertificateAuthority> LoadOrCreateCertificateAuthority(
    const std::string& dir, absl::string_view stem, const crypto::DistinguishedName& subject,
    crypto::Curve curve, absl::Duration validity, Clock& clock, SecureRandom& random) {
  const std::string key_path = PathOf(dir, absl::StrCat(stem, ".key"));
  const std::string cert_path = PathOf(dir, absl::StrCat(stem, ".pem"));
  const bool have_key = Exists(key_path);
  const bool have_cert = Exists(cert_path);
  if (have_key != have_cert) {
    return absl::FailedPreconditionError(absl::StrCat(
        "found only one of ", key_path, " and ", cert_path,
        "; restore the other, or remove both to create a new CA (clients must then trust it)"));
  }
  if (have_key) {
    CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey key, crypto::EcPrivateKey::LoadPemFile(key_path));
    CUSTODY_ASSIGN_OR_RETURN(crypto::Certificate cert, ReadCertificate(cert_path));
    CUSTODY_ASSIGN_OR_RETURN(crypto::EcPublicKey cert_key, cert.PublicKey());
    if (!crypto::SameKey(cert_key, key.public_key()) || !cert.IsCa()) {
      return absl::FailedPreconditionError(
          absl::StrCat(cert_path, " is not the CA certificate of ", key_path));
    }
    return CertificateAuthority{std::move(key), std::move(cert)};
  }
  const absl::Time now = clock.Now();
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey key, crypto::EcPrivateKey::Generate(curve));
  CUSTODY_ASSIGN_OR_RETURN(
      crypto::Certificate cert,
      crypto::CreateSelfSignedCa(key, subject, now - absl::Hours(1), now + validity, random));
  CUSTODY_RETURN_IF_ERROR(key.SavePemFile(key_path, WriteMode::kCreateNew));
  CUSTODY_RETURN_IF_ERROR(
      WriteFileAtomically(cert_path, cert.ToPem(), 0644, WriteMode::kCreateNew));
  return CertificateAuthority{std::move(key), std::move(cert)};
}

absl::StatusOr<KeyedCertificateAuthority> LoadOrCreateKeyedCertificateAuthority(
    const std::string& dir, absl::string_view stem, const std::string& key_uri,
    const crypto::DistinguishedName& subject, crypto::Curve curve, absl::Duration validity,
    bool may_create, Clock& clock, SecureRandom& random) {
  const std::string cert_path = PathOf(dir, absl::StrCat(stem, ".pem"));
  const bool have_cert = Exists(cert_path);
  bool created = false;
  absl::StatusOr<std::unique_ptr<crypto::Signer>> key =
      keys::OpenOrCreateSigner(key_uri, curve, random, may_create && !have_cert, &created);
  if (key.status().code() == absl::StatusCode::kNotFound && have_cert) {
    return absl::FailedPreconditionError(
        absl::StrCat(cert_path, " exists but its key ", key_uri,
                     " does not; restore the key, or remove both to create a new CA"));
  }
  if (!key.ok()) return key.status();
  if (have_cert) {
    CUSTODY_ASSIGN_OR_RETURN(crypto::Certificate cert, ReadCertificate(cert_path));
    CUSTODY_ASSIGN_OR_RETURN(crypto::EcPublicKey cert_key, cert.PublicKey());
    if (!crypto::SameKey(cert_key, (*key)->public_key()) || !cert.IsCa()) {
      return absl::FailedPreconditionError(
          absl::StrCat(cert_path, " is not the CA certificate of ", key_uri));
    }
    return KeyedCertificateAuthority{*std::move(key), std::move(cert)};
  }
  if (!may_create) {
    return absl::FailedPreconditionError(absl::StrCat(
        cert_path, " is missing beside records made with it; restore it from the backup"));
  }
  const absl::Time now = clock.Now();
  CUSTODY_ASSIGN_OR_RETURN(
      crypto::Certificate cert,
      crypto::CreateSelfSignedCa(**key, subject, now - absl::Hours(1), now + validity, random));
  CUSTODY_RETURN_IF_ERROR(
      WriteFileAtomically(cert_path, cert.ToPem(), 0644, WriteMode::kCreateNew));
  return KeyedCertificateAuthority{*std::move(key), std::move(cert)};
}

absl::StatusOr<crypto::EcPrivateKey> LoadOrCreateKey(const std::string& dir, absl::string_view stem,
                                                     crypto::Curve curve) {
  const std::string key_path = PathOf(dir, absl::StrCat(stem, ".key"));
  if (Exists(key_path)) return crypto::EcPrivateKey::LoadPemFile(key_path);
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey key, crypto::EcPrivateKey::Generate(curve));
  CUSTODY_RETURN_IF_ERROR(key.SavePemFile(key_path, WriteMode::kCreateNew));
  CUSTODY_RETURN_IF_ERROR(WriteFileAtomically(PathOf(dir, absl::StrCat(stem, ".pub")),
                                              key.public_key().ToSpkiPem(), 0644,
                                              WriteMode::kReplace));
  return key;
}

namespace {

// True when `cert` can keep serving: chains to `ca` now, is for this key, is far
// enough from expiry, and carries the configured names.
bool ServerCertificateUsable(const crypto::Certificate& cert, const crypto::EcPrivateKey& key,
                             const crypto::Certificate& ca, const ServiceIdentityOptions& options,
                             absl::Time now) {
  absl::StatusOr<crypto::EcPublicKey> cert_key = cert.PublicKey();
  if (!cert_key.ok() || !crypto::SameKey(*cert_key, key.public_key())) return false;
  if (!crypto::VerifyCertificateChain(cert, {}, {ca}, now).ok()) return false;
  if (cert.NotAfter() - options.renew_before < now) return false;
  std::vector<std::string> wanted;
  for (const std::string& name : options.dns_names) wanted.push_back("DNS:" + name);
  for (const std::string& ip : options.ip_addresses) {
    unsigned char raw[16];
    char text[INET6_ADDRSTRLEN] = {0};
    const int family = ip.find(':') == std::string::npos ? AF_INET : AF_INET6;
    if (inet_pton(family, ip.c_str(), raw) != 1 ||
        inet_ntop(family, raw, text, sizeof(text)) == nullptr) {
      return false;  // Let issuing report the bad address.
    }
    wanted.push_back(absl::StrCat("IP:", text));
  }
  return cert.SubjectAltNames() == wanted;
}

}  // namespace

absl::StatusOr<ServiceIdentity> LoadOrCreateServiceIdentity(const std::string& dir,
                                                            const ServiceIdentityOptions& options,
                                                            Clock& clock, SecureRandom& random) {
  if (options.service_name.empty()) return absl::InvalidArgumentError("service name is empty");
  CUSTODY_ASSIGN_OR_RETURN(
      CertificateAuthority tls_ca,
      LoadOrCreateCertificateAuthority(dir, "tls-ca",
                                       {absl::StrCat("Custody ", options.service_name, " TLS CA"),
                                        "Custody", options.service_name},
                                       options.curve, options.ca_validity, clock, random));
  CUSTODY_ASSIGN_OR_RETURN(
      CertificateAuthority admin_ca,
      LoadOrCreateCertificateAuthority(dir, "admin-ca",
                                       {absl::StrCat("Custody ", options.service_name, " admin CA"),
                                        "Custody", options.service_name},
                                       options.curve, options.ca_validity, clock, random));

  const std::string key_path = PathOf(dir, "server.key");
  const std::string cert_path = PathOf(dir, "server.pem");
  const absl::Time now = clock.Now();
  if (Exists(key_path) && Exists(cert_path)) {
    CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey key, crypto::EcPrivateKey::LoadPemFile(key_path));
    CUSTODY_ASSIGN_OR_RETURN(crypto::Certificate cert, ReadCertificate(cert_path));
    if (ServerCertificateUsable(cert, key, tls_ca.certificate, options, now)) {
      return ServiceIdentity{std::move(tls_ca.certificate), std::move(key), std::move(cert),
                             std::move(admin_ca.certificate)};
    }
  }
  // First start, or renewal: a new key and certificate, written key first so that a
  // crash in between leaves a key without a certificate, which the next start
  // replaces again.
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey key, crypto::EcPrivateKey::Generate(options.curve));
  crypto::CertificateProfile profile;
  profile.subject = {absl::StrCat("custody-", options.service_name), "Custody",
                     options.service_name};
  profile.not_before = std::max(now - absl::Hours(1), tls_ca.certificate.NotBefore());
  profile.not_after =
      std::min(now + options.server_certificate_validity, tls_ca.certificate.NotAfter());
  profile.usage = crypto::CertificateUsage::kServer;
  profile.dns_names = options.dns_names;
  profile.ip_addresses = options.ip_addresses;
  CUSTODY_ASSIGN_OR_RETURN(
      crypto::Certificate cert,
      crypto::IssueCertificate(tls_ca.certificate, tls_ca.key, key.public_key(), profile, random));
  CUSTODY_RETURN_IF_ERROR(key.SavePemFile(key_path, WriteMode::kReplace));
  CUSTODY_RETURN_IF_ERROR(WriteFileAtomically(cert_path, cert.ToPem(), 0644, WriteMode::kReplace));
  return ServiceIdentity{std::move(tls_ca.certificate), std::move(key), std::move(cert),
                         std::move(admin_ca.certificate)};
}

absl::string_view AdminRoleName(AdminRole role) {
  return role == AdminRole::kOperator ? "operator" : "auditor";
}

absl::StatusOr<AdminRole> ParseAdminRole(absl::string_view name) {
  if (name == "operator") return AdminRole::kOperator;
  if (name == "auditor") return AdminRole::kAuditor;
  return absl::InvalidArgumentError("role must be operator or auditor");
}

absl::Status RequireKeysOfExistingRecords(const std::string& dir,
                                          absl::Span<const absl::string_view> files,
                                          int64_t records, absl::string_view records_what) {
  if (records == 0) return absl::OkStatus();
  for (absl::string_view file : files) {
    const std::string path = absl::StrCat(dir, "/", file);
    if (::access(path.c_str(), F_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is missing, but the database holds ", records, " ", records_what,
                       " made with it: restore it from the backup (a new key would orphan them)"));
    }
  }
  return absl::OkStatus();
}

absl::Status IssueAdminCredential(const std::string& dir, absl::string_view name, AdminRole role,
                                  absl::Duration validity, const std::string& out_prefix,
                                  Clock& clock, SecureRandom& random) {
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey ca_key,
                           crypto::EcPrivateKey::LoadPemFile(PathOf(dir, "admin-ca.key")));
  CUSTODY_ASSIGN_OR_RETURN(crypto::Certificate ca, ReadCertificate(PathOf(dir, "admin-ca.pem")));
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey key,
                           crypto::EcPrivateKey::Generate(ca_key.curve()));
  const absl::Time now = clock.Now();
  crypto::CertificateProfile profile;
  profile.subject = {std::string(name), "Custody", std::string(AdminRoleName(role))};
  profile.not_before = std::max(now - absl::Hours(1), ca.NotBefore());
  profile.not_after = std::min(now + validity, ca.NotAfter());
  profile.usage = crypto::CertificateUsage::kClient;
  CUSTODY_ASSIGN_OR_RETURN(crypto::Certificate cert,
                           crypto::IssueCertificate(ca, ca_key, key.public_key(), profile, random));
  CUSTODY_RETURN_IF_ERROR(key.SavePemFile(out_prefix + ".key", WriteMode::kCreateNew));
  absl::Status written =
      WriteFileAtomically(out_prefix + ".pem", cert.ToPem(), 0644, WriteMode::kCreateNew);
  if (!written.ok()) std::remove((out_prefix + ".key").c_str());
  return written;
}

absl::StatusOr<AdminRole> AdminRoleOf(const crypto::Certificate& certificate) {
  absl::StatusOr<AdminRole> role = ParseAdminRole(certificate.Subject().organizational_unit);
  if (!role.ok()) {
    return absl::PermissionDeniedError("the client certificate carries no admin role");
  }
  return role;
}

}  // namespace custody::pki
