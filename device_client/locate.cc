#include "device_client/locate.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/file_util.h"
#include "core/base/hex.h"
#include "core/base/secret_bytes.h"
#include "core/base/status.h"
#include "core/crypto/ec_private_key.h"
#include "core/protocol/rendezvous_format.h"
#include "core/voucher/voucher_format.h"
#include "device_client/credential_store.h"
#include "grpcpp/grpcpp.h"
#include "rendezvous/rendezvous_client.h"
#include "server/credentials.h"

namespace custody::device {

absl::StatusOr<LoadedCredential> LoadCredential(const v1::DeviceConfig& config) {
  LoadedCredential loaded;
  CredentialStore store(config.state_dir());
  CUSTODY_ASSIGN_OR_RETURN(loaded.credential, store.Load());
  std::string& stored = *loaded.credential.mutable_hmac_secret();
  SecretBytes secret(stored.size());
  std::copy(stored.begin(), stored.end(), secret.mutable_data());
  loaded.secret = crypto::SoftwareHmacKey(std::move(secret), "credential:" + store.path());
  OPENSSL_cleanse(stored.data(), stored.size());
  stored.clear();
  CUSTODY_ASSIGN_OR_RETURN(
      loaded.key, crypto::EcPrivateKey::LoadPemFile(config.state_dir() + "/attestation.key"));
  return loaded;
}

absl::StatusOr<protocol::OwnerLocation> Locate(const v1::DeviceConfig& config) {
  CUSTODY_ASSIGN_OR_RETURN(LoadedCredential loaded, LoadCredential(config));
  return Locate(config, loaded.credential, *loaded.key, loaded.secret);
}

absl::StatusOr<protocol::OwnerLocation> Locate(const v1::DeviceConfig& config,
                                               const v1::DeviceCredential& credential,
                                               const crypto::Signer& key,
                                               const crypto::HmacKey& secret) {
  if (config.rendezvous_tls_ca_file().empty()) {
    return absl::InvalidArgumentError("rendezvous_tls_ca_file is required to locate the owner");
  }
  CUSTODY_ASSIGN_OR_RETURN(std::string ca_pem,
                           ReadFileBounded(config.rendezvous_tls_ca_file(), 64 * 1024));
  auto credentials = server::ClientCredentials(ca_pem, "", "");

  protocol::To1DeviceIdentity identity;
  identity.guid = credential.guid().value();
  identity.header_bytes = credential.voucher_header();
  identity.attestation_key = &key;
  identity.hmac_secret = &secret;

  std::vector<std::string> attempts;
  absl::Status last = absl::FailedPreconditionError(
      "the credential names no rendezvous endpoint that a device may use");
  for (const v1::RendezvousEndpoint& endpoint : credential.rendezvous_info().endpoints()) {
    const std::string target = protocol::GrpcTarget(endpoint.host(), endpoint.port());
    if (endpoint.owner_only()) continue;
    if (endpoint.transport() != v1::RendezvousEndpoint::TRANSPORT_GRPC_TLS) {
      attempts.push_back(absl::StrCat(target, ": skipped, not gRPC over TLS"));
      continue;
    }
    if (endpoint.has_server_certificate_hash()) {
      attempts.push_back(absl::StrCat(target,
                                      ": skipped, it pins a server certificate, which this client "
                                      "cannot check yet"));
      continue;
    }
    absl::StatusOr<protocol::OwnerLocation> found =
        rendezvous::FindOwner(grpc::CreateChannel(target, credentials), identity);
    if (found.ok()) return found;
    last = found.status();
    attempts.push_back(absl::StrCat(target, ": ", found.status().message()));
  }
  if (attempts.empty()) return last;
  return AttachCheck(
      absl::Status(last.code(), absl::StrCat("no rendezvous endpoint gave an owner (",
                                             absl::StrJoin(attempts, "; "), ")")),
      FailedCheck(last));
}

absl::Status RunLocate(const v1::DeviceConfig& config, std::ostream& out) {
  CUSTODY_ASSIGN_OR_RETURN(protocol::OwnerLocation location, Locate(config));
  out << "owner:   SHA256:" << HexEncode(location.owner_key->Fingerprint())
      << "\nguid:    " << voucher::FormatGuid(location.record.guid().value()) << "\n";
  for (const v1::OwnerAddress& address : location.record.addresses()) {
    out << "connect: " << protocol::GrpcTarget(address.host(), address.port())
        << " (gRPC over TLS)\n";
  }
  return absl::OkStatus();
}

}  // namespace custody::device
