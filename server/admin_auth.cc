#include "server/admin_auth.h"

#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/base/status.h"
#include "core/crypto/x509_verify.h"
#include "grpcpp/security/auth_context.h"

namespace custody::server {

std::string AdminCaller::AuditActor() const {
  return absl::StrCat("admin:", absl::CHexEscape(name), " (", pki::AdminRoleName(role), ")");
}

storage::AuditEvent AdminCaller::Event(absl::Time now, absl::string_view action,
                                       absl::string_view target, std::string details) const {
  storage::AuditEvent event;
  event.time = now;
  event.actor = AuditActor();
  event.action = std::string(action);
  event.target = std::string(target);
  event.details = std::move(details);
  return event;
}

absl::StatusOr<AdminCaller> AuthenticateAdmin(const grpc::ServerContext& context,
                                              const crypto::Certificate& admin_ca, absl::Time now) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return absl::UnauthenticatedError("the admin API needs a client certificate");
  }
  const std::vector<grpc::string_ref> pems = auth->FindPropertyValues("x509_pem_cert");
  if (pems.empty()) return absl::UnauthenticatedError("the admin API needs a client certificate");
  absl::StatusOr<crypto::Certificate> cert =
      crypto::Certificate::FromPem(absl::string_view(pems[0].data(), pems[0].size()));
  if (!cert.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("client certificate unreadable: ", cert.status().message()));
  }
  absl::Status verified = crypto::VerifyCertificateChain(*cert, {}, {admin_ca}, now);
  if (!verified.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("client certificate is not an admin credential: ", verified.message()));
  }
  CUSTODY_ASSIGN_OR_RETURN(pki::AdminRole role, pki::AdminRoleOf(*cert));
  return AdminCaller{cert->Subject().common_name, role};
}

absl::StatusOr<AdminCaller> AuthorizeAdmin(const grpc::ServerContext& context,
                                           const crypto::Certificate& admin_ca, absl::Time now,
                                           std::initializer_list<pki::AdminRole> allowed,
                                           absl::string_view rpc) {
  CUSTODY_ASSIGN_OR_RETURN(AdminCaller caller, AuthenticateAdmin(context, admin_ca, now));
  CUSTODY_RETURN_IF_ERROR(RequireRole(caller, allowed, rpc));
  return caller;
}

absl::Status RequireRole(const AdminCaller& caller, std::initializer_list<pki::AdminRole> allowed,
                         absl::string_view rpc) {
  for (pki::AdminRole role : allowed) {
    if (caller.role == role) return absl::OkStatus();
  }
  return CheckFailed(
      absl::StatusCode::kPermissionDenied, "admin.role",
      absl::StrCat(rpc, " is not allowed for the ", pki::AdminRoleName(caller.role), " role"));
}

}  // namespace custody::server
