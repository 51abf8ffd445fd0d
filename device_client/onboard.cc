#include "device_client/onboard.h"

#include <openssl/crypto.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/file_util.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/crypto/hash.h"
#include "core/protocol/rendezvous_format.h"
#include "core/protocol/to2_client.h"
#include "core/voucher/voucher_format.h"
#include "device_client/credential_store.h"
#include "device_client/locate.h"
#include "grpcpp/grpcpp.h"
#include "owner/owner_client.h"
#include "server/credentials.h"

namespace custody::device {
namespace {

constexpr size_t kMaxCaFileSize = 64 * 1024;

// The onboarded credential: the replacement header and secret from TO2, the
// enrolment and operational key, and what the device keeps (its info, chain,
// manufacturer key).
absl::StatusOr<v1::DeviceCredential> Onboarded(const v1::DeviceCredential& old,
                                               protocol::To2Result& result, absl::Time now) {
  v1::DeviceCredential next;
  next.set_protocol_version(old.protocol_version());
  next.set_state(v1::DeviceCredential::STATE_ONBOARDED);
  next.set_active(true);
  *next.mutable_device_info() = old.device_info();
  *next.mutable_guid() = result.header.guid();
  *next.mutable_rendezvous_info() = result.header.rendezvous_info();
  next.set_hmac_secret(std::string(result.new_hmac_secret.secret().Reveal()));
  next.mutable_manufacturer_key_hash()->set_algorithm(v1::HASH_ALGORITHM_SHA256);
  next.mutable_manufacturer_key_hash()->set_value(
      crypto::Sha256(result.header.manufacturer_key().spki_der()));
  next.set_voucher_header(result.replacement_header);
  *next.mutable_device_certificate_chain() = old.device_certificate_chain();
  // The newest declaration the manufacturer signed (TO2 checked it).
  if (result.enrolment.has_support_declaration()) {
    *next.mutable_support_declaration() = result.enrolment.support_declaration();
  } else if (old.has_support_declaration()) {
    *next.mutable_support_declaration() = old.support_declaration();
  }
  next.set_generation(old.generation() + 1);
  *next.mutable_manufacturer_key() = old.manufacturer_key();
  next.set_owner_key_fingerprint(result.owner_key->Fingerprint());
  *next.mutable_enrolment() = result.enrolment;
  CUSTODY_ASSIGN_OR_RETURN(SecretBytes operational_pem, result.operational_key->ToPkcs8Pem());
  next.set_operational_key(std::string(operational_pem.Reveal()));
  next.set_onboarded_at_unix(absl::ToUnixSeconds(now));
  return next;
}

// The manufacturer key that signs support declarations: kept in the credential
// since DI, or (credentials from before it was kept) the DI header's.
absl::StatusOr<crypto::EcPublicKey> ManufacturerKey(v1::DeviceCredential& credential) {
  if (!credential.has_manufacturer_key()) {
    v1::VoucherHeader header;
    if (!header.ParseFromString(credential.voucher_header())) {
      return absl::DataLossError("the credential's voucher header does not parse");
    }
    *credential.mutable_manufacturer_key() = header.manufacturer_key();
  }
  return voucher::FromWireKey(credential.manufacturer_key());
}

void Wipe(v1::DeviceCredential& credential) {
  OPENSSL_cleanse(credential.mutable_hmac_secret()->data(), credential.hmac_secret().size());
  OPENSSL_cleanse(credential.mutable_operational_key()->data(),
                  credential.operational_key().size());
}

}  // namespace

absl::Status RunOnboard(const v1::DeviceConfig& config, Clock& clock, SecureRandom& random,
                        std::ostream& out) {
  CUSTODY_ASSIGN_OR_RETURN(LoadedCredential loaded, LoadCredential(config));
  v1::DeviceCredential& credential = loaded.credential;
  if (credential.state() == v1::DeviceCredential::STATE_ONBOARDED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the device has already onboarded (GUID ", voucher::FormatGuid(credential.guid().value()),
        ", owner SHA256:", HexEncode(credential.owner_key_fingerprint()), ")"));
  }
  if (credential.state() != v1::DeviceCredential::STATE_INITIALIZED) {
    return absl::FailedPreconditionError("the credential is not in a state that can onboard");
  }
  std::shared_ptr<grpc::ChannelCredentials> channel_credentials;
  if (config.owner_tls_ca_file().empty()) {
    channel_credentials = server::UnauthenticatedServerCredentials();
  } else {
    CUSTODY_ASSIGN_OR_RETURN(std::string ca_pem,
                             ReadFileBounded(config.owner_tls_ca_file(), kMaxCaFileSize));
    channel_credentials = server::ClientCredentials(ca_pem, "", "");
  }
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPublicKey manufacturer_key, ManufacturerKey(credential));
  // TO1 only once everything local is read, so that a bad path fails at once.
  CUSTODY_ASSIGN_OR_RETURN(protocol::OwnerLocation location,
                           Locate(config, credential, *loaded.key, loaded.secret));

  std::vector<std::string> attempts;
  absl::Status last = absl::FailedPreconditionError("the owner registered no address");
  for (const v1::OwnerAddress& address : location.record.addresses()) {
    const std::string target = protocol::GrpcTarget(address.host(), address.port());
    if (address.transport() != v1::RendezvousEndpoint::TRANSPORT_GRPC_TLS) {
      attempts.push_back(absl::StrCat(target, ": skipped, not gRPC over TLS"));
      continue;
    }
    protocol::To2DeviceInputs inputs;
    inputs.guid = credential.guid().value();
    inputs.header_bytes = credential.voucher_header();
    inputs.device_certificate_chain.assign(credential.device_certificate_chain().begin(),
                                           credential.device_certificate_chain().end());
    inputs.attestation_key = &*loaded.key;
    inputs.hmac_secret = &loaded.secret;
    inputs.manufacturer_key = manufacturer_key;
    if (credential.has_support_declaration()) {
      inputs.support_declaration = credential.support_declaration();
    }
    inputs.software_version = config.software_version();
    inputs.clock = &clock;
    inputs.random = &random;
    protocol::To2ClientSession session(std::move(inputs));
    absl::Status onboarded =
        owner::Onboard(grpc::CreateChannel(target, channel_credentials), session);
    if (!onboarded.ok()) {
      last = onboarded;
      attempts.push_back(absl::StrCat(target, ": ", onboarded.message()));
      continue;
    }
    // Done2 checked: only now is the credential replaced, in one atomic write.
    CUSTODY_ASSIGN_OR_RETURN(v1::DeviceCredential next,
                             Onboarded(credential, session.result(), clock.Now()));
    absl::Status saved = CredentialStore(config.state_dir(), clock).Save(next);
    Wipe(next);
    if (!saved.ok()) {
      return Annotate(saved,
                      "onboarded, but the new credential could not be stored (the "
                      "owner will onboard the device again with the old one)");
    }
    out << "onboarded: GUID " << voucher::FormatGuid(next.guid().value()) << " (was "
        << voucher::FormatGuid(credential.guid().value())
        << "), owner SHA256:" << HexEncode(next.owner_key_fingerprint()) << " at " << target
        << "\n";
    return absl::OkStatus();
  }
  return AttachCheck(
      absl::Status(last.code(), absl::StrCat("no owner address onboarded the device (",
                                             absl::StrJoin(attempts, "; "), ")")),
      FailedCheck(last));
}

