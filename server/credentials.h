// gRPC transport credentials from a service identity (core/pki).
//
// Every port is TLS. The device-facing port authenticates the server only: devices
// trust the owner because of the voucher, not the TLS certificate, and protocol
// security never depends on TLS. The admin port is mutual TLS: the client must
// present a certificate issued by the service's admin CA, which the handshake
// verifies; the AdminAuthorizer (admin_auth.h) installed on it then checks the
// caller's role once per call, before the method runs.

#ifndef CUSTODY_SERVER_CREDENTIALS_H_
#define CUSTODY_SERVER_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/pki/service_identity.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace custody::server {

// TLS 1.2+ with the service's server certificate; no client certificate.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> DeviceFacingCredentials(
    const pki::ServiceIdentity& identity);

// Mutual TLS: the client certificate is required and must chain to the admin CA;
// `authorizer` (not null) decides each call before it reaches a service.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> AdminCredentials(
    const pki::ServiceIdentity& identity, std::shared_ptr<grpc::AuthMetadataProcessor> authorizer);

// Client side: trust `server_ca_pem`; present `client_key_pem`/`client_cert_pem`
// when both are non-empty (the admin port). The key PEM is a secret; pass it in a
// string the caller wipes.
std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const std::string& server_ca_pem,
                                                            const std::string& client_key_pem,
                                                            const std::string& client_cert_pem);

// Client side: TLS that does not authenticate the server. Only for a peer that a
// protocol authenticates by other means: the device reaching an owner it has not
// met (TO2 proves the owner by the voucher and a signature over the device's
// nonce; docs/to2.md, "Trust"). TLS then only hides the exchange from onlookers.
std::shared_ptr<grpc::ChannelCredentials> UnauthenticatedServerCredentials();

}  // namespace custody::server

#endif  // CUSTODY_SERVER_CREDENTIALS_H_
