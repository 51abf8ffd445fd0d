// Who is calling the admin API, and may they.
//
// The admin port's TLS handshake already requires a client certificate chaining to
// the admin CA. AuthenticateAdmin reads that certificate from the call, verifies it
// again against the admin CA at the current time (defence in depth: a
// misconfigured port must not admit anyone), and returns the caller's name and
// role for the authorisation check and the audit log.

#ifndef CUSTODY_SERVER_ADMIN_AUTH_H_
#define CUSTODY_SERVER_ADMIN_AUTH_H_

#include <initializer_list>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/crypto/x509_certificate.h"
#include "core/pki/service_identity.h"
#include "core/storage/store.h"
#include "grpcpp/server_context.h"

namespace custody::server {

struct AdminCaller {
  std::string name;  // The certificate's common name.
  pki::AdminRole role;

  // "admin:<name> (<role>)", for audit events.
  std::string AuditActor() const;
  // An audit event by this caller.
  storage::AuditEvent Event(absl::Time now, absl::string_view action, absl::string_view target,
                            std::string details) const;
};

// UNAUTHENTICATED when the call carries no client certificate or it does not
// verify against `admin_ca` at `now`; PERMISSION_DENIED when it names no role.
absl::StatusOr<AdminCaller> AuthenticateAdmin(const grpc::ServerContext& context,
                                              const crypto::Certificate& admin_ca, absl::Time now);

// AuthenticateAdmin, then RequireRole: the first lines of every admin RPC.
absl::StatusOr<AdminCaller> AuthorizeAdmin(const grpc::ServerContext& context,
                                           const crypto::Certificate& admin_ca, absl::Time now,
                                           std::initializer_list<pki::AdminRole> allowed,
                                           absl::string_view rpc);

// PERMISSION_DENIED unless the caller holds one of `allowed`.
absl::Status RequireRole(const AdminCaller& caller, std::initializer_list<pki::AdminRole> allowed,
                         absl::string_view rpc);

}  // namespace custody::server

#endif  // CUSTODY_SERVER_ADMIN_AUTH_H_
