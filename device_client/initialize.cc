#include "device_client/initialize.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "core/base/file_util.h"
#include "core/base/hex.h"
#include "core/base/secret_bytes.h"
#include "core/base/status.h"
#include "core/crypto/curve.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/hash.h"
#include "core/crypto/hmac.h"
#include "core/crypto/x509_certificate.h"
#include "core/protocol/di_client.h"
#include "core/protocol/support_declaration.h"
#include "core/voucher/voucher_format.h"
#include "custody/v1/manufacturer.grpc.pb.h"
#include "device_client/credential_store.h"
#include "grpcpp/grpcpp.h"
#include "server/client_stream.h"
#include "server/credentials.h"

namespace custody::device {
namespace {

constexpr absl::Duration kDiDeadline = absl::Seconds(60);

crypto::Curve CurveOf(const v1::DeviceConfig& config) {
  return config.curve() == v1::CURVE_P384 ? crypto::Curve::kP384 : crypto::Curve::kP256;
}

absl::Status PrepareStateDir(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("state_dir is required");
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("creating ", dir));
  }
  return absl::OkStatus();
}

absl::StatusOr<crypto::EcPrivateKey> LoadOrCreateAttestationKey(const std::string& dir,
                                                                crypto::Curve curve) {
  const std::string path = dir + "/attestation.key";
  absl::StatusOr<crypto::EcPrivateKey> key = crypto::EcPrivateKey::LoadPemFile(path);
  if (key.status().code() != absl::StatusCode::kNotFound) return key;
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey generated, crypto::EcPrivateKey::Generate(curve));
  CUSTODY_RETURN_IF_ERROR(generated.SavePemFile(path, WriteMode::kCreateNew));
  return generated;
}

// The HMAC secret of a DI in progress, kept until the credential holds it.
absl::StatusOr<SecretBytes> LoadOrCreatePendingSecret(const std::string& dir, crypto::Curve curve,
                                                      SecureRandom& random) {
  const std::string path = dir + "/di-secret.pending";
  absl::StatusOr<SecretBytes> secret = ReadPrivateFile(path, 1024);
  if (secret.status().code() != absl::StatusCode::kNotFound) return secret;
  SecretBytes fresh(crypto::DigestSize(crypto::CurveHash(curve)));
  CUSTODY_RETURN_IF_ERROR(random.Fill(absl::MakeSpan(fresh.mutable_data(), fresh.size())));
  CUSTODY_RETURN_IF_ERROR(WriteFileAtomically(path, fresh.Reveal(), 0600, WriteMode::kCreateNew));
  return fresh;
}

}  // namespace

absl::Status RunInit(const v1::DeviceConfig& config, SecureRandom& random, std::ostream& out) {
  CUSTODY_RETURN_IF_ERROR(PrepareStateDir(config.state_dir()));
  CredentialStore store(config.state_dir());
  absl::StatusOr<v1::DeviceCredential> existing = store.Load();
  if (existing.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("this device is already initialised (GUID ",
                                                      voucher::FormatGuid(existing->guid().value()),
                                                      ")"));
  }
  if (existing.status().code() != absl::StatusCode::kNotFound) return existing.status();

  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPrivateKey key,
                           LoadOrCreateAttestationKey(config.state_dir(), CurveOf(config)));
  CUSTODY_ASSIGN_OR_RETURN(SecretBytes pending,
                           LoadOrCreatePendingSecret(config.state_dir(), CurveOf(config), random));
  const crypto::SoftwareHmacKey secret(std::move(pending));
  CUSTODY_ASSIGN_OR_RETURN(std::string ca_pem,
                           ReadFileBounded(config.manufacturer_tls_ca_file(), 64 * 1024));

  v1::DeviceInfo info;
  info.set_model(config.model());
  info.set_serial(config.serial());
  info.set_mud_url(config.mud_url());
  protocol::DiClientSession session(info, key, secret);
  auto channel =
      grpc::CreateChannel(config.manufacturer_address(), server::ClientCredentials(ca_pem, "", ""));
  auto stub = v1::DeviceInitialization::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoSeconds(kDiDeadline));
  auto stream = stub->Initialize(&context);
  CUSTODY_RETURN_IF_ERROR(
      server::RunClientSession(session, *stream, context, "refused the manufacturer's credentials",
                               absl::StrCat("DI with ", config.manufacturer_address(), " failed")));

  const protocol::DiCredentials& credentials = session.credentials();
  v1::DeviceCredential credential;
  credential.set_protocol_version(1);
  credential.set_state(v1::DeviceCredential::STATE_INITIALIZED);
  credential.set_active(true);
  *credential.mutable_device_info() = info;
  *credential.mutable_guid() = credentials.header.guid();
  *credential.mutable_rendezvous_info() = credentials.header.rendezvous_info();
  credential.set_hmac_secret(std::string(secret.secret().Reveal()));
  credential.mutable_manufacturer_key_hash()->set_algorithm(v1::HASH_ALGORITHM_SHA256);
  credential.mutable_manufacturer_key_hash()->set_value(
      crypto::Sha256(credentials.header.manufacturer_key().spki_der()));
  credential.set_voucher_header(credentials.header_bytes);
  *credential.mutable_manufacturer_key() = credentials.header.manufacturer_key();
  for (const std::string& der : credentials.device_certificate_chain) {
    credential.add_device_certificate_chain(der);
  }
  if (credentials.signed_support_declaration.has_value()) {
    *credential.mutable_support_declaration() = *credentials.signed_support_declaration;
  }
  credential.set_generation(1);
  absl::Status saved = store.Save(credential);
  OPENSSL_cleanse(credential.mutable_hmac_secret()->data(), credential.hmac_secret().size());
  CUSTODY_RETURN_IF_ERROR(saved);
  ::unlink((config.state_dir() + "/di-secret.pending").c_str());
  out << "initialised: GUID " << voucher::FormatGuid(credentials.guid()) << "\n";
  return absl::OkStatus();
}

