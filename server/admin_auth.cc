#include "server/admin_auth.h"

#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status.h"
#include "core/crypto/x509_verify.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/security/auth_context.h"

namespace custody::server {
namespace {

using pki::AdminRole;

// The method of a call, from its ":path" header.
constexpr absl::string_view kPathHeader = ":path";

// The client certificate of a call, parsed but not verified.
absl::StatusOr<crypto::Certificate> PeerCertificate(const grpc::AuthContext& context) {
  if (!context.IsPeerAuthenticated()) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "admin.certificate",
                       "the admin API needs a client certificate");
  }
  const std::vector<grpc::string_ref> pems = context.FindPropertyValues("x509_pem_cert");
  if (pems.empty()) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "admin.certificate",
                       "the admin API needs a client certificate");
  }
  absl::StatusOr<crypto::Certificate> cert =
      crypto::Certificate::FromPem(absl::string_view(pems[0].data(), pems[0].size()));
  if (!cert.ok()) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "admin.certificate",
                       absl::StrCat("client certificate unreadable: ", cert.status().message()));
  }
  return cert;
}

absl::StatusOr<AdminCaller> CallerOf(const crypto::Certificate& cert) {
  absl::StatusOr<AdminRole> role = pki::AdminRoleOf(cert);
  if (!role.ok()) {
    return CheckFailed(absl::StatusCode::kPermissionDenied, "admin.role", role.status().message());
  }
  return AdminCaller{cert.Subject().common_name, *role};
}

std::string RoleNames(const std::vector<AdminRole>& roles) {
  return absl::StrJoin(roles, " or ", [](std::string* out, AdminRole role) {
    out->append(std::string(pki::AdminRoleName(role)));
  });
}

// The short name of a full method name ("/pkg.Service/Method" → "Method").
absl::string_view ShortName(absl::string_view method) {
  const size_t slash = method.rfind('/');
  return slash == absl::string_view::npos ? method : method.substr(slash + 1);
}

}  // namespace

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

absl::StatusOr<AdminRoleTable> AdminRoles(
    absl::string_view service,
    std::initializer_list<std::pair<absl::string_view, std::vector<AdminRole>>> roles) {
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(service));
  if (descriptor == nullptr) {
    return absl::InternalError(absl::StrCat("no gRPC service named ", service));
  }
  AdminRoleTable table;
  for (const auto& [method, allowed] : roles) {
    const std::string full = absl::StrCat("/", service, "/", method);
    if (descriptor->FindMethodByName(std::string(method)) == nullptr) {
      return absl::InternalError(absl::StrCat(full, " is not a method of ", service));
    }
    if (allowed.empty()) return absl::InternalError(absl::StrCat(full, " allows no role"));
    if (!table.emplace(full, allowed).second) {
      return absl::InternalError(absl::StrCat(full, " is named twice in its role table"));
    }
  }
  for (int i = 0; i < descriptor->method_count(); ++i) {
    const std::string full = absl::StrCat("/", service, "/", descriptor->method(i)->name());
    if (!table.contains(full)) {
      return absl::InternalError(absl::StrCat(full, " has no entry in its role table"));
    }
  }
  return table;
}