absl::Duration RetryDelay(int failures, absl::Duration first, absl::Duration max,
                          SecureRandom& random) {
  absl::Duration wait = std::min(first, max);
  for (int i = 1; i < failures && wait < max; ++i) wait *= 2;
  wait = std::min(wait, max);
  const int64_t half = std::max<int64_t>(1, absl::ToInt64Milliseconds(wait) / 2);
  absl::StatusOr<uint64_t> jitter = random.Uniform(static_cast<uint64_t>(half) + 1);
  return absl::Milliseconds(half + (jitter.ok() ? static_cast<int64_t>(*jitter) : half));
}

namespace {

// Sleeps for `wait` unless SIGTERM or SIGINT arrives first (they must be
// blocked); true when one did.
bool SignalledWithin(absl::Duration wait) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  const absl::Time until = absl::Now() + wait;
  while (true) {
    const absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    const timespec timeout = absl::ToTimespec(left);
    const int received = sigtimedwait(&signals, nullptr, &timeout);
    if (received == SIGTERM || received == SIGINT) return true;
    if (received < 0 && errno != EINTR && errno != EAGAIN) return false;
  }
}

// The first retry: the largest delay the rendezvous info asks of devices, or
// kFirstRetry.
absl::Duration FirstRetry(const v1::DeviceCredential& credential) {
  absl::Duration first = kFirstRetry;
  for (const v1::RendezvousEndpoint& endpoint : credential.rendezvous_info().endpoints()) {
    if (!endpoint.owner_only()) {
      first = std::max(first, absl::Seconds(endpoint.delay_seconds()));
    }
  }
  return first;
}

}  // namespace

absl::Status RunDaemon(const v1::DeviceConfig& config, Clock& clock, SecureRandom& random,
                       std::ostream& out) {
  const absl::Duration max_retry = absl::Seconds(
      config.max_retry_seconds() == 0 ? kDefaultMaxRetrySeconds : config.max_retry_seconds());
  int failures = 0;
  while (true) {
    CredentialStore store(config.state_dir(), clock);
    absl::StatusOr<v1::DeviceCredential> credential = store.Load();
    if (!credential.ok()) return credential.status();
    Wipe(*credential);
    if (credential->state() == v1::DeviceCredential::STATE_ONBOARDED) {
      out << "enrolled: GUID " << voucher::FormatGuid(credential->guid().value())
          << ", fleet endpoint " << credential->enrolment().fleet_endpoint() << std::endl;
      // Enrolled: the fleet check-in comes with the lifecycle; wait for a signal.
      while (!SignalledWithin(absl::Hours(1))) {
      }
      return absl::OkStatus();
    }
    absl::Status onboarded = RunOnboard(config, clock, random, out);
    out.flush();
    if (onboarded.ok()) continue;
    ++failures;
    const absl::Duration wait =
        RetryDelay(failures, std::min(FirstRetry(*credential), max_retry), max_retry, random);
    out << "onboarding failed (attempt " << failures << "): " << onboarded.message()
        << "; next attempt in " << absl::FormatDuration(wait) << std::endl;
    if (SignalledWithin(wait)) return absl::OkStatus();
  }
}

}  // namespace custody::device