absl::Status RunStatus(const v1::DeviceConfig& config, Clock& clock, std::ostream& out) {
  CredentialStore store(config.state_dir());
  CUSTODY_ASSIGN_OR_RETURN(v1::DeviceCredential credential, store.Load());
  const bool onboarded = credential.state() == v1::DeviceCredential::STATE_ONBOARDED;
  out << "state:   "
      << (credential.state() == v1::DeviceCredential::STATE_INITIALIZED ? "initialized"
          : onboarded                                                   ? "onboarded"
                                                                        : "unknown")
      << "\nguid:    " << voucher::FormatGuid(credential.guid().value())
      << "\nmodel:   " << credential.device_info().model()
      << "\nserial:  " << credential.device_info().serial() << "\n";
  OPENSSL_cleanse(credential.mutable_operational_key()->data(),
                  credential.operational_key().size());
  if (onboarded) {
    const v1::FleetEnrolment& enrolment = credential.enrolment();
    out << "owner:   SHA256:" << HexEncode(credential.owner_key_fingerprint()) << "\nonboarded: "
        << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                            absl::FromUnixSeconds(credential.onboarded_at_unix()),
                            absl::UTCTimeZone())
        << "\nfleet:   " << enrolment.fleet_endpoint() << " (check in every "
        << enrolment.check_in_interval_seconds() << " s, " << enrolment.trust_anchors_size()
        << " trust anchors, " << enrolment.settings_size() << " settings)\n";
    absl::StatusOr<crypto::Certificate> certificate =
        crypto::Certificate::FromDer(enrolment.operational_certificate());
    if (certificate.ok()) {
      const crypto::DistinguishedName subject = certificate->Subject();
      out << "operational certificate: serial " << certificate->SerialHex() << ", CN "
          << subject.common_name << ", O " << subject.organization << ", valid until "
          << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", certificate->NotAfter(), absl::UTCTimeZone())
          << "\n";
    } else {
      out << "operational certificate: does not parse\n";
    }
    // Keys only: a value may be a secret.
    for (const v1::Setting& setting : enrolment.settings()) {
      out << "setting: " << setting.key() << "\n";
    }
  }
  OPENSSL_cleanse(credential.mutable_hmac_secret()->data(), credential.hmac_secret().size());
  if (credential.has_support_declaration()) {
    v1::SupportDeclaration declaration;
    if (declaration.ParseFromString(credential.support_declaration().payload())) {
      const absl::CivilDay today = absl::ToCivilDay(clock.Now(), absl::UTCTimeZone());
      out << "support: security updates until " << declaration.security_updates_until()
          << (protocol::SupportStatusOn(declaration, today) == protocol::SupportStatus::kSupported
                  ? " (supported)"
                  : " (ended: this device no longer receives security updates)")
          << "\npolicy:  " << declaration.disclosure_policy_url() << "\n";
    } else {
      out << "support: the stored declaration does not parse\n";
    }
  } else {
    out << "support: no declaration received\n";
  }
  return absl::OkStatus();
}

}  // namespace custody::device