AdminRoleTable StandardAdminRoles() {
  const std::vector<AdminRole> both = {AdminRole::kOperator, AdminRole::kAuditor};
  return {{"/grpc.health.v1.Health/Check", both},
          {"/grpc.health.v1.Health/Watch", both},
          {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", both}};
}

absl::Status MergeAdminRoles(AdminRoleTable& table, const AdminRoleTable& more) {
  for (const auto& [method, roles] : more) {
    if (!table.emplace(method, roles).second) {
      return absl::InternalError(absl::StrCat(method, " is named by two role tables"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AdminCaller> AuthenticateAdmin(const grpc::AuthContext& context,
                                              const crypto::Certificate& admin_ca, absl::Time now) {
  CUSTODY_ASSIGN_OR_RETURN(crypto::Certificate cert, PeerCertificate(context));
  absl::Status verified = crypto::VerifyCertificateChain(cert, {}, {admin_ca}, now);
  if (!verified.ok()) {
    return CheckFailed(
        absl::StatusCode::kUnauthenticated, "admin.certificate",
        absl::StrCat("client certificate is not an admin credential: ", verified.message()));
  }
  return CallerOf(cert);
}

absl::StatusOr<AdminCaller> AdminCallerOf(const grpc::ServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "admin.certificate",
                       "the admin API needs a client certificate");
  }
  CUSTODY_ASSIGN_OR_RETURN(crypto::Certificate cert, PeerCertificate(*auth));
  return CallerOf(cert);
}

AdminAuthorizer::AdminAuthorizer(Options options)
    : roles_(std::move(options.roles)),
      admin_ca_(*options.admin_ca),
      clock_(*options.clock),
      audit_(options.audit),
      refusals_(options.metrics == nullptr
                    ? nullptr
                    : &options.metrics->AddCounter("custody_admin_refusals_total",
                                                   "Admin calls refused before the method ran, by "
                                                   "method and check.",
                                                   {"method", "check"})),
      log_(options.log != nullptr ? *options.log : DefaultLogger()) {}

absl::StatusOr<AdminCaller> AdminAuthorizer::Authorize(absl::string_view method,
                                                       const grpc::AuthContext& context) const {
  auto entry = roles_.find(method);
  if (entry == roles_.end()) {
    return CheckFailed(absl::StatusCode::kPermissionDenied, "admin.method",
                       absl::StrCat(method.empty() ? "(no method)" : absl::CHexEscape(method),
                                    " is not an admin method of this service"));
  }
  CUSTODY_ASSIGN_OR_RETURN(AdminCaller caller, AuthenticateAdmin(context, admin_ca_, clock_.Now()));
  for (AdminRole role : entry->second) {
    if (caller.role == role) return caller;
  }
  return CheckFailed(
      absl::StatusCode::kPermissionDenied, "admin.role",
      absl::StrCat(ShortName(method), " is not allowed for the ", pki::AdminRoleName(caller.role),
                   " role (it needs ", RoleNames(entry->second), ")"));
}

grpc::Status AdminAuthorizer::Process(const InputMetadata& auth_metadata,
                                      grpc::AuthContext* context,
                                      OutputMetadata* /*consumed_auth_metadata*/,
                                      OutputMetadata* /*response_metadata*/) {
  absl::string_view method;
  auto path = auth_metadata.find(grpc::string_ref(kPathHeader.data(), kPathHeader.size()));
  if (path != auth_metadata.end())
    method = absl::string_view(path->second.data(), path->second.size());
  absl::StatusOr<AdminCaller> caller = Authorize(method, *context);
  if (caller.ok()) return grpc::Status::OK;
  Refused(method, *context, caller.status());
  return grpc::Status(static_cast<grpc::StatusCode>(caller.status().code()),
                      std::string(caller.status().message()));
}

void AdminAuthorizer::Refused(absl::string_view method, const grpc::AuthContext& context,
                              const absl::Status& refusal) {
  const std::string check = FailedCheck(refusal);
  // Who asked, as far as the certificate says (it may be the reason for the refusal).
  std::string actor = "admin:(no certificate)";
  absl::StatusOr<crypto::Certificate> cert = PeerCertificate(context);
  if (cert.ok()) {
    absl::StatusOr<AdminCaller> named = CallerOf(*cert);
    actor = named.ok() ? named->AuditActor()
                       : absl::StrCat("admin:", absl::CHexEscape(cert->Subject().common_name),
                                      " (no role)");
  }
  const std::string target = absl::CHexEscape(method);
  if (refusals_ != nullptr) {
    // The label is the method only when the table knows it, so a peer cannot grow
    // the series with made-up paths.
    refusals_->With({roles_.contains(method) ? target : "unknown", check}).Increment();
  }
  absl::Status audited = absl::OkStatus();
  if (audit_ != nullptr) {
    storage::AuditEvent event;
    event.time = clock_.Now();
    event.actor = actor.substr(0, storage::kMaxAuditFieldLength);
    event.action = "admin.refused";
    event.target = target.substr(0, storage::kMaxAuditFieldLength);
    event.details = std::string(refusal.message()).substr(0, storage::kMaxAuditFieldLength);
    audited = audit_->Transact(
        [&](storage::Transaction& tx) { return tx.audit().Append(event).status(); });
  }
  log_.Warning(
      "admin call refused",
      {{"method", target}, {"actor", actor}, {"check", check}, {"reason", refusal.message()}});
  if (!audited.ok()) {
    log_.Error("admin refusal not audited", {{"method", target}, {"error", audited.message()}});
  }
}

}  // namespace custody::server
