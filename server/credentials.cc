#include "server/credentials.h"

#include <openssl/crypto.h>

#include <memory>
#include <utility>

#include "core/base/status.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace custody::server {
namespace {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(
    const pki::ServiceIdentity& identity, bool require_client_certificate) {
  CUSTODY_ASSIGN_OR_RETURN(SecretBytes key_pem, identity.server_key.ToPkcs8Pem());
  grpc::SslServerCredentialsOptions options(
      require_client_certificate ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                 : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (require_client_certificate) options.pem_root_certs = identity.admin_ca.ToPem();
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  pair.private_key = std::string(key_pem.Reveal());
  pair.cert_chain = identity.server_certificate.ToPem() + identity.tls_ca.ToPem();
  options.pem_key_cert_pairs.push_back(pair);
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::SslServerCredentials(options);
  // gRPC has its own copy; wipe ours.
  OPENSSL_cleanse(pair.private_key.data(), pair.private_key.size());
  OPENSSL_cleanse(options.pem_key_cert_pairs[0].private_key.data(),
                  options.pem_key_cert_pairs[0].private_key.size());
  if (credentials == nullptr) return absl::InternalError("gRPC refused the TLS credentials");
  return credentials;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> DeviceFacingCredentials(
    const pki::ServiceIdentity& identity) {
  return TlsCredentials(identity, /*require_client_certificate=*/false);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> AdminCredentials(
    const pki::ServiceIdentity& identity, std::shared_ptr<grpc::AuthMetadataProcessor> authorizer) {
  if (authorizer == nullptr) return absl::InternalError("the admin port needs an authorizer");
  CUSTODY_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                           TlsCredentials(identity, /*require_client_certificate=*/true));
  credentials->SetAuthMetadataProcessor(std::move(authorizer));
  return credentials;
}

std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const std::string& server_ca_pem,
                                                            const std::string& client_key_pem,
                                                            const std::string& client_cert_pem) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = server_ca_pem;
  if (!client_key_pem.empty() && !client_cert_pem.empty()) {
    options.pem_private_key = client_key_pem;
    options.pem_cert_chain = client_cert_pem;
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(options);
  OPENSSL_cleanse(options.pem_private_key.data(), options.pem_private_key.size());
  return credentials;
}

std::shared_ptr<grpc::ChannelCredentials> UnauthenticatedServerCredentials() {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace custody::server
